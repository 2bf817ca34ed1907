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
        -- The file joins a song's artists with commas, and a name may hold one (`Tyler, The
        -- Creator`): the text before the first comma is the first artist only when the parts
        -- are as many as the song's artists; otherwise it is not known (not a part of a name,
        -- which grouped different acts as one artist).
        case
            when artist_count = 1 then trim(artist_names)
            when {{ dbt.length('artist_names') }}
                - {{ dbt.length("replace(artist_names, ',', '')") }} + 1 = artist_count
                then trim({{ dbt.split_part('artist_names', "','", 1) }})
        end as primary_artist,
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
