-- A returned row is a 2023 songs study prediction that no longer describes fct_songs_2023 as
-- built: a song whose streams (or top-10% flag) differ from those the study learnt from (the
-- raw file changed: fct_song_stream_predictions then showed the new actual_streams beside the
-- old actual_log_streams, prediction and residual), a predicted song that is no longer a clean
-- song (the mart's join left it out without a word), or a clean song a study run did not
-- predict. Run the study again: `python -m python_ml songs` (or `python -m python_ml run`),
-- then build the marts. (A changed feature with the same streams is not seen here: the
-- warehouse keeps no copy of the features the study read.)

-- Dagster shows the result as a check of this model (dagster-dbt reads the meta).
{{ config(meta={'dagster': {'ref': {'name': 'fct_song_stream_predictions'}}}) }}

with

predictions as (

    select * from {{ ref('stg_ml__song_predictions') }}

),

-- What the analyst reads, tied to this test: built after the study, as the marts are.
shown as (

    select
        song_id,
        run_id,
        actual_streams,
        actual_log_streams
    from {{ ref('fct_song_stream_predictions') }}

),

songs as (

    select
        song_key,
        track_name,
        log_streams,
        case when is_top_decile then cast(1 as double) else 0 end as top_decile
    from {{ ref('fct_songs_2023') }}

),

runs as (

    select distinct
        run_id,
        task
    from predictions

),

no_longer_a_song as (

    select
        predictions.song_id,
        predictions.run_id,
        'predicted (' || predictions.task || '), but no longer a clean song' as problem
    from predictions
    left join songs
        on predictions.song_id = songs.song_key
    where songs.song_key is null

),

compared as (

    select
        predictions.song_id,
        predictions.run_id,
        predictions.task,
        predictions.actual_value,
        songs.track_name,
        case
            when predictions.task = 'log_streams' then songs.log_streams
            else songs.top_decile
        end as value_now
    from predictions
    inner join songs
        on predictions.song_id = songs.song_key

),

actual_changed as (

    select
        song_id,
        run_id,
        track_name || ': ' || task || ' was '
        || cast(actual_value as {{ dbt.type_string() }}) || ' when predicted, is '
        || cast(value_now as {{ dbt.type_string() }}) || ' now' as problem
    from compared
    where abs(actual_value - value_now) > 1e-9

),

shown_inconsistent as (

    select
        song_id,
        run_id,
        'actual_streams ' || cast(actual_streams as {{ dbt.type_string() }})
        || ' beside actual_log_streams '
        || cast(actual_log_streams as {{ dbt.type_string() }}) as problem
    from shown
    where abs(actual_log_streams - ln(actual_streams + 1)) > 1e-9

),

not_predicted as (

    select
        songs.song_key as song_id,
        runs.run_id,
        songs.track_name || ': a clean song the run (' || runs.task
        || ') did not predict' as problem
    from runs
    cross join songs
    left join predictions
        on
            runs.run_id = predictions.run_id
            and songs.song_key = predictions.song_id
    where predictions.song_id is null

)

select * from no_longer_a_song
union all
select * from actual_changed
union all
select * from shown_inconsistent
union all
select * from not_predicted
