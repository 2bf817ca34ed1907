-- Tracks the model calls a hit (the seed's highest class, blazing-hot) that are not (yet)
-- popular: candidates to promote; each with the data_origin of the predictions (generated
-- data is not about real songs).

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
    hit_probability,
    data_origin
from predictions
where is_predicted_hit and predicted_class != true_class
order by hit_probability desc
limit 100
