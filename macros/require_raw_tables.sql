{#-
    Run by `on-run-start`, before the ml source tables are created. On DuckDB the dbt-duckdb
    plugin (python_ml/warehouse/dbt_plugin.py) has loaded the raw files when dbt opened the
    warehouse, so there is nothing to do. On Spark the raw tables come from python_ml's Spark
    loader: when one is missing, the run stops here with one line naming the command to run,
    instead of a catalog error in every staging model.
-#}
{% macro require_raw_tables() %}
    {{ return(adapter.dispatch('require_raw_tables', 'music_popularity')()) }}
{% endmacro %}

{% macro default__require_raw_tables() %}
{% endmacro %}

{% macro spark__require_raw_tables() %}
    {% if execute %}
        {% do run_query('create schema if not exists raw') %}
        {%- set present = run_query('show tables in raw').columns['tableName'].values() | map('lower') | list %}
        {%- set missing = [] %}
        {%- for source in graph.sources.values() | selectattr('schema', 'equalto', 'raw') %}
            {%- if source.identifier | lower not in present %}
                {%- do missing.append('raw.' ~ source.identifier) %}
            {%- endif %}
        {%- endfor %}
        {%- if missing %}
            {{ exceptions.raise_compiler_error(
                'Spark has no ' ~ missing | join(', ') ~ ': load the raw files into Spark first with `python -m python_ml load --engine spark` (it reads $MUSIC_RAW_DIR with the same checks as the DuckDB loader).'
            ) }}
        {%- endif %}
    {% endif %}
{% endmacro %}
