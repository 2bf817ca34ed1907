"""A dbt half with nothing to rebuild is told from two manifests (orchestration/dbt_state.py):
only when its nodes, their tests, everything upstream of them and every macro they use are
the same; whatever compiling rewrites does not count; anything else is left to dbt."""

from __future__ import annotations

import copy
from typing import Any

from python_ml.orchestration.dbt_state import modified_upstream, nothing_modified


def _node(uid: str, parents: list[str], macros: list[str], kind: str = "model") -> dict:
    return {
        "unique_id": uid,
        "resource_type": kind,
        "checksum": {"name": "sha256", "checksum": uid},
        "raw_code": f"select 1 -- {uid}",
        "config": {"materialized": "table"},
        "columns": {},
        "created_at": 1.0,
        "depends_on": {"nodes": parents, "macros": macros},
    }


def _manifest() -> dict[str, Any]:
    nodes = {
        "model.p.stg_a": _node("model.p.stg_a", ["source.p.raw.a"], []),
        "model.p.stg_b": _node("model.p.stg_b", ["source.p.raw.b"], []),
        "model.p.mart": _node("model.p.mart", ["model.p.stg_a"], ["macro.p.rates"]),
        "test.p.not_null_mart": _node(
            "test.p.not_null_mart", ["model.p.mart"], ["macro.dbt.test_not_null"], "test"
        ),
    }
    sources = {
        f"source.p.raw.{t}": {"unique_id": f"source.p.raw.{t}", "created_at": 1.0} for t in "ab"
    }
    macros = {
        name: {
            "macro_sql": f"{{% macro {name} %}}{{% endmacro %}}",
            "created_at": 1.0,
            "depends_on": {"macros": deps},
        }
        for name, deps in {
            "macro.p.rates": ["macro.p.helper"],
            "macro.p.helper": [],
            "macro.dbt.test_not_null": [],
            "macro.dbt.materialization_table": [],
        }.items()
    }
    parent_map = {uid: n["depends_on"]["nodes"] for uid, n in nodes.items()}
    return {"nodes": nodes, "sources": sources, "macros": macros, "parent_map": parent_map}


HALF = {"model.p.mart"}


def test_the_same_project_parsed_or_compiled_again_has_nothing_to_rebuild() -> None:
    state = _manifest()
    now = copy.deepcopy(state)
    for node in now["nodes"].values():  # a later parse: other times, and nothing compiled
        node["created_at"] = 2.0
    for macro in now["macros"].values():
        macro["created_at"] = 2.0
    now["nodes"]["model.p.stg_a"]["root_path"] = "/elsewhere"  # the project folder moved
    mart = state["nodes"]["model.p.mart"]  # the last build compiled it and ran its materialization
    mart.update(compiled=True, compiled_code="select 1", compiled_path="target/x.sql")
    mart["depends_on"]["macros"].append("macro.dbt.materialization_table")
    assert nothing_modified(state, now, HALF)
    # A change outside the half and upstream of nothing in it.
    now["nodes"]["model.p.stg_b"]["raw_code"] += " -- changed"
    assert nothing_modified(state, now, HALF)


def test_a_change_the_half_depends_on_is_left_to_dbt() -> None:
    def changed(edit) -> bool:
        now = copy.deepcopy(_manifest())
        edit(now)
        return not nothing_modified(_manifest(), now, HALF)

    assert changed(lambda m: m["nodes"]["model.p.mart"]["checksum"].update(checksum="new"))
    assert changed(lambda m: m["nodes"]["model.p.stg_a"]["config"].update(materialized="view"))
    assert changed(lambda m: m["nodes"]["test.p.not_null_mart"].update(raw_code="changed"))
    assert changed(lambda m: m["sources"]["source.p.raw.a"].update(loader="other"))
    assert changed(lambda m: m["macros"]["macro.p.helper"].update(macro_sql="changed"))
    assert changed(lambda m: m["macros"]["macro.dbt.test_not_null"].update(macro_sql="x"))
    assert changed(lambda m: m["macros"].pop("macro.p.helper"))
    # A new parent, and a new test on the half's node.
    assert changed(lambda m: m["nodes"]["model.p.mart"]["depends_on"]["nodes"].append("x"))
    new_test = _node("test.p.unique_mart", ["model.p.mart"], [], "test")
    assert changed(lambda m: m["nodes"].update({"test.p.unique_mart": new_test}))
    # A macro only the last build's compiled entry names, changed since.
    state = _manifest()
    state["nodes"]["model.p.mart"]["depends_on"]["macros"].append("macro.dbt.materialization_table")
    now = copy.deepcopy(_manifest())
    now["macros"]["macro.dbt.materialization_table"]["macro_sql"] = "changed"
    assert not nothing_modified(state, now, HALF)
    assert not nothing_modified(_manifest(), _manifest(), set())  # no nodes: dbt decides


def test_scoring_sees_edits_to_the_sql_upstream_of_the_features_only() -> None:
    """modified_upstream (predict's check of the feature models against the split's build):
    a changed model or macro upstream is named; a description, a macro's docs, the project
    folder, or a model downstream are not changes of the SQL the features come from."""
    state = _manifest()
    now = copy.deepcopy(state)
    now["nodes"]["model.p.mart"]["description"] = "edited in YAML"
    now["nodes"]["model.p.stg_a"]["root_path"] = "/elsewhere"
    now["macros"]["macro.p.helper"]["description"] = "edited docs"
    now["macros"]["macro.p.helper"]["root_path"] = "/elsewhere"
    now["sources"]["source.p.raw.a"]["description"] = "edited"
    now["nodes"]["model.p.stg_b"]["checksum"] = {"name": "sha256", "checksum": "other"}
    assert modified_upstream(state, now, ["model.p.mart"]) == []
    now["macros"]["macro.p.helper"]["macro_sql"] = "{% macro helper %}2{% endmacro %}"
    now["nodes"]["model.p.stg_a"]["checksum"] = {"name": "sha256", "checksum": "edited"}
    assert modified_upstream(state, now, ["model.p.mart"]) == ["model.p.stg_a", "macro.p.helper"]
    del state["nodes"]["model.p.stg_a"]  # not in the build's manifest: new since
    assert "model.p.stg_a" in modified_upstream(state, now, ["model.p.mart"])
