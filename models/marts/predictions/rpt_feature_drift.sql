-- Drift of each scoring run's tracks against the training split: one row per run and feature
-- (and `predicted_class`: the called-class mix against the training classes), with the
-- population stability index. Every run scores the predict split, a random predict_share of
-- the same data as the training split, so its PSI is near 0 unless the data changed; new tracks are
-- measured by `predict` (analysis batch_feature_drift). The run's tracks are read with their
-- current features, from the current predict split: a run some of whose tracks have left it
-- (another split seed, changed raw files) keeps its rows, with no PSI and the status `tracks
-- left the split` (its tracks still there would be a part, not the run).

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

coverage as (

    select
        predictions.run_id,
        max(predictions.scored_at) as scored_at,
        count(*) as scored_tracks,
        count(tracks.track_id) as found_tracks
    from predictions
    left join {{ ref('fct_predict_tracks') }} as tracks
        on predictions.track_id = tracks.track_id
    group by predictions.run_id

),

features as (

    select distinct feature
    from {{ ref('fct_feature_drift_reference') }}

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
        coverage.run_id,
        runs.model_label,
        coalesce(runs.data_origin, 'unknown') as data_origin,
        coverage.scored_at,
        features.feature,
        coverage.scored_tracks,
        coalesce(drift_final.batch_tracks, 0) as batch_tracks,
        case
            when coverage.found_tracks = coverage.scored_tracks then drift_final.psi
        end as psi,
        cast({{ var('drift_psi_threshold') }} as double) as psi_threshold,
        case
            when coverage.found_tracks < coverage.scored_tracks then 'tracks left the split'
            else drift_final.drift_status
        end as drift_status,
        coalesce(coverage.run_id = current_run.run_id, false) as is_current
    from coverage
    cross join features
    cross join current_run
    left join drift_final
        on
            coverage.run_id = drift_final.run_id
            and features.feature = drift_final.feature
    left join runs
        on coverage.run_id = runs.run_id

)

select * from final
