-- The mean of each audio feature per true popularity class, over all clean tracks.

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

final as (

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

)

select * from final
