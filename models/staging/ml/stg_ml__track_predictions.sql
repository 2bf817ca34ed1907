with

source as (

    select * from {{ source('ml', 'track_predictions') }}

),

final as (

    select
        track_id,
        run_id,
        predicted_class,
        prob_ice_cold,
        prob_lukewarm,
        prob_blazing_hot,
        scored_at
    from source

)

select * from final
