"""The 2023 songs study: its out-of-fold predictions (ml.song_predictions, a dbt source)."""

from pathlib import Path

import dagster as dg

from python_ml.orchestration import versions
from python_ml.orchestration.assets import still_true
from python_ml.orchestration.resources import ProjectSettings, Warehouse
from python_ml.orchestration.translator import ManifestKeys
from python_ml.warehouse import catalog


class SongsRunConfig(dg.Config):
    """The options of `python -m python_ml songs`."""

    config: str | None = None  # study config (default: python_ml/configs/songs_2023.yml)


def songs_assets(keys: ManifestKeys) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                keys.source(catalog.SONG_PREDICTIONS),
                description=keys.source_description(catalog.SONG_PREDICTIONS),
                deps=[keys.model(catalog.SONGS_2023)],
                kinds={"duckdb", "scikitlearn"},
                code_version=versions.code_version("songs"),
            )
        ],
        group_name="ml",
        name="songs",
    )
    def songs(
        context: dg.AssetExecutionContext,
        config: SongsRunConfig,
        paths: ProjectSettings,
        warehouse: Warehouse,
    ) -> dg.MaterializeResult:
        """`python -m python_ml songs`: the 2023 songs study's out-of-fold predictions."""
        settings = paths.get()
        config_path = Path(config.config) if config.config else None
        title = versions.TITLES["songs"]
        started = versions.songs_inputs(settings, config_path)
        if not paths.force and versions.up_to_date(settings, "songs", title, started):
            key = keys.source(catalog.SONG_PREDICTIONS)
            return dg.MaterializeResult(asset_key=key, metadata=still_true(context, key))
        from python_ml.songs.study import songs_step  # scikit-learn: only when it runs

        summary = songs_step(settings, config_path)
        after = versions.songs_inputs(settings, config_path)
        versions.record(settings, "songs", after, context.run.run_id, True, started)
        from python_ml.raw.origin import SONGS_TABLES, warehouse_origin

        rows = warehouse.row_counts(settings, [catalog.SONG_PREDICTIONS])
        return dg.MaterializeResult(
            asset_key=keys.source(catalog.SONG_PREDICTIONS),
            metadata={
                "dagster/row_count": rows.get(catalog.SONG_PREDICTIONS, 0),
                # What the figures come from: Kaggle's file or the built-in generated data.
                "data_origin": warehouse_origin(settings, SONGS_TABLES),
                "results": dg.MetadataValue.md(summary.table),
            },
        )

    return [songs]
