-- Popularity by release decade: mean popularity and the share of each class, over all clean
-- tracks (release year is the strongest single predictor).

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

)

select
    (release_year // 10) * 10 as decade,
    count(*) as tracks,
    avg(popularity) as mean_popularity,
    avg(case when popularity_class = 'ice_cold' then 1.0 else 0.0 end) as ice_cold_share,
    avg(case when popularity_class = 'lukewarm' then 1.0 else 0.0 end) as lukewarm_share,
    avg(case when popularity_class = 'blazing_hot' then 1.0 else 0.0 end) as blazing_hot_share
from tracks
group by decade
order by decade
