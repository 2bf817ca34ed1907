"""Every dbt source, seed and model as an asset (dagster-dbt), in the two halves python_ml's
steps build: the ML inputs before training, the prediction marts after scoring."""

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from python_ml.orchestration import versions
from python_ml.orchestration.resources import ProjectSettings, Warehouse
from python_ml.orchestration.translator import Translator
from python_ml.steps import StepFailed, step
from python_ml.warehouse.dbt import PREDICTION_MARTS


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    paths: ProjectSettings,
    warehouse: Warehouse,
    title: str,
    target: str,
) -> Iterator[Any]:
    from python_ml.warehouse.db import RunLock

    settings = paths.get()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with RunLock(settings.warehouse), step(title):
        invocation = dbt.cli(
            ["build"],
            context=context,
            target_path=settings.project_root / "target" / "dagster" / target,
            raise_on_error=False,
        )
        events = list(invocation.stream())
        if not invocation.is_successful():
            raise StepFailed(
                f"{title} failed; its output above names the model or test. Fix it and run "
                "the step again"
            )
    # Row counts after dbt has released the warehouse (DuckDB allows one writer).
    tables = {}
    for event in events:
        if isinstance(event, dg.Output):
            key = context.assets_def.keys_by_output_name[event.output_name]
            name = context.assets_def.metadata_by_key.get(key, {}).get("dagster/table_name")
            if name:
                tables[event.output_name] = ".".join(str(name).split(".")[-2:])
    counts = warehouse.row_counts(settings, sorted(set(tables.values())))
    for event in events:
        if isinstance(event, dg.Output) and tables.get(event.output_name) in counts:
            event = event.with_metadata(
                {**event.metadata, "dagster/row_count": counts[tables[event.output_name]]}
            )
        yield event


def _unchanged(context: dg.AssetExecutionContext) -> Iterator[Any]:
    """Every selected dbt asset as it is (dbt not run): what depends on it still runs, and
    decides for itself whether it is stale."""
    from graphlib import TopologicalSorter

    selected = set(context.selected_asset_keys)
    deps = context.assets_def.asset_deps
    order = TopologicalSorter({k: deps.get(k, set()) & selected for k in selected}).static_order()
    for key in order:  # in the graph's order, as Dagster requires of a multi-asset
        yield dg.Output(
            None,
            output_name=context.assets_def.get_output_name_for_asset_key(key),
            metadata={"up_to_date": True},
        )


def _build_if_stale(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    paths: ProjectSettings,
    warehouse: Warehouse,
    step: str,
    title: str,
    inputs: Callable[[Any], dict[str, Any]],
) -> Iterator[Any]:
    """dbt build of the asset's half of the project, unless its inputs are those of its last
    run (orchestration/versions.py); then the inputs it ran on are recorded."""
    settings = paths.get()
    if not paths.force and versions.up_to_date(settings, step, title, inputs(settings)):
        yield from _unchanged(context)
        return
    yield from _build(context, dbt, paths, warehouse, title, step)
    if step == "dbt_ml_inputs":
        from python_ml.warehouse.dbt import log_source_counts

        log_source_counts(settings)
    versions.record(settings, step, inputs(settings), context.run.run_id)


def dbt_asset_groups(
    project: DbtProject, translator: Translator
) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """(ML inputs, prediction marts) over the project's manifest."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        exclude=" ".join(PREDICTION_MARTS),
        name="dbt_ml_inputs",
        dagster_dbt_translator=translator,
    )
    def dbt_ml_inputs(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        paths: ProjectSettings,
        warehouse: Warehouse,
    ) -> Iterator[Any]:
        """dbt build of staging, cleaning, quality and exploration reports and the split."""
        title = "dbt build (staging, cleaning, split)"
        inputs = versions.ml_inputs_inputs
        yield from _build_if_stale(context, dbt, paths, warehouse, "dbt_ml_inputs", title, inputs)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=" ".join(PREDICTION_MARTS),
        name="dbt_prediction_marts",
        dagster_dbt_translator=translator,
    )
    def dbt_prediction_marts(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        paths: ProjectSettings,
        warehouse: Warehouse,
    ) -> Iterator[Any]:
        """dbt build of the prediction marts over the `ml` source."""
        title = "dbt build of the prediction marts"
        step, inputs = "dbt_prediction_marts", versions.marts_inputs
        yield from _build_if_stale(context, dbt, paths, warehouse, step, title, inputs)

    return dbt_ml_inputs, dbt_prediction_marts
