{#-
    The tables python_ml writes, created from the `ml` source's columns and data types
    (models/staging/ml/_ml__sources.yml, their one definition) when missing, and widened with
    any column added there since. A column no longer declared is never dropped (its data
    stays); it only stops being required. Run by `on-run-start`.
-#}
{% macro create_ml_source_tables() %}
    {{ return(adapter.dispatch('create_ml_source_tables', 'music_popularity')()) }}
{% endmacro %}

{% macro default__create_ml_source_tables() %}
    {% if execute %}
        {% do run_query('create schema if not exists ml') %}
        {% for source in graph.sources.values() | selectattr('source_name', 'equalto', 'ml') %}
            {%- set columns = source.columns.values() | list %}
            {%- set declared = columns | map(attribute='name') | list %}
            {% set create %}
                create table if not exists ml.{{ source.name }} (
                    {%- for column in columns %}
                    {{ column.name }} {{ column.data_type }}{{ "," if not loop.last }}
                    {%- endfor %}
                )
            {% endset %}
            {% do run_query(create) %}
            {%- for column in columns %}
                {%- set added_type = column.data_type | replace(' primary key', '') | replace(' not null', '') %}
                {% do run_query('alter table ml.' ~ source.name ~ ' add column if not exists ' ~ column.name ~ ' ' ~ added_type) %}
            {%- endfor %}
            {% set existing = run_query(
                "select column_name from information_schema.columns where table_schema = 'ml' "
                ~ "and table_name = '" ~ source.name ~ "' and is_nullable = 'NO'"
            ) %}
            {%- for row in existing.rows if row[0] not in declared %}
                {% do run_query('alter table ml.' ~ source.name ~ ' alter column ' ~ row[0] ~ ' drop not null') %}
            {%- endfor %}
            {% do comment_ml_source_table(source) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{#-
    The source's descriptions as the table's and its columns' comments in DuckDB, as
    persist_docs gives the models': an analyst in a DuckDB shell reading ml.model_runs saw none
    (duckdb_tables(), duckdb_columns()). Written only where they differ from the comments there.
-#}
{% macro comment_ml_source_table(source) %}
    {%- set there = run_query(
        "select '', comment from duckdb_tables() where schema_name = 'ml' and table_name = '"
        ~ source.name ~ "' union all select column_name, comment from duckdb_columns() "
        ~ "where schema_name = 'ml' and table_name = '" ~ source.name ~ "'"
    ) %}
    {%- set said = {} %}
    {%- for row in there.rows %}
        {%- do said.update({row[0]: row[1] or ''}) %}
    {%- endfor %}
    {%- set wanted = {'': source.description | trim} %}
    {%- for column in source.columns.values() %}
        {%- do wanted.update({column.name: column.description | trim}) %}
    {%- endfor %}
    {%- for name, text in wanted.items() if text and said.get(name) != text %}
        {%- set target = 'table ml.' ~ source.name if name == '' else 'column ml.' ~ source.name ~ '.' ~ name %}
        {% do run_query('comment on ' ~ target ~ ' is ' ~ "'" ~ text | replace("'", "''") ~ "'") %}
    {%- endfor %}
{% endmacro %}

{#- Spark: the same tables (parquet), the declared DuckDB types written in Spark's words;
    Spark has no NOT NULL on such tables: the source's tests check it. Widened like DuckDB's
    with the columns declared since a table was made (the staging models read them). -#}
{% macro spark__create_ml_source_tables() %}
    {% if execute %}
        {% do run_query('create database if not exists ml') %}
        {% for source in graph.sources.values() | selectattr('source_name', 'equalto', 'ml') %}
            {% set create %}
                create table if not exists ml.{{ source.name }} (
                    {%- for column in source.columns.values() %}
                    {{ column.name }} {{ spark_type(column.data_type) }}{{ "," if not loop.last }}
                    {%- endfor %}
                ) using parquet
            {% endset %}
            {% do run_query(create) %}
            {%- set described = run_query('describe table ml.' ~ source.name) %}
            {%- set present = described.columns[0].values() | map('lower') | list %}
            {%- set added = [] %}
            {%- for column in source.columns.values() if column.name | lower not in present %}
                {%- do added.append(column.name ~ ' ' ~ spark_type(column.data_type)) %}
            {%- endfor %}
            {% if added %}
                {% do run_query('alter table ml.' ~ source.name ~ ' add columns (' ~ added | join(', ') ~ ')') %}
            {% endif %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{#- A declared DuckDB column type (e.g. `varchar not null`, `double[]`) as a Spark type. -#}
{% macro spark_type(duckdb_type) %}
    {%- set base = duckdb_type | lower | replace(' primary key', '') | replace(' not null', '')
        | replace(' default false', '') | trim -%}
    {%- set names = {'varchar': 'string', 'integer': 'int'} -%}
    {%- if base.endswith('[]') -%}
        {{ return('array<' ~ spark_type(base[:-2]) ~ '>') }}
    {%- endif -%}
    {{ return(names.get(base, base)) }}
{% endmacro %}
