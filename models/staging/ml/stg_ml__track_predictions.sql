with

source as (

    select * from {{ source('ml', 'track_predictions') }}

),

final as (

    select
        track_id,
        run_id,
        predicted_class,
        class_probabilities,
        runner_up_class,
        reasons,
        explained_score,
        explanation_baseline,
        scored_at
    from source

)

select * from final
