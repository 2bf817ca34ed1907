-- A returned row is a source whose rows read differ from rows kept plus rows rejected, from
-- the rows the loader read from the file, or whose kept rows differ from the rows in its
-- clean table.

-- Dagster shows the result as a check of this model (dagster-dbt reads the meta).
{{ config(meta={'dagster': {'ref': {'name': 'rpt_source_row_counts'}}}) }}


with

counts as (

    select distinct
        source_table,
        rows_read,
        rows_kept,
        rows_rejected
    from {{ ref('rpt_source_row_counts') }}

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

)

select
    counts.*,
    loads.file_rows,
    clean_tables.clean_rows
from counts
left join loads
    on counts.source_table = loads.source_table
left join clean_tables
    on counts.source_table = clean_tables.source_table
where
    counts.rows_read != counts.rows_kept + counts.rows_rejected
    or counts.rows_read != coalesce(loads.file_rows, -1)
    or counts.rows_kept != coalesce(clean_tables.clean_rows, counts.rows_kept)
