-- Per first-listed artist with at least `min_artist_tracks` scored tracks: predicted and
-- actual hit rates (blazing-hot) and how often the model is right.

with

predictions as (

    select * from {{ ref('fct_track_predictions') }}

),

final as (

    select
        primary_artist_id,
        any_value(primary_artist_name) as primary_artist_name,
        count(*) as scored_tracks,
        avg(case when predicted_class = 'blazing_hot' then 1.0 else 0.0 end)
            as predicted_hit_rate,
        avg(case when true_class = 'blazing_hot' then 1.0 else 0.0 end) as actual_hit_rate,
        avg(case when predicted_class != 'ice_cold' then 1.0 else 0.0 end)
            as predicted_not_cold_rate,
        avg(case when true_class != 'ice_cold' then 1.0 else 0.0 end) as actual_not_cold_rate,
        avg(case when is_correct then 1.0 else 0.0 end) as accuracy
    from predictions
    where primary_artist_id is not null
    group by primary_artist_id
    having count(*) >= {{ var('min_artist_tracks') }}

)

select * from final
