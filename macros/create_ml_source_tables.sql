{#-
    The tables python_ml writes, created from the `ml` source's columns and data types
    (models/staging/ml/_ml__sources.yml, their one definition) when missing, and widened with
    any column added there since. A column no longer declared is never dropped (its data
    stays); it only stops being required. Run by `on-run-start`.
-#}
{% macro create_ml_source_tables() %}
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
        {% endfor %}
    {% endif %}
{% endmacro %}
