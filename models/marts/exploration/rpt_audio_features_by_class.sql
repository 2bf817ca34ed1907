-- The mean of each audio feature per true popularity class, over all clean tracks. Every
-- figure is of tracks.csv's own columns (the artists are not read): its data_origin is
-- tracks.csv's, not that of the generated artists.csv beside a user's tracks.

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks']) }} as data_origin

),

by_class as (

    select
        popularity_class,
        count(*) as track_count,
        avg(danceability) as mean_danceability,
        avg(energy) as mean_energy,
        avg(valence) as mean_valence,
        avg(tempo) as mean_tempo,
        avg(loudness) as mean_loudness,
        avg(speechiness) as mean_speechiness,
        avg(acousticness) as mean_acousticness,
        avg(instrumentalness) as mean_instrumentalness,
        avg(liveness) as mean_liveness,
        avg(duration_ms) as mean_duration_ms
    from tracks
    group by popularity_class

),

final as (

    select
        by_class.*,
        origin.data_origin
    from by_class
    cross join origin

)

select * from final
