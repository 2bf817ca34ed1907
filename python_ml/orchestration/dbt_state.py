"""Whether a dbt half has anything to rebuild after the project changed, read from two
manifests instead of asking dbt.

When only project files changed, a half builds ``state:modified+`` of its nodes against the
manifest of its last build (assets/dbt.py). dbt starts, parses and compares for several seconds
even when the change lies elsewhere ("none in this half"). :func:`nothing_modified` answers
that case first, conservatively: dbt's ``state:modified+`` can select none of the half's nodes
when each of them, each test on them, every node and source upstream of them, and every macro
any of those uses (as either manifest lists it) is the same in both manifests, apart from what
compiling or parsing again rewrites. Anything else (a difference, a node or macro one manifest
lacks) is left to dbt, so a wrong answer can only cost the seconds it saves.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# The manifest of the dbt build that made the warehouse's train split (its post-hook records
# the invocation in audit.train_tracks_build): what scoring compares the feature models with.
TRAIN_BUILD = "train_build"


def state_dir(settings: Any, step: str) -> Path:
    """Where the manifest of the half's last successful build is kept, beside the warehouse
    (``data/dbt_state/warehouse/dbt_ml_inputs/manifest.json``): what state:modified compares
    the project with (and, under ``train_build``, the manifest of the split's build)."""
    return settings.warehouse.parent / "dbt_state" / settings.warehouse.stem / step


def keep_train_build_manifest(settings: Any, manifest: Path) -> bool:
    """After a successful build of the whole ML-inputs half (python_ml's asset or `build`):
    keep its manifest (``dbt_state/<warehouse>/train_build/manifest.json``) when that build
    made the train split (the invocation audit.train_tracks_build records). A build that left
    the split as it was keeps the one before: state:modified+ found nothing upstream of the
    split changed. Not after a selection of nodes, which may rebuild the split from models
    older than the manifest says. True when kept."""
    from python_ml.warehouse import catalog, db

    try:
        text = manifest.read_text(encoding="utf-8")
        invocation = (json.loads(text).get("metadata") or {}).get("invocation_id")
        with db.connect(settings.warehouse) as con:
            if not db.has_table(con, catalog.TRAIN_BUILD):
                return False
            row = con.execute(f"select invocation_id from {catalog.TRAIN_BUILD}").fetchone()
    except (OSError, ValueError):
        return False
    if row is None or row[0] != invocation:
        return False
    keep = state_dir(settings, TRAIN_BUILD)
    keep.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=".manifest-", dir=keep)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, keep / "manifest.json")  # never half a manifest
    return True


# What dbt writes differently for the same project file: the time of parsing, compiling's
# results and paths, where the project folder is (a seed's ``root_path``: its content is its
# checksum). ``depends_on`` is compared apart: its nodes as they are, its macros through their
# own entries (compiling adds the macros a test or materialization ran).
REWRITTEN = frozenset(
    {
        "created_at",
        "root_path",
        "build_path",
        "compiled",
        "compiled_code",
        "compiled_path",
        "extra_ctes",
        "extra_ctes_injected",
        "depends_on",
    }
)
KINDS = ("nodes", "sources", "unit_tests")


def _entry(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any] | None:
    for kind in KINDS:
        found = manifest.get(kind, {}).get(unique_id)
        if found is not None:
            return found
    return None


def _same(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    if old is None or new is None:
        return False
    keys = (set(old) | set(new)) - REWRITTEN
    if any(old.get(k) != new.get(k) for k in keys):
        return False
    old_nodes = set((old.get("depends_on") or {}).get("nodes") or [])
    return old_nodes == set((new.get("depends_on") or {}).get("nodes") or [])


def _macros(entry: Mapping[str, Any] | None) -> list[str]:
    return list(((entry or {}).get("depends_on") or {}).get("macros") or [])


def nothing_modified(state: Mapping[str, Any], now: Mapping[str, Any], half: Iterable[str]) -> bool:
    """True when ``state:modified+`` against ``state`` (the manifest of the half's last build)
    cannot select any of ``half`` (its models and seeds) in ``now``; False when it may."""
    half = set(half)
    if not half:
        return False
    # The tests and unit tests on the half's nodes: dbt build runs them with their nodes.
    todo = set(half)
    for manifest in (state, now):
        for unique_id, node in manifest.get("nodes", {}).items():
            if node.get("resource_type") == "test" and half & set(
                (node.get("depends_on") or {}).get("nodes") or []
            ):
                todo.add(unique_id)
        for unique_id, test in manifest.get("unit_tests", {}).items():
            if half & set((test.get("depends_on") or {}).get("nodes") or []):
                todo.add(unique_id)
    # ... and everything upstream of them, in either manifest.
    seen = _all_same(
        todo,
        lambda uid: (_entry(state, uid), _entry(now, uid)),
        _same,
        lambda uid: [
            *state.get("parent_map", {}).get(uid, []),
            *now.get("parent_map", {}).get(uid, []),
        ],
    )
    if seen is None:
        return False
    # Every macro those use, and the macros those call, as either manifest lists them.
    used = {m for uid in seen for e in (_entry(state, uid), _entry(now, uid)) for m in _macros(e)}
    checked = _all_same(
        used,
        lambda name: (state.get("macros", {}).get(name), now.get("macros", {}).get(name)),
        _same_macro,
        lambda name: [
            *_macros(state.get("macros", {}).get(name)),
            *_macros(now.get("macros", {}).get(name)),
        ],
    )
    return checked is not None


def _same_macro(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    if old is None or new is None:
        return False
    return {k: v for k, v in old.items() if k != "created_at"} == {
        k: v for k, v in new.items() if k != "created_at"
    }


def _all_same(
    start: Iterable[str],
    pair: Callable[[str], tuple[Any, Any]],
    same: Callable[[Any, Any], bool],
    following: Callable[[str], Iterable[str]],
) -> set[str] | None:
    """Every id reachable from ``start`` through ``following`` (the ids visited), or None as
    soon as one's two entries (``pair``: the state's, now's) are not ``same``."""
    todo, seen = set(start), set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if not same(*pair(uid)):
            return None
        todo.update(following(uid))
    return seen


# What decides a node's SQL (its file's checksum, its config) or a source's relation: as dbt's
# state:modified compares them (a description edited in YAML is not a change of what is built).
NODE_CONTENT = ("checksum", "config", "database", "schema", "alias", "identifier")


def modified_upstream(
    state: Mapping[str, Any], now: Mapping[str, Any], unique_ids: Iterable[str]
) -> list[str]:
    """The nodes and sources upstream of ``unique_ids`` (as either manifest has them), those
    ids included, whose SQL, config or relation in ``state`` differs from ``now``'s or is
    missing there, and the macros any of them uses (and those call) whose ``macro_sql``
    differs: what dbt's ``state:modified`` selects among them for their SQL, not for their
    descriptions or where the project folder is."""

    def content(entry: Mapping[str, Any] | None) -> Any:
        return None if entry is None else [entry.get(k) for k in NODE_CONTENT]

    def macro_sql(name: str, manifest: Mapping[str, Any]) -> Any:
        return (manifest.get("macros", {}).get(name) or {}).get("macro_sql")

    changed = []
    seen = reachable(
        unique_ids,
        lambda uid: [
            *state.get("parent_map", {}).get(uid, []),
            *now.get("parent_map", {}).get(uid, []),
        ],
    )
    for uid in sorted(seen):
        old, new = content(_entry(state, uid)), content(_entry(now, uid))
        if old is None or old != new:
            changed.append(uid)
    used = {m for uid in seen for e in (_entry(state, uid), _entry(now, uid)) for m in _macros(e)}
    macros = reachable(
        used,
        lambda name: [
            *_macros(state.get("macros", {}).get(name)),
            *_macros(now.get("macros", {}).get(name)),
        ],
    )
    for name in sorted(macros):
        old = macro_sql(name, state)
        if old is None or old != macro_sql(name, now):
            changed.append(name)
    return changed


def reachable(start: Iterable[str], following: Callable[[str], Iterable[str]]) -> set[str]:
    """Every id reachable from ``start`` through ``following``, ``start`` included (the
    macros a node calls and those they call; the nodes upstream of one)."""
    todo, seen = list(start), set()
    while todo:
        uid = todo.pop()
        if uid not in seen:
            seen.add(uid)
            todo.extend(following(uid))
    return seen
