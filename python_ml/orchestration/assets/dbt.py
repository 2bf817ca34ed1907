"""Every dbt source, seed and model as an asset (dagster-dbt), in the two halves python_ml's
steps build: the ML inputs before training, the prediction marts after scoring."""

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from python_ml.orchestration import versions
from python_ml.orchestration.dbt_state import keep_train_build_manifest, state_dir
from python_ml.orchestration.resources import ProjectSettings, Warehouse, dbt_cli_environment
from python_ml.orchestration.translator import Translator
from python_ml.steps import StepFailed, step
from python_ml.warehouse.dbt import PREDICTION_MARTS

log = logging.getLogger("python_ml")


# The inputs whose change alone lets a half rebuild only its changed nodes and their dependants
# (dbt's state:modified+, macro changes counted); any other change rebuilds the whole half.
NODE_ONLY_CHANGES = {"dbt_ml_inputs": {"dbt project"}, "dbt_prediction_marts": {"dbt project"}}
# Each half's nodes, as the dbt assets select and exclude them (dagster-dbt's default select is
# every node).
HALF_SELECTIONS = {
    "dbt_ml_inputs": ("fqn:*", " ".join(PREDICTION_MARTS)),
    "dbt_prediction_marts": (" ".join(PREDICTION_MARTS), ""),
}
# Each half's part of the project, as dbt selectors that intersect with state:modified+ (one
# space-separated value per flag, as dagster-dbt passes them on).
HALVES = {
    "dbt_ml_inputs": ["--select", "state:modified+", "--exclude", " ".join(PREDICTION_MARTS)],
    "dbt_prediction_marts": [
        "--select",
        " ".join(f"state:modified+,{selector}" for selector in PREDICTION_MARTS),
    ],
}


def _built_events(context: dg.AssetExecutionContext, events: list[Any]) -> Iterator[Any]:
    """dagster-dbt's events of a dbt command run without the asset context (a selection of our
    own), as this multi-asset's outputs and check results."""
    keys, checks = context.assets_def.keys, set(context.assets_def.check_keys)
    for event in events:
        if isinstance(event, dg.AssetMaterialization) and event.asset_key in keys:
            yield dg.Output(
                None,
                output_name=context.assets_def.get_output_name_for_asset_key(event.asset_key),
                metadata=dict(event.metadata),
            )
        elif isinstance(event, dg.AssetCheckEvaluation):
            key = dg.AssetCheckKey(event.asset_key, event.check_name)
            if key in checks:
                yield dg.AssetCheckResult(
                    asset_key=event.asset_key,
                    check_name=event.check_name,
                    passed=event.passed,
                    severity=event.severity,
                    metadata=dict(event.metadata),
                )


PARTIAL_PARSE = "partial_parse.msgpack"


def seed_partial_parse(parsed: Path, target_path: Path) -> None:
    """A half's first build starts from what the asset graph's `dbt parse` kept in ``parsed``
    (the project's target folder): dbt parses again only the files changed since, as in a
    target folder it has used before, instead of the whole project (a new folder has no
    ``partial_parse.msgpack``: about 3 s each half on a first run). dbt itself checks the file
    against the project, profile, vars and its version, and parses in full when they differ."""
    seed = parsed / PARTIAL_PARSE
    if not seed.is_file() or (target_path / PARTIAL_PARSE).exists():
        return
    import tempfile

    copy: str | None = None
    try:  # only a speed-up: any failure leaves dbt to parse in full, as it would have
        target_path.mkdir(parents=True, exist_ok=True)
        handle, copy = tempfile.mkstemp(prefix=f"{PARTIAL_PARSE}.", dir=target_path)
        os.close(handle)
        shutil.copyfile(seed, copy)
        os.replace(copy, target_path / PARTIAL_PARSE)  # whole, or not at all
    except OSError as exc:
        log.debug("dbt parses %s in full: its parse could not be copied (%s)", target_path, exc)
        if copy is not None:
            Path(copy).unlink(missing_ok=True)


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    paths: ProjectSettings,
    warehouse: Warehouse,
    title: str,
    target: str,
    modified_only: bool = False,
) -> tuple[list[Any], int]:
    """dbt build of the half (or, ``modified_only``, of its nodes changed since its last build
    and their dependants): the events to yield (an output for every selected asset, in the
    graph's order) and how many nodes dbt built."""
    from python_ml.warehouse.db import RunLock

    settings = paths.get()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    target_path = settings.target_dir / "dagster" / target
    with RunLock(settings.warehouse), step(title):
        seed_partial_parse(settings.target_dir, target_path)
        if modified_only:
            manifest, translator, _ = get_manifest_and_translator_from_dbt_assets(
                [context.assets_def]
            )
            with dbt_cli_environment(settings):
                # A change in the other half leaves none of this one's nodes selected: said
                # below ("none in this half"), not as dbt's warning that the selection
                # "does not match any enabled nodes", which reads as a fault.
                invocation = dbt.cli(
                    [
                        "build",
                        *paths.vars_args(),
                        "--state",
                        str(state_dir(settings, target)),
                        *HALVES[target],
                        "--warn-error-options",
                        '{"silence": ["NoNodesForSelectionCriteria"]}',
                    ],
                    manifest=manifest,
                    dagster_dbt_translator=translator,
                    target_path=target_path,
                    raise_on_error=False,
                )
            events = list(_built_events(context, list(invocation.stream())))
        else:
            with dbt_cli_environment(settings):
                invocation = dbt.cli(
                    ["build", *paths.vars_args()],
                    context=context,
                    target_path=target_path,
                    raise_on_error=False,
                )
            events = list(invocation.stream())
        if not invocation.is_successful():
            from python_ml.warehouse.dbt import low_disk

            raise StepFailed(
                f"{title} failed; its output above names the model, test or var at fault. Fix "
                f"it and run the step again.{low_disk(settings)}"
            )
    built = {e.output_name for e in events if isinstance(e, dg.Output)}
    if modified_only:
        names = sorted(
            context.assets_def.keys_by_output_name[name].to_user_string() for name in built
        )
        log.info(
            "dbt rebuilt the changed nodes and their dependants: %s",
            ", ".join(names) or "none in this half",
        )
    # The manifest this build compared with next time (written by dbt into its target path).
    keep = state_dir(settings, target)
    keep.mkdir(parents=True, exist_ok=True)
    partial = keep / "manifest.json.partial"  # replaced in one step: never half a manifest
    shutil.copyfile(target_path / "manifest.json", partial)
    partial.replace(keep / "manifest.json")
    if target == "dbt_ml_inputs" and set(context.selected_asset_keys) == set(
        context.assets_def.keys
    ):
        keep_train_build_manifest(settings, target_path / "manifest.json")
    # Row counts after dbt has released the warehouse (DuckDB allows one writer).
    tables = {}
    for event in events:
        if isinstance(event, dg.Output):
            key = context.assets_def.keys_by_output_name[event.output_name]
            name = context.assets_def.metadata_by_key.get(key, {}).get("dagster/table_name")
            if name:
                tables[event.output_name] = ".".join(str(name).split(".")[-2:])
    counts = warehouse.row_counts(settings, sorted(set(tables.values())))
    outputs, others = {}, []
    for event in events:
        if isinstance(event, dg.Output) and tables.get(event.output_name) in counts:
            event = event.with_metadata(
                {**event.metadata, "dagster/row_count": counts[tables[event.output_name]]}
            )
        if isinstance(event, dg.Output):
            outputs[event.output_name] = event
        else:
            others.append(event)
    # The tests' check results after the assets they check.
    ran = {
        dg.AssetCheckKey(e.asset_key, e.check_name)
        for e in others
        if isinstance(e, dg.AssetCheckResult)
    }
    return [*_in_graph_order(context, outputs, ran), *others], len(built)


def _in_graph_order(
    context: dg.AssetExecutionContext, built: dict[str, Any], checked: Any = ()
) -> Iterator[Any]:
    """An output for every selected asset in the graph's order, as Dagster requires of a
    multi-asset: the built ones as dbt reported them, the others as they are (dbt did not run
    them; what depends on them still runs and decides for itself whether it is stale). Then,
    for the selected checks (dbt tests) not among ``checked`` (those dbt ran), their last
    evaluation: see :func:`_still_true`."""
    from graphlib import TopologicalSorter

    selected = set(context.selected_asset_keys)
    deps = context.assets_def.asset_deps
    order = list(
        TopologicalSorter({k: deps.get(k, set()) & selected for k in selected}).static_order()
    )
    names = {key: context.assets_def.get_output_name_for_asset_key(key) for key in order}
    kept, results = _still_true(
        context,
        [key for key in order if names[key] not in built],
        [key for key in context.selected_asset_check_keys if key not in set(checked)],
    )
    for key in order:
        name = names[key]
        yield built.get(name) or dg.Output(None, output_name=name, metadata=kept[key])
    yield from results


def _still_true(
    context: dg.AssetExecutionContext, keys: list[Any], check_keys: list[Any]
) -> tuple[dict[Any, dict[str, Any]], list[dg.AssetCheckResult]]:
    """What the dbt nodes dbt did not run (their half, or they, up to date) still are: each
    asset's last materialization's metadata (its row count, dbt's unique id), and each
    test's last evaluation (passed or not, its metadata), marked ``up_to_date`` and with the
    run that evaluated it: the same SQL on the same data gives the same result. The UI showed
    every dbt test of an up-to-date run as *skipped*, and the models without a row count. A
    test never evaluated is left out (the UI says it did not run)."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    instance = context.instance
    events = instance.get_latest_materialization_events(keys) if keys else {}
    kept = {}
    for key in keys:
        event = events.get(key)
        metadata = dict(event.asset_materialization.metadata) if event is not None else {}
        metadata.pop("up_to_date", None)
        kept[key] = {**metadata, "up_to_date": True}
    storage = instance.event_log_storage
    latest = storage.get_latest_asset_check_execution_by_key(check_keys) if check_keys else {}
    evaluated = {Status.SUCCEEDED, Status.FAILED}
    results = []
    for key in check_keys:
        record = latest.get(key)
        if record is None or record.status not in evaluated:  # e.g. skipped before this
            history = storage.get_asset_check_execution_history(key, limit=1, status=evaluated)
            record = history[0] if history else None
        if record is None or record.event is None or record.event.dagster_event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        metadata = {k: v for k, v in evaluation.metadata.items() if k != "up_to_date"}
        # The run where dbt ran the test: this record's, unless it was carried over itself.
        metadata.setdefault("evaluated_in_run", dg.MetadataValue.text(record.run_id))
        results.append(
            dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=evaluation.passed,
                severity=evaluation.severity,
                metadata={**metadata, "up_to_date": True},
            )
        )
    return kept, results


def rebuilds_nothing(settings: Any, step: str, changed: set[str] | None) -> bool:
    """Whether the half ``step``, whose inputs ``changed`` since its last build, has nothing
    to rebuild: only the project's nodes changed (NODE_ONLY_CHANGES), and dbt's
    state:modified+ against the half's last build can select none of its nodes
    (orchestration/dbt_state.py). `run` then records the half without starting dbt, and
    `status` does not count it (nor the steps after it). Read from the project's files as
    they are now (parsed again when one is newer than the manifest: a long-running Dagster
    webserver's graph may be older), not from a loaded asset graph."""
    import json

    from dagster_dbt.utils import select_unique_ids

    from python_ml.orchestration.dbt_state import nothing_modified
    from python_ml.orchestration.resources import dbt_project, prepared_manifest

    if not changed or not changed <= NODE_ONLY_CHANGES[step]:
        return False
    try:
        state = json.loads((state_dir(settings, step) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):  # none, or unreadable: dbt compares
        return False
    manifest = prepared_manifest(dbt_project(), settings)
    select, exclude = HALF_SELECTIONS[step]
    selected = select_unique_ids(select, exclude, "", None, manifest)
    # What the half builds (its tests are added with them; hooks, analyses and exposures are
    # not built by a selection).
    half = {u for u in selected if u.split(".", 1)[0] in ("model", "seed", "snapshot")}
    return nothing_modified(state, manifest, half)


def _half_tables(context: dg.AssetExecutionContext) -> list[str]:
    """The tables and views (``schema.name``) of the asset's half, by the manifest of now."""
    wanted = set()
    for key in context.assets_def.keys:
        metadata = context.assets_def.metadata_by_key.get(key, {})
        name = metadata.get("dagster/table_name")
        if name and str(metadata.get("dagster-dbt/materialization_type")) != "ephemeral":
            wanted.add(".".join(str(name).split(".")[-2:]))
    return sorted(wanted)


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
    run (orchestration/versions.py): when only the project's models, macros, seeds or tests
    changed, only the changed nodes and their dependants; then the inputs it ran on are
    recorded (with the run's dbt --vars, when it has any)."""
    settings = paths.get()
    dbt_vars = versions.vars_input(paths.vars())
    tables = _half_tables(context)
    now = {**inputs(settings), **dbt_vars, **versions.missing_tables(settings, step, tables)}
    if not paths.force and versions.up_to_date(settings, step, title, now):
        if versions.recorded_tables(settings, step) != tables:  # a record made before 12-07
            versions.record_tables(settings, step, tables)
        yield from _in_graph_order(context, {})
        return
    changed = versions.changed_inputs(settings, step, now)
    modified_only = (
        not paths.force
        and changed is not None
        and changed <= NODE_ONLY_CHANGES[step]
        and set(context.selected_asset_keys) == set(context.assets_def.keys)
        and (state_dir(settings, step) / "manifest.json").exists()
    )
    if modified_only and rebuilds_nothing(settings, step, changed):
        log.info(
            "dbt rebuilt the changed nodes and their dependants: none in this half (its nodes, "
            "what they are built from and the macros they use are as at its last build: dbt "
            "not started)"
        )
        versions.record(settings, step, now, context.run.run_id, False, tables=tables)
        yield from _in_graph_order(context, {})
        return
    events, built = _build(context, dbt, paths, warehouse, title, step, modified_only)
    if step == "dbt_ml_inputs":
        from python_ml.warehouse.dbt import log_build_warnings, log_source_counts

        log_source_counts(settings)
        log_build_warnings(settings)
    else:
        from python_ml.warehouse.dbt import log_scoring_drift

        log_scoring_drift(settings)
    after = {**inputs(settings), **dbt_vars}
    versions.record(settings, step, after, context.run.run_id, built > 0, now, tables)
    yield from events


def dbt_asset_groups(
    project: DbtProject, translator: Translator
) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """(ML inputs, prediction marts) over the project's manifest."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=HALF_SELECTIONS["dbt_ml_inputs"][0],
        exclude=HALF_SELECTIONS["dbt_ml_inputs"][1],
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
        title = versions.TITLES["dbt_ml_inputs"]
        inputs = versions.ml_inputs_inputs
        yield from _build_if_stale(context, dbt, paths, warehouse, "dbt_ml_inputs", title, inputs)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=HALF_SELECTIONS["dbt_prediction_marts"][0],
        exclude=HALF_SELECTIONS["dbt_prediction_marts"][1],
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
        title = versions.TITLES["dbt_prediction_marts"]
        step, inputs = "dbt_prediction_marts", versions.marts_inputs
        yield from _build_if_stale(context, dbt, paths, warehouse, step, title, inputs)

    return dbt_ml_inputs, dbt_prediction_marts
