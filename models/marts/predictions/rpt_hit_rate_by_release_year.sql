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
        {{ current_data_origin() }} as data_origin,
        {{ prediction_rates() }}
    from predictions
    group by release_year

)

select * from final
