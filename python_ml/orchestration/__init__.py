"""The main job as one Dagster asset graph (``definitions.defs``), laid out as
dagster-io/dagster-open-platform lays out its definitions: a small definitions module, assets per
domain (``assets/``), resources for the project's settings, the warehouse and dbt, the dbt
translator, the schedule and sensor (``automation``) and the in-process runner (``runner``,
what ``python -m python_ml run`` calls). Importing any of it runs nothing: the dbt manifest is
read (and parsed when stale) only when the definitions are loaded.
"""
