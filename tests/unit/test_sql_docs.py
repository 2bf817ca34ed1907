"""dbt docs' descriptions of the macros, generic tests and singular tests are their SQL
comments, written once (python_ml/warehouse/sql_docs.py): dbt docs showed "This macro is not
currently documented" for all 126 macros, and no description for the singular tests (nor did
Dagster's checks made from them)."""

from pathlib import Path

import pytest
import yaml

from python_ml.warehouse import sql_docs


def test_the_generated_files_are_up_to_date() -> None:
    for path, text in sql_docs.expected_files().items():
        written = (sql_docs.PROJECT_ROOT / path).read_text(encoding="utf-8")
        assert written == text, (
            f"{path} is not what the SQL files' comments say: run "
            "python -m python_ml.warehouse.sql_docs and commit it"
        )


def test_every_macro_and_singular_test_is_described_once() -> None:
    macros = yaml.safe_load((sql_docs.PROJECT_ROOT / sql_docs.MACROS_YML).read_text())["macros"]
    names = [m["name"] for m in macros]
    assert len(names) == len(set(names)) >= 120
    assert all(m["description"].strip() for m in macros)
    singular = sorted(p.stem for p in (sql_docs.PROJECT_ROOT / "tests" / "singular").glob("*.sql"))
    tests = yaml.safe_load((sql_docs.PROJECT_ROOT / sql_docs.SINGULAR_YML).read_text())
    assert sorted(t["name"] for t in tests["data_tests"]) == singular


def _project(root: Path, macros: str, singular: str = "-- A returned row is wrong.\nselect 1\n"):
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: music_popularity\n", encoding="utf-8")
    (root / "macros").mkdir(parents=True)
    (root / "tests" / "generic").mkdir(parents=True)
    (root / "tests" / "singular").mkdir(parents=True)
    (root / "macros" / "m.sql").write_text(macros, encoding="utf-8")
    (root / "tests" / "singular" / "assert_x.sql").write_text(singular, encoding="utf-8")
    return root


def test_a_dispatched_version_says_whose_it_is_and_where_it_runs(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "{#- The length. -#}\n{% macro size(expr) -%} x {%- endmacro %}\n"
        "{% macro default__size(expr) -%} len(x) {%- endmacro %}\n"
        "{#- Spark: arrays only. -#}\n{% macro spark__size(expr) -%} size(x) {%- endmacro %}\n"
        "{#- Recorded. -#}\n{% macro keep() -%} {%- endmacro %}\n"
        "{% macro default__keep() -%} {%- endmacro %}\n"
        "{% macro duckdb__keep() -%} insert {%- endmacro %}\n",
    )
    said = {m.name: m.description for m in sql_docs.macros(root)}
    link = "[size](#!/macro/macro.music_popularity.size)"
    assert said["size"] == "The length."
    assert (
        said["default__size"] == f"{link}'s default version, which adapter.dispatch runs on DuckDB."
    )
    assert said["spark__size"] == (
        f"{link}'s version, which adapter.dispatch runs on Spark.\n\nSpark: arrays only."
    )
    # A default beside DuckDB's own version runs on Spark, and an empty one says so.
    assert said["default__keep"].endswith(
        "default version, which adapter.dispatch runs on Spark: it does nothing there."
    )
    assert said["duckdb__keep"].endswith("version, which adapter.dispatch runs on DuckDB.")


def test_a_comment_is_dedented_whether_it_starts_on_its_own_line_or_not(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "{#-\n    First line,\n    second.\n\n    A paragraph.\n-#}\n"
        "{% macro a() %}{% endmacro %}\n"
        "{#- Begins here;\n    goes on here. -#}\n{% macro b() %}{% endmacro %}\n",
    )
    said = {m.name: m.description for m in sql_docs.macros(root)}
    assert said == {"a": "First line,\nsecond.\n\nA paragraph.", "b": "Begins here;\ngoes on here."}


def test_a_macro_or_singular_test_without_a_comment_is_named(tmp_path: Path) -> None:
    root = _project(tmp_path, "{% macro bare(x) %}{% endmacro %}\n", singular="select 1\n")
    with pytest.raises(sql_docs.Undocumented, match=r"macros/m\.sql: bare"):
        sql_docs.macros(root)
    with pytest.raises(sql_docs.Undocumented, match=r"tests/singular/assert_x\.sql"):
        sql_docs.singular_tests(root)


def test_jinja_in_a_comment_is_text_in_the_description(tmp_path: Path) -> None:
    """dbt renders descriptions as Jinja: `{{ expr }}` in a comment would be rendered."""
    root = _project(
        tmp_path, "{#- Writes {{ expr }}[1]. -#}\n{% macro first(expr) %}{% endmacro %}\n"
    )
    text = sql_docs.expected_files(root)[sql_docs.MACROS_YML]
    assert yaml.safe_load(text)["macros"][0]["description"] == (
        "{% raw %}Writes {{ expr }}[1].{% endraw %}"
    )
