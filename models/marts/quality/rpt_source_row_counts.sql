-- Per source: rows read, kept and rejected, and one row per rejection reason.
-- `rows_read = rows_kept + rows_rejected` holds on every source (see the singular test).

with

tracks as (

    select rejection_reason from {{ ref('int_tracks_validated') }}

),

artists as (

    select rejection_reason from {{ ref('int_artists_validated') }}

),

songs as (

    select rejection_reason from {{ ref('int_songs_2023_validated') }}

),

origins as (

    select
        source_table,
        data_origin
    from {{ ref('stg_loader__load_log') }}

),

unparseable as (

    select
        source_table,
        rejection_reason
    from {{ ref('stg_loader__load_rejects') }}

),

all_rows as (

    select
        'spotify_600k.tracks' as source_table,
        rejection_reason
    from tracks
    union all
    select
        'spotify_600k.artists' as source_table,
        rejection_reason
    from artists
    union all
    select
        'spotify_2023.songs' as source_table,
        rejection_reason
    from songs
    union all
    select
        source_table,
        rejection_reason
    from unparseable

),

outcomes as (

    select
        source_table,
        rejection_reason,
        count(*) as row_count
    from all_rows
    group by source_table, rejection_reason

),

counted as (

    select
        source_table,
        coalesce(rejection_reason, '(kept)') as outcome,
        row_count,
        sum(row_count) over (partition by source_table)::bigint as rows_read,
        coalesce(sum(row_count) filter (where rejection_reason is null)
            over (partition by source_table), 0)::bigint as rows_kept,
        coalesce(sum(row_count) filter (where rejection_reason is not null)
            over (partition by source_table), 0)::bigint as rows_rejected
    from outcomes

),

final as (

    select
        counted.*,
        origins.data_origin
    from counted
    left join origins
        on counted.source_table = origins.source_table

)

select * from final
