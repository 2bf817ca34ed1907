-- A returned row is a raw file whose rows read (the loader's count of the file's data rows,
-- raw.load_log) differ from the rows kept plus the rows rejected that rpt_source_row_counts
-- counts for it (the sum of its outcome rows: `(kept)` and each rejection reason), a file read
-- but not counted there (or counted but not read), a source whose rows_read, rows_kept or
-- rows_rejected columns differ from its outcome rows, or a source whose kept rows differ from
-- the rows in its clean table. (rows_read is the sum of kept and rejected by construction in
-- the report: only the loader's count of the file tells whether a row went missing.)

-- Dagster shows the result as a check of this model (dagster-dbt reads the meta).
{{ config(meta={'dagster': {'ref': {'name': 'rpt_source_row_counts'}}}) }}


with

report as (

    select
        source_table,
        outcome,
        row_count,
        rows_read,
        rows_kept,
        rows_rejected
    from {{ ref('rpt_source_row_counts') }}

),

counted as (

    -- Kept and rejected from the outcome rows, apart from the report's own totals.
    select
        source_table,
        sum(case when outcome = '(kept)' then row_count else 0 end) as kept_rows,
        sum(case when outcome != '(kept)' then row_count else 0 end) as rejected_rows
    from report
    group by source_table

),

loads as (

    select
        source_table,
        rows_read as file_rows
    from {{ ref('stg_loader__load_log') }}

),

clean_tables as (

    select
        'spotify_600k.tracks' as source_table,
        count(*) as clean_rows
    from {{ ref('int_tracks_enriched') }}
    union all
    select
        'spotify_2023.songs' as source_table,
        count(*) as clean_rows
    from {{ ref('fct_songs_2023') }}

),

read_not_counted as (

    -- Every file the loader read, and every source the report counts: an empty file needs no
    -- outcome row.
    select
        coalesce(loads.source_table, counted.source_table) as source_table,
        case
            when loads.source_table is null then 'counted, but no file was read'
            when counted.source_table is null
                then cast(loads.file_rows as {{ dbt.type_string() }}) || ' rows read, none counted'
            else
                cast(loads.file_rows as {{ dbt.type_string() }}) || ' rows read, '
                || cast(coalesce(counted.kept_rows, 0) as {{ dbt.type_string() }})
                || ' kept + '
                || cast(coalesce(counted.rejected_rows, 0) as {{ dbt.type_string() }})
                || ' rejected'
        end as problem
    from loads
    full outer join counted
        on loads.source_table = counted.source_table
    where
        loads.source_table is null
        or loads.file_rows != coalesce(counted.kept_rows, 0) + coalesce(counted.rejected_rows, 0)

),

totals_not_their_outcomes as (

    select distinct
        report.source_table,
        'rows_read, rows_kept, rows_rejected '
        || cast(report.rows_read as {{ dbt.type_string() }}) || ', '
        || cast(report.rows_kept as {{ dbt.type_string() }}) || ', '
        || cast(report.rows_rejected as {{ dbt.type_string() }})
        || ' beside outcome rows of ' || cast(counted.kept_rows as {{ dbt.type_string() }})
        || ' kept and ' || cast(counted.rejected_rows as {{ dbt.type_string() }})
        || ' rejected' as problem
    from report
    inner join counted
        on report.source_table = counted.source_table
    where
        report.rows_kept != counted.kept_rows
        or report.rows_rejected != counted.rejected_rows
        or report.rows_read != counted.kept_rows + counted.rejected_rows

),

kept_not_clean as (

    select
        clean_tables.source_table,
        cast(coalesce(counted.kept_rows, 0) as {{ dbt.type_string() }}) || ' rows kept, '
        || cast(clean_tables.clean_rows as {{ dbt.type_string() }})
        || ' in the clean table' as problem
    from clean_tables
    left join counted
        on clean_tables.source_table = counted.source_table
    where coalesce(counted.kept_rows, 0) != clean_tables.clean_rows

)

select * from read_not_counted
union all
select * from totals_not_their_outcomes
union all
select * from kept_not_clean
