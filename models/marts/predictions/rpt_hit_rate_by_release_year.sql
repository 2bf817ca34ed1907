-- Per release year of the scored tracks: how often the model says blazing-hot (a hit),
-- how often the track truly is, and how often the model is right.

with

predictions as (

    select * from {{ ref('fct_track_predictions') }}

),

final as (

    select
        release_year,
        count(*) as scored_tracks,
        avg(case when predicted_class = 'blazing_hot' then 1.0 else 0.0 end)
            as predicted_hit_rate,
        avg(case when true_class = 'blazing_hot' then 1.0 else 0.0 end) as actual_hit_rate,
        avg(case when predicted_class != 'ice_cold' then 1.0 else 0.0 end)
            as predicted_not_cold_rate,
        avg(case when true_class != 'ice_cold' then 1.0 else 0.0 end) as actual_not_cold_rate,
        avg(case when is_correct then 1.0 else 0.0 end) as accuracy
    from predictions
    group by release_year

)

select * from final
