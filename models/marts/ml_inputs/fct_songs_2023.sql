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
        -- The file joins a song's artists with commas, and a name may hold one. Its own
        -- artist_count counts the parts (Kaggle's `Tyler, The Creator` is 2 artists, so
        -- `Tyler` here: nothing in the file tells that comma apart). A song of one artist is
        -- the whole text; one with more parts than artists has a name with a comma among
        -- them, and its first artist is not known (it grouped different acts, `Earth, Wind &
        -- Fire` and `Earth, Kitt`, as `Earth`); otherwise the first part.
        case
            when artist_count = 1 then trim(artist_names)
            when {{ dbt.length('artist_names') }}
                - {{ dbt.length("replace(artist_names, ',', '')") }} + 1 > artist_count
                then null
            else trim({{ dbt.split_part('artist_names', "','", 1) }})
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
