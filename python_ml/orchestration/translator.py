"""How dbt's nodes become asset keys and groups, and key look-ups by warehouse table."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator


class Translator(DagsterDbtTranslator):
    """dagster-dbt's default keys (a model's name; a source's ``[source, table]``), with groups
    by layer so the UI draws the graph in bands."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        parts = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if dbt_resource_props["resource_type"] == "source":
            return "ml_outputs" if dbt_resource_props["source_name"] == "ml" else "raw"
        if "ml_outputs" in dbt_resource_props.get("tags", []) or parts[1:3] == ["staging", "ml"]:
            return "prediction_marts"
        return "ml_inputs"


class ManifestKeys:
    """Asset keys of the manifest's sources, models and seeds, looked up by the warehouse
    tables that python_ml's catalogue names (``marts.fct_train_tracks``, ``ml.model_runs``)."""

    def __init__(self, manifest: dict[str, Any], translator: Translator) -> None:
        self.manifest = manifest
        self.translator = translator

    def source(self, schema_table: str) -> dg.AssetKey:
        """The asset key of the dbt source whose warehouse table is ``schema.table``."""
        schema, identifier = schema_table.split(".")
        for source in self.manifest["sources"].values():
            if source["schema"] == schema and source["identifier"] == identifier:
                return self.translator.get_asset_key(source)
        raise KeyError(f"no dbt source reads {schema_table}")

    def model(self, schema_table: str) -> dg.AssetKey:
        """The asset key of the dbt model or seed that builds ``schema.table``."""
        name = schema_table.split(".")[-1]
        for node in self.manifest["nodes"].values():
            if node["resource_type"] in ("model", "seed") and node["name"] == name:
                return self.translator.get_asset_key(node)
        raise KeyError(f"no dbt model or seed builds {schema_table}")

    def sources_in_schema(self, schema: str) -> list[tuple[str, dg.AssetKey]]:
        """``(schema.table, key)`` of every source in ``schema`` (the loader's raw tables)."""
        return [
            (f"{s['schema']}.{s['identifier']}", self.translator.get_asset_key(s))
            for s in self.manifest["sources"].values()
            if s["schema"] == schema
        ]
