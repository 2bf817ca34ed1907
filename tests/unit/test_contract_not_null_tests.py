"""Every column a mart's contract declares NOT NULL has a not_null data test too: Spark's
parquet tables cannot hold the constraint, so on that target the test is the only check
(dbt_project.yml says so). Ten such columns had the constraint alone (found by an analytics
engineer's audit), and a key column of rpt_calibration or rpt_feature_drift could have been
NULL on Spark without a word."""

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOT_NULL = {"not_null", "primary_key"}


def _tests(column: dict) -> set[str]:
    names = set()
    for test in column.get("data_tests") or column.get("tests") or []:
        names.add(test if isinstance(test, str) else next(iter(test)))
    return names


def _constrained_without_test(root: Path = PROJECT_ROOT) -> list[str]:
    found = []
    for path in sorted((root / "models").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            columns = {c["name"]: c for c in model.get("columns", [])}
            constrained = {
                name
                for name, column in columns.items()
                if {c["type"] for c in column.get("constraints", [])} & NOT_NULL
            }
            for constraint in model.get("constraints", []):
                if constraint["type"] == "primary_key":
                    constrained |= set(constraint.get("columns", []))
            found += [
                f"{path.relative_to(root)}: {model['name']}.{name}"
                for name in sorted(constrained)
                if "not_null" not in _tests(columns.get(name, {}))
            ]
    return found


def test_every_not_null_constraint_has_a_not_null_test() -> None:
    assert _constrained_without_test() == []


def test_the_check_finds_a_constraint_without_a_test(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "m.yml").write_text(
        "models:\n  - name: m\n    columns:\n"
        "      - {name: a, constraints: [{type: not_null}], data_tests: [not_null]}\n"
        "      - {name: b, constraints: [{type: not_null}], data_tests: [unique]}\n"
        "      - {name: c}\n",
        encoding="utf-8",
    )
    assert _constrained_without_test(tmp_path) == ["models/m.yml: m.b"]
