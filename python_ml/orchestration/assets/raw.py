"""Raw files (extract) and the raw tables they load into (the dbt sources in schema raw)."""

import logging
from collections.abc import Iterator
from typing import Any

import dagster as dg

from python_ml.orchestration import versions
from python_ml.orchestration.resources import ProjectSettings, Warehouse
from python_ml.orchestration.translator import ManifestKeys
from python_ml.raw.schemas import REAL_TRACK_ROWS

log = logging.getLogger("python_ml")


class ExtractRunConfig(dg.Config):
    """The options of `python -m python_ml extract` (and `run`)."""

    offline: bool = False
    force: bool = False
    rows: int = REAL_TRACK_ROWS
    seed: int = 42


@dg.asset(
    group_name="raw",
    code_version=versions.code_version("raw_files"),
    description="The three Kaggle CSVs in $MUSIC_RAW_DIR: downloaded when Kaggle credentials "
    "exist, built-in generated data otherwise (marked as such everywhere downstream).",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    kinds={"csv"},
)
def raw_files(config: ExtractRunConfig, paths: ProjectSettings) -> dg.MaterializeResult:
    from python_ml.raw import extract, origin
    from python_ml.warehouse.load import LoadError, refuse_a_mistyped_raw_folder

    settings = paths.get()
    try:  # a mistyped MUSIC_RAW_DIR: never filled with built-in data and loaded
        refuse_a_mistyped_raw_folder(settings)
    except LoadError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    try:
        report = extract.extract_step(
            settings, force=config.force, offline=config.offline, seed=config.seed, rows=config.rows
        )
    except extract.DownloadError:
        raise  # the retry policy tries the download again
    except extract.ExtractError as exc:
        # Not a network problem: retrying would give the same answer.
        raise dg.Failure(str(exc), allow_retries=False) from exc
    files = report.present + report.downloaded + report.generated
    return dg.MaterializeResult(
        # The files' content: every downstream asset's data version derives from it.
        data_version=dg.DataVersion(versions.raw_files_version(settings)),
        metadata={
            "data_origin": origin.tracks_origin(settings.raw_dir),
            "files": dg.MetadataValue.md(
                "\n".join(f"- `{p}` ({p.stat().st_size:,} bytes)" for p in sorted(files))
            ),
            "downloaded": len(report.downloaded),
            "generated": len(report.generated),
        },
    )


def raw_table_assets(keys: ManifestKeys) -> dg.AssetsDefinition:
    """The loader's tables, one asset per dbt source in schema raw."""
    sources = keys.sources_in_schema("raw")

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                key,
                description=keys.source_description(table),
                deps=[raw_files],
                kinds={"duckdb"},
                code_version=versions.code_version("raw_tables"),
            )
            for table, key in sources
        ],
        group_name="raw",
        name="raw_tables",
        description="`python -m python_ml load`: each raw file read into schema raw as text; "
        "rows that do not parse are quarantined in raw.load_rejects with their file line.",
    )
    def raw_tables(paths: ProjectSettings, warehouse: Warehouse) -> Iterator[dg.MaterializeResult]:
        from python_ml.warehouse.catalog import LOAD_LOG, LOAD_REJECTS
        from python_ml.warehouse.load import RAW_FILES, files_to_load, load_step

        settings = paths.get()
        files = files_to_load(settings, paths.force)
        if not files:
            for _, key in sources:
                yield dg.MaterializeResult(asset_key=key, metadata={"up_to_date": True})
            return
        by_table = {f.raw.raw_table: f for f in load_step(settings, files, dbt_vars=paths.vars())}
        loaded = {raw.raw_table for raw in files}
        counts = warehouse.row_counts(settings, [LOAD_REJECTS, LOAD_LOG])
        for table, key in sources:
            metadata: dict[str, Any] = {"table": table}
            if table not in loaded and table in {raw.raw_table for raw in RAW_FILES}:
                yield dg.MaterializeResult(asset_key=key, metadata={"up_to_date": True})
                continue
            if table in by_table:
                f = by_table[table]
                metadata.update(
                    {
                        "file": dg.MetadataValue.path(str(f.path)),
                        "rows_read": f.rows_read,
                        "dagster/row_count": f.rows_kept,
                        "rows_rejected": f.rows_rejected,
                        "encoding": f.encoding,
                    }
                )
            elif table in counts:
                metadata["dagster/row_count"] = counts[table]
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return raw_tables
