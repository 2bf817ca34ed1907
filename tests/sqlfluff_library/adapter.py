"""`adapter` for sqlfluff's Jinja templater (lint only; dbt itself provides the real one).

``adapter.dispatch('list_length', ...)(expr)`` renders as a call ``list_length(expr)``: the
linter checks the models' layout, and each cross-database macro's DuckDB and Spark bodies are
exercised by dbt builds on both targets (tests/python).
"""

QUOTED_ARGUMENTS = {"regex_full_match": (1,), "list_join": (1,), "json_number": (1,)}


def quote(name: str) -> str:
    return '"' + name + '"'


def dispatch(macro_name: str, macro_namespace: str | None = None):
    def call(*args):
        parts = []
        for index, arg in enumerate(args):
            if isinstance(arg, list | tuple):
                parts.append(", ".join(str(item) for item in arg))
            elif index in QUOTED_ARGUMENTS.get(macro_name, ()):
                parts.append("'" + str(arg) + "'")
            else:
                parts.append(str(arg))
        return f"{macro_name}({', '.join(parts)})"

    return call
