-- The 2023 songs: out-of-fold probability of being in the top 10% by streams, per song, model
-- and feature set, beside whether the song is (the study's classification task).

with

predictions as (

    select * from {{ ref('stg_ml__song_predictions') }}
    where task = 'top_decile'

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
        predictions.actual_value = 1 as is_top_decile,
        predictions.predicted_value as top_decile_probability
    from predictions
    inner join songs
        on predictions.song_id = songs.song_key
    left join runs
        on predictions.run_id = runs.run_id

)

select * from final
