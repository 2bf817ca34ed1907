"""Every description in the dbt project's YAML is whole: an unquoted description in a flow
mapping (`{name: x, description: 1 major, 0 minor.}`) ends at its first comma, and the rest
becomes a key of its own with no value. 44 column descriptions lost their ends so, in dbt
docs and wherever they are read (the service's OpenAPI reads the raw tracks' columns)."""

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The keys a column or a node may carry with no value.
KEYS = {"name", "description", "data_type", "data_tests", "meta", "config", "constraints", "tags"}


def _cut(node: object, where: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        if "name" in node and "description" in node:
            found += [
                f"{where}: {node['name']}: {key!r}"
                for key, value in node.items()
                if value is None and key not in KEYS
            ]
        for value in node.values():
            found += _cut(value, where)
    elif isinstance(node, list):
        for value in node:
            found += _cut(value, where)
    return found


def test_no_description_is_cut_at_a_comma() -> None:
    cut = []
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        cut += _cut(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    assert cut == [], "quote these descriptions:\n" + "\n".join(cut)
