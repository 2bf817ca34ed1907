-- Tracks the model calls a hit (the seed's highest class, blazing-hot) that are not (yet)
-- popular: candidates to promote.

with

predictions as (

    select * from {{ ref('fct_track_predictions') }}

)

select
    track_id,
    track_name,
    primary_artist_name,
    release_year,
    true_popularity,
    true_class,
    hit_probability
from predictions
where is_predicted_hit and predicted_class != true_class
order by hit_probability desc
limit 100
