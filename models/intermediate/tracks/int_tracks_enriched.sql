-- The clean tracks: one row per usable track, with its popularity class and the reach of its
-- first-listed artist (followers, number of genres; NULL when artists.csv does not know it).

with

tracks as (

    select * from {{ ref('int_tracks_validated') }}
    where rejection_reason is null

),

artists as (

    select * from {{ ref('int_artists_validated') }}
    where rejection_reason is null

),

with_artist as (

    select
        tracks.*,
        {{ list_first('tracks.artist_ids') }} as primary_artist_id,
        artists.followers as artist_followers,
        artists.genre_count as artist_genre_count
    from tracks
    left join artists
        on {{ list_first('tracks.artist_ids') }} = artists.artist_id

),

final as (

    select
        track_id,
        track_name,
        artist_names,
        artist_ids,
        primary_artist_id,
        popularity,
        {{ popularity_class('popularity') }} as popularity_class,
        release_date,
        release_date_precision,
        release_year,
        {{ track_features() }},
        artist_followers,
        artist_genre_count
    from with_artist

)

select * from final
