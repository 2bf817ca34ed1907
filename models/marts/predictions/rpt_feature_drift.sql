-- Drift of each scoring run's tracks against the training split: one row per run and feature
-- (and `predicted_class`: the called-class mix against the training classes), with the
-- population stability index. Every run scores the predict split, a random predict_share of
-- the same data as the training split, so its PSI is near 0 unless the data changed; new tracks are
-- measured by `predict` (analysis batch_feature_drift). The run's tracks are read with their
-- current features.

with

predictions as (

    select * from {{ ref('stg_ml__track_predictions') }}

),

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

scored as (

    select
        predictions.run_id,
        predictions.scored_at,
        tracks.*,
        classes.class_index
    from predictions
    inner join {{ ref('fct_predict_tracks') }} as tracks
        on predictions.track_id = tracks.track_id
    inner join {{ ref('popularity_classes') }} as classes
        on predictions.predicted_class = classes.class_name

),

scored_long as (

    {{ features_long('scored', ['run_id', 'scored_at'], 'class_index') }}

),

{{ feature_drift('scored_long', ref('fct_feature_drift_reference'), ['run_id', 'scored_at']) }},

current_run as (

    select any_value(run_id) as run_id
    from {{ ref('fct_track_predictions') }}

),

final as (

    select
        drift_final.run_id,
        runs.model_label,
        coalesce(runs.data_origin, 'unknown') as data_origin,
        drift_final.scored_at,
        drift_final.feature,
        drift_final.batch_tracks,
        drift_final.psi,
        drift_final.psi_threshold,
        drift_final.drift_status,
        coalesce(drift_final.run_id = current_run.run_id, false) as is_current
    from drift_final
    cross join current_run
    left join runs
        on drift_final.run_id = runs.run_id

)

select * from final
