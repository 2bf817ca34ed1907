-- The 2023 songs: out-of-fold predicted vs actual streams, per song, model and feature set.

with

predictions as (

    select * from {{ ref('stg_ml__song_predictions') }}
    where task = 'log_streams'

),

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

songs as (

    select * from {{ ref('fct_songs_2023') }}

),

final as (

    select
        predictions.song_id,
        predictions.run_id,
        coalesce(runs.data_origin, 'unknown') as data_origin,
        predictions.model_type,
        predictions.feature_set,
        predictions.fold,
        songs.track_name,
        songs.artist_names,
        songs.released_year,
        songs.streams as actual_streams,
        predictions.actual_value as actual_log_streams,
        predictions.predicted_value as predicted_log_streams,
        exp(predictions.predicted_value) - 1 as predicted_streams,
        predictions.predicted_value - predictions.actual_value as log_residual
    from predictions
    inner join songs
        on predictions.song_id = songs.song_key
    left join runs
        on predictions.run_id = runs.run_id

)

select * from final
