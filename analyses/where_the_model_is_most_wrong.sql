-- The most confident mistakes: the 100 tracks whose true class got the lowest probability,
-- each with the data_origin of the predictions (generated data is not about real songs).

with

predictions as (

    select
        *,
        class_probabilities[true_class] as prob_of_true_class
    from {{ ref('fct_track_predictions') }}

)

select
    track_id,
    track_name,
    primary_artist_name,
    release_year,
    true_popularity,
    true_class,
    predicted_class,
    prob_of_true_class,
    data_origin
from predictions
where not is_correct
order by prob_of_true_class asc
limit 100
