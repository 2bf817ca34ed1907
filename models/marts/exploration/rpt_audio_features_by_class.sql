-- The mean of each audio feature per true popularity class, over all clean tracks: one row
-- per class of the popularity_classes seed, a class no clean track is in with 0 tracks and no
-- means (a partial tracks.csv of 1922-1935 has no blazing-hot track: the class was left out,
-- not shown as empty). Every
-- figure is of tracks.csv's own columns (the artists are not read): its data_origin is
-- tracks.csv's, not that of the generated artists.csv beside a user's tracks.

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

classes as (

    select * from {{ ref('popularity_classes') }}

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
        classes.class_index,
        classes.class_name as popularity_class,
        coalesce(by_class.track_count, 0) as track_count,
        by_class.mean_danceability,
        by_class.mean_energy,
        by_class.mean_valence,
        by_class.mean_tempo,
        by_class.mean_loudness,
        by_class.mean_speechiness,
        by_class.mean_acousticness,
        by_class.mean_instrumentalness,
        by_class.mean_liveness,
        by_class.mean_duration_ms,
        origin.data_origin
    from classes
    left join by_class
        on classes.class_name = by_class.popularity_class
    cross join origin

)

select * from final
