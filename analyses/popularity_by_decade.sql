-- Popularity by release decade: mean popularity and the share of each class (classes from
-- the popularity_classes seed), over all clean tracks (release year is the strongest single
-- predictor). One row per decade and class, with the data_origin of tracks.csv (its own
-- columns alone: generated data is not about real songs).

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

classes as (

    select * from {{ ref('popularity_classes') }}

),

by_decade as (

    select
        (release_year // 10) * 10 as decade,
        count(*) as decade_tracks,
        avg(popularity) as mean_popularity
    from tracks
    group by decade

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks']) }} as data_origin

),

by_class as (

    select
        (tracks.release_year // 10) * 10 as decade,
        tracks.popularity_class,
        count(*) as class_tracks
    from tracks
    group by decade, tracks.popularity_class

)

select
    by_decade.decade,
    by_decade.decade_tracks,
    by_decade.mean_popularity,
    classes.class_name,
    coalesce(by_class.class_tracks, 0) / by_decade.decade_tracks as class_share,
    origin.data_origin
from by_decade
cross join classes
cross join origin
left join by_class
    on
        by_decade.decade = by_class.decade
        and classes.class_name = by_class.popularity_class
order by by_decade.decade, classes.class_index
