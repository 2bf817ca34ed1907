"""How dbt's nodes become asset keys and groups, and key look-ups by warehouse table."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator


class Translator(DagsterDbtTranslator):
    """dagster-dbt's default keys (a model's name; a source's ``[source, table]``), with groups
    by layer so the UI draws the graph in bands, and code versions that count the macros a
    node uses and the project's configuration (dagster-dbt's own hash only the node's SQL,
    dagster-io/dagster#22566): a changed macro or var makes its models unsynced in the UI."""

    manifest: dict[str, Any] | None = None  # set before the dbt assets are built
    configuration: str = ""  # the hash of dbt_project.yml and the profile

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        own = super().get_code_version(dbt_resource_props)
        if own is None or self.manifest is None:
            return own
        from python_ml.orchestration.dbt_state import reachable

        macros = self.manifest.get("macros", {})
        seen = {
            m
            for m in reachable(
                dbt_resource_props.get("depends_on", {}).get("macros", []),
                lambda name: (macros.get(name) or {}).get("depends_on", {}).get("macros", []),
            )
            if m in macros
        }
        digest = hashlib.sha1(own.encode())
        digest.update(self.configuration.encode())
        for unique_id in sorted(seen):
            if unique_id.startswith("macro.music_popularity."):  # the project's own macros
                digest.update(unique_id.encode())
                digest.update(macros[unique_id].get("macro_sql", "").encode())
        return digest.hexdigest()[:16]

    def get_asset_check_spec(
        self, asset_spec: Any, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check for a dbt test, with a description when the test has none of
        its own in ``meta.description``: what the test asserts, in words (describe_test; the
        UI said "No description provided" for all 142)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        described = describe_test(manifest.get("nodes", {}).get(unique_id) or {})
        return spec._replace(description=described) if described else spec

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

    def source_description(self, schema_table: str) -> str:
        """What the dbt source whose warehouse table is ``schema.table`` holds: its description
        in the sources' yml (one definition, shown by dbt docs and by the asset that writes
        the table; without it the assets of one step all showed the step's text)."""
        schema, identifier = schema_table.split(".")
        for source in self.manifest["sources"].values():
            if source["schema"] == schema and source["identifier"] == identifier:
                return " ".join(str(source.get("description") or "").split()) or schema_table
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


def _ref_name(text: Any) -> str:
    """``ref('popularity_classes')`` -> ``popularity_classes``."""
    found = re.search(r"""ref\(\s*['"]([^'"]+)['"]""", str(text))
    return found.group(1) if found else str(text)


def _var_name(value: Any) -> str:
    """``{{ var('drift_psi_threshold') }}`` -> ``the var drift_psi_threshold``."""
    found = re.search(r"""var\(\s*['"]([^'"]+)['"]""", str(value))
    return f"the var {found.group(1)}" if found else str(value)


def _range(column: Any, kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"`{column}` is between {_var_name(low)} and {_var_name(high)} (nulls pass)."
    if high is not None:
        return f"`{column}` is at most {_var_name(high)} (nulls pass)."
    return f"`{column}` is at least {_var_name(low)} (nulls pass)."


def describe_test(test: Mapping[str, Any]) -> str | None:
    """What a dbt test asserts, in a sentence: its own description (a singular test's is its
    leading ``--`` comment: python_ml/warehouse/sql_docs.py), else from a generic test's name
    and arguments (the project's own generic tests included); with where it applies and
    whether it only warns."""
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name") or kwargs.get("column")
    said = {
        "not_null": lambda: f"`{column}` is never null.",
        "unique": lambda: f"No two rows have the same `{column}`.",
        "accepted_values": lambda: (
            f"`{column}` is one of: {', '.join(str(v) for v in kwargs.get('values', []))} "
            "(nulls pass)."
        ),
        "relationships": lambda: (
            f"Every `{column}` is a `{kwargs.get('field')}` of {_ref_name(kwargs.get('to'))} "
            "(nulls pass)."
        ),
        "accepted_range": lambda: _range(column, kwargs),
        "unique_combination": lambda: (
            f"No two rows share ({', '.join(kwargs.get('columns', []))})."
        ),
        "probabilities_sum_to_one": lambda: f"The probabilities `{column}` sum to 1 in every row.",
    }.get(metadata.get("name", ""))
    text = " ".join(str(test.get("description") or "").split())
    if not text and said is not None:
        text = said()
    if not text:
        return None
    where = (test.get("config") or {}).get("where")
    if where:
        text = f"{text[:-1]}, in the rows where {where}." if text.endswith(".") else text
    severity = str((test.get("config") or {}).get("severity", "")).lower()
    return f"{text} (warns, does not fail)" if severity == "warn" else text
