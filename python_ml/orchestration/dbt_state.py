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

from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


# Besides what compiling rewrites, what differs between two manifests of the same files parsed
# in another folder (a copy of the project) or by another command.
MOVED = frozenset({"root_path", "created_at"})


def modified_upstream(
    state: Mapping[str, Any], now: Mapping[str, Any], unique_ids: Iterable[str]
) -> list[str]:
    """The nodes and sources upstream of ``unique_ids`` (as ``now`` has them), those ids
    included, and the macros any of them uses (as either manifest lists it), whose entries in
    ``state`` differ from ``now``'s or are missing there, apart from what compiling or parsing
    elsewhere rewrites: what dbt's ``state:modified`` would select upstream of them."""
    changed: list[str] = []
    seen: set[str] = set()
    todo = list(unique_ids)
    while todo:
        unique_id = todo.pop()
        if unique_id in seen:
            continue
        seen.add(unique_id)
        if not _same(_entry(state, unique_id), _entry(now, unique_id)):
            changed.append(unique_id)
        todo.extend(now.get("parent_map", {}).get(unique_id, []))
    todo = [m for uid in seen for e in (_entry(state, uid), _entry(now, uid)) for m in _macros(e)]
    macros: set[str] = set()
    while todo:
        name = todo.pop()
        if name in macros:
            continue
        macros.add(name)
        old, new = state.get("macros", {}).get(name), now.get("macros", {}).get(name)
        if (
            old is None
            or new is None
            or {k: v for k, v in old.items() if k not in MOVED}
            != {k: v for k, v in new.items() if k not in MOVED}
        ):
            changed.append(name)
        todo.extend([*_macros(old), *_macros(new)])
    return sorted(changed)
