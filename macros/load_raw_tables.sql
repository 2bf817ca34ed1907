{#-
    The raw tables, run by `on-run-start` before the ml source tables are created (and by
    `python -m python_ml load --engine spark`, with force=true: every file again).

    DuckDB: nothing to do here; the dbt-duckdb plugin (python_ml/warehouse/dbt_plugin.py) has
    loaded the changed raw files when dbt opened the warehouse.

    Spark: each raw file whose tables are missing or older than the file is read by python_ml's
    Spark data source `music_raw` (python_ml/warehouse/spark_source.py), which runs DuckDB's
    loader on it: the same checks, quarantine and file lines as on DuckDB. A file that cannot be
    loaded stops the run with the loader's one-line message (e.g. the file is missing: run
    `python -m python_ml extract`); Spark's tables are then left as they were.
-#}
{% macro load_raw_tables(force=false) %}
    {{ return(adapter.dispatch('load_raw_tables', 'music_popularity')(force)) }}
{% endmacro %}

{% macro default__load_raw_tables(force) %}
{% endmacro %}

{% macro spark__load_raw_tables(force) %}
    {% if execute %}
        {% do run_query('create schema if not exists raw') %}
        {%- set present = run_query('show tables in raw').columns['tableName'].values() | map('lower') | list %}
        {%- set logged = [] %}
        {%- if 'load_log' in present %}
            {%- for row in run_query(
                "select dataset, table_name, file_path, file_bytes, "
                ~ "date_format(loaded_at, \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS\") from raw.load_log"
            ).rows %}
                {%- do logged.append(row.values() | list) %}
            {%- endfor %}
        {%- endif %}
        {%- set tables = [] %}
        {%- for name in present %}{% do tables.append('raw.' ~ name) %}{% endfor %}
        {% do run_query(music_raw_view('music_raw_stale', {
            'part': 'stale', 'logged': tojson(logged), 'tables': tojson(tables),
            'force': 'true' if force else 'false'
        })) %}
        {%- set stale = run_query('select * from music_raw_stale').rows %}
        {%- set loaded_at = run_started_at.strftime('%Y-%m-%dT%H:%M:%S.%f') %}
        {% do create_load_log_tables() %}
        {#- Every changed file read and checked first (its log row), so that a file that cannot
            be loaded stops the run before any table is replaced. #}
        {%- set checked = [] %}
        {%- for file in stale %}
            {%- set options = {'dataset': file[0], 'table': file[1], 'loaded_at': loaded_at} %}
            {{ log('python_ml: loading raw.' ~ file[0] ~ '__' ~ file[1] ~ ' into Spark (' ~ file[2] ~ ')', info=true) }}
            {%- set log_view = 'music_raw_log_' ~ file[0] ~ '__' ~ file[1] %}
            {% do run_query(music_raw_view(log_view ~ '_file', dict(options, part='log'))) %}
            {#- Cached: the file is read once for its log row, not again when it is written. #}
            {% do run_query('cache table ' ~ log_view ~ ' as select * from ' ~ log_view ~ '_file') %}
            {%- set log_row = run_query('select * from ' ~ log_view).rows[0] %}
            {%- if log_row['error'] %}
                {{ exceptions.raise_compiler_error(log_row['error'] ~ ' Spark\'s raw tables were left as they were.') }}
            {%- endif %}
            {%- do checked.append((file, options, log_row, log_view)) %}
        {%- endfor %}
        {%- for file, options, log_row, log_view in checked %}
            {% do run_query(music_raw_view('music_raw_rows', dict(options, part='rows'))) %}
            {#- Spark's own tables have no create-or-replace: the old table goes just before the
                new one is written. #}
            {% do run_query('drop table if exists raw.' ~ file[0] ~ '__' ~ file[1]) %}
            {% do run_query(
                'create table raw.' ~ file[0] ~ '__' ~ file[1]
                ~ ' using parquet as select * from music_raw_rows'
            ) %}
            {% do run_query(music_raw_view('music_raw_rejects', dict(options, part='rejects'))) %}
            {% do run_query(replace_load_log_rows('load_rejects', file, 'music_raw_rejects')) %}
            {% do run_query(replace_load_log_rows('load_log', file, log_view)) %}
            {% do run_query('uncache table ' ~ log_view) %}
            {{ log(
                'python_ml: loaded ' ~ log_row['file_path'] ~ ' into Spark: '
                ~ log_row['rows_read'] ~ ' rows read, ' ~ log_row['rows_kept'] ~ ' kept, '
                ~ log_row['rows_rejected'] ~ ' rejected (' ~ log_row['encoding'] ~ ')',
                info=true
            ) }}
        {%- endfor %}
    {% endif %}
{% endmacro %}

{#- A temporary view over the music_raw data source with these options (Spark). -#}
{% macro music_raw_view(name, options) %}
    create or replace temporary view {{ name }} using music_raw options (
    {%- for key, value in options.items() %}
        {{ key }} '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'{{ "," if not loop.last }}
    {%- endfor %}
    )
{% endmacro %}

{#- raw.load_rejects and raw.load_log on Spark: one partition per raw file, so that one file's
    rows are replaced without touching the others'. The columns are those of the loader source
    (models/staging/loader/_loader__sources.yml); Spark puts the partition columns last. -#}
{% macro load_log_columns(table) %}
    {%- set columns = {
        'load_rejects': ['file_path string', 'file_line bigint', 'error_type string',
                         'column_name string', 'raw_text string', 'error_message string',
                         'loaded_at timestamp'],
        'load_log': ['file_path string', 'encoding string', 'file_bytes bigint',
                     'rows_read bigint', 'rows_kept bigint', 'rows_rejected bigint',
                     'loaded_at timestamp'],
    } %}
    {{ return(columns[table]) }}
{% endmacro %}

{% macro create_load_log_tables() %}
    {%- for table in ['load_rejects', 'load_log'] %}
        {% do run_query(
            'create table if not exists raw.' ~ table ~ ' ('
            ~ load_log_columns(table) | join(', ')
            ~ ', dataset string, table_name string) using parquet partitioned by (dataset, table_name)'
        ) %}
    {%- endfor %}
{% endmacro %}

{% macro replace_load_log_rows(table, file, view) %}
    insert overwrite table raw.{{ table }}
    partition (dataset = '{{ file[0] }}', table_name = '{{ file[1] }}')
    select {% for column in load_log_columns(table) -%}{{ column.split(' ')[0] }}{{ ", " if not loop.last }}{% endfor %}
    from {{ view }}
{% endmacro %}
