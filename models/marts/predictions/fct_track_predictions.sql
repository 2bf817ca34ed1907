-- One row per scored track of the current predictions: the champion's run when it has been
-- scored, otherwise the most recently scored run. Features, artists, predicted and true class.

-- Not read here: the explanations hold each feature's value as the model read it when scoring,
-- which test assert_predictions_are_of_the_current_predict_split compares with the split's now.
-- dbt skips what follows a failed test only where every model the test reads is upstream, so
-- with this dependency its failure skips every model built on these predictions (the confusion
-- matrix, class metrics, calibration, class probabilities, drift and hit rates were rebuilt
-- setting the old calls against the classes a changed seed gave). The explanations' own tests
-- (and their source's) now skip this model and those too: the predictions and explanations are
-- one scoring's output, and a scoring whose explanations fail their checks is not shown.
-- depends_on: {{ ref('stg_ml__track_explanations') }}

with

predictions as (

    select * from {{ ref('stg_ml__track_predictions') }}

),

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

tracks as (

    select * from {{ ref('int_tracks_split') }}

),

classes as (

    select
        {{ ordered_list('class_name', 'class_index') }} as class_names,
        max_by(class_name, class_index) as hit_class
    from {{ ref('popularity_classes') }}

),

scored_runs as (

    select
        run_id,
        max(scored_at) as scored_at
    from predictions
    group by run_id

),

current_run as (

    select scored_runs.run_id
    from scored_runs
    left join runs
        on scored_runs.run_id = runs.run_id
    order by coalesce(runs.is_champion, false) desc, scored_runs.scored_at desc
    limit 1

),

final as (

    select
        predictions.track_id,
        predictions.run_id,
        runs.model_label,
        coalesce(runs.data_origin, 'unknown') as data_origin,
        tracks.track_name,
        tracks.artist_names,
        tracks.primary_artist_id,
        {{ list_first('tracks.artist_names') }} as primary_artist_name,
        tracks.release_year,
        tracks.danceability,
        tracks.energy,
        tracks.valence,
        tracks.tempo,
        tracks.loudness,
        tracks.speechiness,
        tracks.acousticness,
        tracks.instrumentalness,
        tracks.liveness,
        tracks.key,
        tracks.mode,
        tracks.time_signature,
        tracks.duration_ms,
        tracks.explicit,
        tracks.artist_followers,
        tracks.artist_genre_count,
        predictions.predicted_class,
        {{ map_from_lists('classes.class_names', 'predictions.class_probabilities') }}
            as class_probabilities,
        {{ list_last('predictions.class_probabilities') }} as hit_probability,
        predictions.predicted_class = classes.hit_class as is_predicted_hit,
        tracks.popularity as true_popularity,
        tracks.popularity_class as true_class,
        predictions.predicted_class = tracks.popularity_class as is_correct,
        predictions.runner_up_class,
        predictions.reasons,
        predictions.explanation_baseline,
        predictions.explained_score,
        predictions.scored_at
    from predictions
    inner join current_run
        on predictions.run_id = current_run.run_id
    left join runs
        on predictions.run_id = runs.run_id
    left join tracks
        on predictions.track_id = tracks.track_id
    cross join classes

)

select * from final
