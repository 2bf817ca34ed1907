-- Tracks the model calls blazing-hot that are not (yet) popular: candidates to promote.

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
    prob_blazing_hot
from predictions
where predicted_class = 'blazing_hot' and true_class != 'blazing_hot'
order by prob_blazing_hot desc
limit 100
