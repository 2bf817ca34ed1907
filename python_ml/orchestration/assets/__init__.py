"""The main job's assets, one module per domain of the data's journey. Each asset calls its
step's one function (in the package of its stage) and adds only Dagster's concerns: keys,
dependencies and metadata."""

from __future__ import annotations

from typing import Any


def still_true(context: Any, key: Any = None) -> dict[str, Any]:
    """The metadata of an asset that is up to date: its last materialization's (the champion's
    run id and figures, the report's path: still what the asset is, which the UI shows on its
    latest materialization), marked ``up_to_date``. ``key``: the asset's, for an asset of a
    multi-asset."""
    import dagster as dg

    key = dg.AssetKey.from_coercible(key) if key is not None else context.asset_key
    event = context.instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    kept = dict(materialization.metadata) if materialization is not None else {}
    kept.pop("up_to_date", None)
    return {**kept, "up_to_date": True}
