-- Why each track of the current predictions got its class rather than the runner-up: every
-- feature's contribution to the called class's score minus the runner-up's, with the track's
-- name and class (the current run is the one of fct_track_predictions).

with

current_predictions as (

    select * from {{ ref('fct_track_predictions') }}

),

scores as (

    select
        track_id,
        run_id,
        explained_score,
        explanation_baseline
    from {{ ref('stg_ml__track_predictions') }}

),

explanations as (

    select * from {{ ref('stg_ml__track_explanations') }}

),

final as (

    select
        explanations.track_id,
        explanations.run_id,
        current_predictions.data_origin,
        current_predictions.track_name,
        current_predictions.predicted_class,
        explanations.feature,
        explanations.feature_value,
        explanations.contribution,
        explanations.contribution_rank,
        scores.explained_score,
        scores.explanation_baseline
    from explanations
    inner join current_predictions
        on
            explanations.track_id = current_predictions.track_id
            and explanations.run_id = current_predictions.run_id
    inner join scores
        on
            explanations.track_id = scores.track_id
            and explanations.run_id = scores.run_id

)

select * from final
