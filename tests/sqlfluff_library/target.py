"""`target` for sqlfluff's Jinja templater (lint only): the SQL is linted as DuckDB's, as the
project's default target renders it; dbt provides the real one."""

type = "duckdb"  # noqa: A001 (dbt's name)
schema = "main"
