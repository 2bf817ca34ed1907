"""The main job's assets, one module per domain of the data's journey. Each asset calls its
step's one function (in the package of its stage) and adds only Dagster's concerns: keys,
dependencies and metadata."""

from __future__ import annotations

import re
from typing import Any

# What a run did rather than what its asset is: an up-to-date run did none of it (a run that
# skipped training said `promoted_by_this_run: true`, the earlier run's).
NOT_CARRIED: dict[str, Any] = {"promoted_by_this_run": False}


def still_true(context: Any, key: Any = None, settings: Any = None) -> dict[str, Any]:
    """The metadata of an asset that is up to date: its last materialization's (the champion's
    run id and figures, the report's path: still what the asset is, which the UI shows on its
    latest materialization), marked ``up_to_date``; what that run did (:data:`NOT_CARRIED`) is
    said as not done. ``key``: the asset's, for an asset of a multi-asset. With ``settings``,
    what says where things are is made again for this run (:func:`relocated`): the figures
    stay, the links follow the folder and the UI's port."""
    import dagster as dg

    key = dg.AssetKey.from_coercible(key) if key is not None else context.asset_key
    event = context.instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    kept = dict(materialization.metadata) if materialization is not None else {}
    kept.pop("up_to_date", None)
    kept.update({name: value for name, value in NOT_CARRIED.items() if name in kept})
    if settings is not None:
        kept = relocated(settings, kept)
    return {**kept, "up_to_date": True}


def mlflow_link(run_id: str, experiment_id: str) -> Any:
    """The MLflow UI's page of a run, at the UI's address of this run's settings."""
    import dagster as dg

    from python_ml.settings import ui_address

    # workflowType: MLflow 3.17's UI opens in its GenAI view otherwise (the experiment tag
    # only sets the kind shown inside an experiment).
    return dg.MetadataValue.url(
        f"{ui_address('mlflow')}/#/experiments/{experiment_id}/runs/{run_id}"
        "?workflowType=machine_learning"
    )


def docs_link() -> dict[str, Any]:
    """The docs site's address as served (`make docs-serve`, at ``MUSIC_DOCS_UI``): the dbt
    docs asset's link, beside the site's file (which a browser does not open from Dagster)."""
    import dagster as dg

    from python_ml.settings import ui_address

    return {"docs_ui": dg.MetadataValue.url(ui_address("docs"))}


# A run page's address as mlflow_link writes it (at whatever UI address it was written).
_MLFLOW_RUN = re.compile(r"#/experiments/(?P<experiment>[^/?#]+)/runs/(?P<run>[^/?#]+)")


def relocated(settings: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` kept from an earlier materialization with its links made for this run: the
    MLflow run page at today's MLflow UI address (``make run MLFLOW_PORT=5101``, or
    ``MUSIC_MLFLOW_UI``), the champion's model folder under today's ``MUSIC_MLFLOW_DIR`` (a
    copied or moved data folder: not the folder the earlier run wrote, which may be gone). A
    model folder the warehouse does not record is left out rather than named wrongly."""
    import dagster as dg

    fresh = dict(metadata)
    link = fresh.get("mlflow_run")
    found = _MLFLOW_RUN.search(str(_value(link) or ""))
    if found:
        fresh["mlflow_run"] = mlflow_link(found["run"], found["experiment"])
    if "docs_ui" in fresh:
        fresh.update(docs_link())
    if "model_path" in fresh:
        relative = _model_path(settings, str(_value(fresh.get("champion_run_id")) or ""))
        if relative:
            fresh["model_path"] = dg.MetadataValue.path(str(settings.mlflow_dir / relative))
        else:
            fresh.pop("model_path")
    return fresh


def _value(entry: Any) -> Any:
    """A stored metadata entry's plain value (a ``MetadataValue``'s, or the entry itself)."""
    return getattr(entry, "value", entry)


def _model_path(settings: Any, run_id: str) -> str | None:
    """The run's model folder relative to ``$MUSIC_MLFLOW_DIR``, as ml.model_runs records it."""
    from python_ml.orchestration import versions
    from python_ml.warehouse import catalog

    rows = versions._query(
        settings, f"select model_path from {catalog.MODEL_RUNS} where run_id = ?", [run_id]
    )
    return str(rows[0][0]) if rows and rows[0][0] else None
