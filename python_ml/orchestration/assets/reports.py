"""What people read: the charts with their HTML page, and the dbt docs site."""

from collections.abc import Sequence

import dagster as dg

from python_ml.orchestration import versions
from python_ml.orchestration.assets import docs_link, still_true
from python_ml.orchestration.resources import ProjectSettings
from python_ml.orchestration.translator import ManifestKeys


def report_assets(
    keys: ManifestKeys, prediction_marts: Sequence[dg.AssetKey]
) -> list[dg.AssetsDefinition]:
    from python_ml.warehouse import catalog

    deps = sorted(prediction_marts, key=lambda k: k.to_user_string())
    # What the report reads (catalog.REPORT_READS: marts of both dbt halves, the `ml` source
    # the model card reads; the ML inputs' marts were missing), and every prediction mart, as
    # `run` decides (orchestration/versions.report_inputs: a half's data version, not a
    # table's), so the UI's unsynced report is the one `run` draws again.
    reads = {
        keys.source(table) if table.startswith("ml.") else keys.model(table)
        for table in catalog.REPORT_READS
    }

    @dg.asset(
        deps=sorted(reads | set(deps), key=lambda k: k.to_user_string()),
        group_name="report",
        description="`python -m python_ml charts`: PNG charts and the HTML report page "
        "(reports/index.html), logged to the champion's MLflow run.",
        kinds={"html", "matplotlib"},
        code_version=versions.code_version("report"),
    )
    def report(context: dg.AssetExecutionContext, paths: ProjectSettings) -> dg.MaterializeResult:
        settings = paths.get()
        title = f"{versions.TITLES['report']} into {settings.reports_dir}"
        started = versions.report_inputs(settings)
        if not paths.force and versions.up_to_date(settings, "report", title, started):
            return dg.MaterializeResult(metadata=still_true(context))
        from python_ml.reports.charts import charts_step  # matplotlib: only when it runs

        charts = charts_step(settings)
        versions.record(
            settings, "report", versions.report_inputs(settings), context.run.run_id, True, started
        )
        from python_ml.raw.origin import SONGS_TABLES, TRACKS_TABLES, warehouse_origin

        tracks, songs = (warehouse_origin(settings, t) for t in (TRACKS_TABLES, SONGS_TABLES))
        return dg.MaterializeResult(
            metadata={
                # The page's figures: the tracks' and the 2023 songs'.
                "data_origin": tracks if tracks == songs else f"tracks {tracks}; songs {songs}",
                "report": dg.MetadataValue.path(str(settings.reports_dir / "index.html")),
                "charts": dg.MetadataValue.md("\n".join(f"- {c.file}: {c.title}" for c in charts)),
            }
        )

    @dg.asset(
        deps=deps,
        group_name="report",
        description="`dbt docs generate`: the docs site (index.html in dbt's target folder) with "
        "the warehouse's catalog, after the prediction marts are built.",
        kinds={"dbt"},
        # The docs describe every node: any change to the dbt project makes them unsynced.
        code_version=versions.dbt_files_hash(*versions.DBT_PROJECT_FILES)[:16],
    )
    def dbt_docs(context: dg.AssetExecutionContext, paths: ProjectSettings) -> dg.MaterializeResult:
        from python_ml.warehouse.dbt import generate_docs

        settings = paths.get()
        dbt_vars = versions.vars_input(paths.vars())  # the compiled SQL the site shows
        started = {**versions.docs_inputs(settings), **dbt_vars}
        if not paths.force and versions.up_to_date(
            settings, "dbt_docs", versions.TITLES["dbt_docs"], started
        ):
            return dg.MaterializeResult(metadata=still_true(context, settings=settings))
        site = generate_docs(settings, *paths.vars_args())
        after = {**versions.docs_inputs(settings), **dbt_vars}
        versions.record(settings, "dbt_docs", after, context.run.run_id, True, started)
        return dg.MaterializeResult(
            metadata={"site": dg.MetadataValue.path(str(site)), **docs_link()}
        )

    return [report, dbt_docs]
