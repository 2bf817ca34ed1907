-- The clean 2023 songs for the streams study: one row per song, with log(streams) and whether
-- the song is in the top 10% by streams.

with

songs as (

    select * from {{ ref('int_songs_2023_validated') }}
    where rejection_reason is null

),

final as (

    select
        song_key,
        track_name,
        artist_names,
        trim({{ dbt.split_part('artist_names', "','", 1) }}) as primary_artist,
        artist_count,
        released_year,
        released_month,
        released_day,
        released_date,
        cast({{ dbt.datediff('released_date', 'max(released_date) over ()', 'day') }} as bigint)
            as days_since_release,
        bpm,
        key,
        mode,
        {{ songs_2023_columns('audio') | join(',\n        ') }},
        {{ songs_2023_columns('reach') | join(',\n        ') }},
        streams,
        ln(streams + 1) as log_streams,
        streams >= {{ quantile_over_all('streams', 0.9) }} as is_top_decile,
        {{ raw_data_origin(['spotify_2023.songs']) }} as data_origin
    from songs

)

select * from final
