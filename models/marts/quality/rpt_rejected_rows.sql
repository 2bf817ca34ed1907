-- Every raw row that did not reach a clean table, with the reason and where it came from:
-- rows that do not parse as CSV (quarantined by the loader, with their raw text) and rows
-- that parse but fail validation.

with

unparseable as (

    select * from {{ ref('stg_loader__load_rejects') }}

),

origins as (

    select
        source_table,
        data_origin
    from {{ ref('stg_loader__load_log') }}

),

tracks as (

    select * from {{ ref('int_tracks_validated') }}
    where rejection_reason is not null

),

artists as (

    select * from {{ ref('int_artists_validated') }}
    where rejection_reason is not null

),

songs as (

    select * from {{ ref('int_songs_2023_validated') }}
    where rejection_reason is not null

),

unioned as (

    select
        'spotify_600k.tracks' as source_table,
        source_row_number,
        track_id as record_key,
        rejection_reason,
        rejection_detail,
        null as raw_text
    from tracks

    union all

    select
        'spotify_600k.artists' as source_table,
        source_row_number,
        artist_id as record_key,
        rejection_reason,
        rejection_detail,
        null as raw_text
    from artists

    union all

    select
        'spotify_2023.songs' as source_table,
        source_row_number,
        coalesce(track_name, '') || ' / ' || coalesce(artist_names, '') as record_key,
        rejection_reason,
        rejection_detail,
        null as raw_text
    from songs

    union all

    select
        source_table,
        file_line - 1 as source_row_number,
        null as record_key,
        rejection_reason,
        rejection_detail,
        raw_text
    from unparseable

),

final as (

    select
        unioned.source_table,
        unioned.source_row_number,
        -- The header is line 1 of each file.
        unioned.source_row_number + 1 as file_line,
        unioned.record_key,
        unioned.rejection_reason,
        unioned.rejection_detail,
        unioned.raw_text,
        origins.data_origin
    from unioned
    left join origins
        on unioned.source_table = origins.source_table

)

select * from final
