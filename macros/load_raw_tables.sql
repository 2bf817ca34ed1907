{#-
    The raw tables, run by `on-run-start` before the ml source tables are created (and by
    `python -m python_ml load --engine spark`, with force=true: every file again).

    DuckDB: nothing to do here; the dbt-duckdb plugin (python_ml/warehouse/dbt_plugin.py) has
    loaded the changed raw files when dbt opened the warehouse.

    Spark: each raw file whose tables are missing, or that changed since `raw.load_log` recorded
    it, is read by python_ml's Spark data source `music_raw` (python_ml/warehouse/spark_source.py),
    which runs DuckDB's loader on it: the same checks, quarantine and file lines as on DuckDB.
    Every changed file is read and checked first; a file that cannot be loaded stops the run with
    the loader's one-line message (e.g. the file is missing: run `python -m python_ml extract`)
    before any table is replaced. Off, like the DuckDB plugin, where MUSIC_AUTOLOAD_RAW is false
    (python_ml's own steps, which load the raw files when they mean to). The loader's limit on
    rows that do not parse is this command's var max_rejected_share (its --vars, else
    dbt_project.yml's), as the singular test assert_rejected_share_below_threshold reads it.
-#}
{% macro load_raw_tables(force=false) %}
    {{ return(adapter.dispatch('load_raw_tables', 'music_popularity')(force)) }}
{% endmacro %}

{% macro default__load_raw_tables(force) %}
{% endmacro %}

{% macro spark__load_raw_tables(force) %}
    {%- set autoload = env_var('MUSIC_AUTOLOAD_RAW', 'true') | lower not in ('false', '0', 'no', 'off', '') %}
    {% if execute and (force or autoload) %}
        {%- set raw_dir = env_var('MUSIC_RAW_DIR', '') %}
        {%- if raw_dir and not raw_dir.startswith('/') %}
            {{ exceptions.raise_compiler_error(
                'MUSIC_RAW_DIR is a relative path (' ~ raw_dir ~ '): Spark reads the raw files '
                ~ 'from a folder of its own, so give the absolute path, e.g. $PWD/' ~ raw_dir ~ '.'
            ) }}
        {%- endif %}
        {% do run_query('create schema if not exists raw') %}
        {% do create_load_log_tables() %}
        {%- set present = run_query('show tables in raw').columns['tableName'].values() | map('lower') | list %}
        {%- set logged = [] %}
        {%- for row in run_query(
            'select dataset, table_name, file_path, file_bytes, unix_micros(loaded_at), file_sha256, loader_version from raw.load_log'
        ).rows %}
            {%- do logged.append(row.values() | list) %}
        {%- endfor %}
        {%- set tables = [] %}
        {%- for name in present %}{% do tables.append('raw.' ~ name) %}{% endfor %}
        {#- The raw folder is this dbt command's (a Spark session that outlives one command,
            e.g. a Thrift server's, reads the folder each command names). #}
        {% do run_query(music_raw_view('music_raw_stale', {
            'part': 'stale', 'raw_dir': raw_dir, 'logged': tojson(logged), 'tables': tojson(tables),
            'force': 'true' if force else 'false'
        })) %}
        {%- set stale = run_query('select * from music_raw_stale').rows %}
        {%- set loaded_at = run_started_at.strftime('%Y-%m-%dT%H:%M:%S.%f') %}
        {#- Every changed file read and checked first (its log row), so that a file that cannot
            be loaded stops the run before any table is replaced. #}
        {%- set checked = [] %}
        {%- for file in stale %}
            {%- set options = {'dataset': file['dataset'], 'table': file['table_name'], 'loaded_at': loaded_at, 'raw_dir': raw_dir, 'max_rejected_share': var('max_rejected_share')} %}
            {#- The file's last load (its rows, when): a file cut short, with far fewer rows, is
                refused as on DuckDB, whose loader compares it with its own log. #}
            {%- set before = run_query(
                "select rows_read, unix_micros(loaded_at) from raw.load_log where dataset = '"
                ~ file['dataset'] ~ "' and table_name = '" ~ file['table_name'] ~ "'"
            ).rows %}
            {%- if before %}
                {%- do options.update({'rows_before': before[0][0] ~ '', 'loaded_before': before[0][1] ~ ''}) %}
            {%- endif %}
            {{ log('python_ml: loading ' ~ file['raw_table'] ~ ' into Spark (' ~ file['reason'] ~ ')', info=true) }}
            {%- set log_view = 'music_raw_log_' ~ file['dataset'] ~ '__' ~ file['table_name'] %}
            {% do run_query(music_raw_view(log_view ~ '_file', dict(options, part='log'))) %}
            {#- Cached: the file is read once for its log row, not again when it is written.
                A session that stopped an earlier load part-way may still hold the view. #}
            {% do run_query('uncache table if exists ' ~ log_view) %}
            {% do run_query('drop view if exists ' ~ log_view) %}
            {% do run_query('cache table ' ~ log_view ~ ' as select * from ' ~ log_view ~ '_file') %}
            {%- set log_row = run_query('select * from ' ~ log_view).rows[0] %}
            {%- if log_row['error'] %}
                {{ exceptions.raise_compiler_error(log_row['error'] ~ ' Spark\'s raw tables were left as they were.') }}
            {%- endif %}
            {%- do checked.append((file, options, log_row, log_view)) %}
        {%- endfor %}
        {%- for file, options, log_row, log_view in checked %}
            {%- set table = file['raw_table'] %}
            {% do run_query(music_raw_view('music_raw_rows', dict(options, part='rows'))) %}
            {#- Written beside the old table, checked, then put in its place: Spark's own tables
                have no create-or-replace, and the gap is only a drop and a rename. #}
            {% do run_query('drop table if exists ' ~ table ~ '__loading') %}
            {% do run_query('create table ' ~ table ~ '__loading using parquet as select * from music_raw_rows') %}
            {%- set written = run_query('select count(*) from ' ~ table ~ '__loading').rows[0][0] %}
            {%- if written != log_row['rows_kept'] %}
                {% do run_query('drop table ' ~ table ~ '__loading') %}
                {{ exceptions.raise_compiler_error(
                    log_row['file_path'] ~ ' changed while it was being loaded (' ~ log_row['rows_kept']
                    ~ ' rows checked, ' ~ written ~ ' read). Run dbt again once the file is complete.'
                ) }}
            {%- endif %}
            {% do run_query('drop table if exists ' ~ table) %}
            {% do run_query('alter table ' ~ table ~ '__loading rename to ' ~ table) %}
            {% do run_query(music_raw_view('music_raw_rejects', dict(options, part='rejects'))) %}
            {% do run_query(replace_load_log_rows('load_rejects', file, 'music_raw_rejects')) %}
            {% do run_query(replace_load_log_rows('load_log', file, log_view)) %}
            {% do run_query('uncache table ' ~ log_view) %}
            {{ log(
                'python_ml: loaded ' ~ log_row['file_path'] ~ ' into Spark: '
                ~ log_row['rows_read'] ~ ' rows read, ' ~ log_row['rows_kept'] ~ ' parse, '
                ~ log_row['rows_rejected'] ~ ' quarantined (' ~ log_row['encoding']
                ~ "); dbt's checks come next",
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

{#- The columns of the loader source's table (models/staging/loader/_loader__sources.yml). -#}
{% macro loader_columns(table) %}
    {%- for source in graph.sources.values() if source.source_name == 'loader' and source.name == table %}
        {{ return(source.columns.values() | list) }}
    {%- endfor %}
{% endmacro %}

{#- raw.load_rejects and raw.load_log on Spark, with the loader source's columns: one partition
    per raw file, so that one file's rows are replaced without touching the others' (Spark
    puts the partition columns last). Tables from before the partitions, or from before a
    column the source now declares (file_sha256), are dropped: every file then counts as never
    loaded, and loads again. -#}
{% macro create_load_log_tables() %}
    {%- for table in ['load_rejects', 'load_log'] %}
        {%- if adapter.get_relation(database=none, schema='raw', identifier=table) is not none %}
            {%- set described = run_query('describe table raw.' ~ table).columns[0].values() | list %}
            {%- set missing = loader_columns(table) | map(attribute='name') | reject('in', described) | list %}
            {%- if '# Partition Information' not in described or missing %}
                {% do run_query('drop table raw.' ~ table) %}
            {%- endif %}
        {%- endif %}
        {%- set columns = [] %}
        {%- for column in loader_columns(table) %}
            {%- do columns.append(column.name ~ ' ' ~ spark_type(column.data_type)) %}
        {%- endfor %}
        {% do run_query(
            'create table if not exists raw.' ~ table ~ ' (' ~ columns | join(', ')
            ~ ') using parquet partitioned by (dataset, table_name)'
        ) %}
    {%- endfor %}
{% endmacro %}

{#- Spark: the rows of one raw file in raw.load_rejects or raw.load_log (`table`), replaced by
    those of `view`, in the file's partition only (`file`: its dataset and table_name). -#}
{% macro replace_load_log_rows(table, file, view) %}
    insert overwrite table raw.{{ table }}
    partition (dataset = '{{ file['dataset'] }}', table_name = '{{ file['table_name'] }}')
    select {% for column in loader_columns(table) if column.name not in ('dataset', 'table_name') -%}
        {{ column.name }}{{ ", " if not loop.last }}
    {%- endfor %}
    from {{ view }}
{% endmacro %}
