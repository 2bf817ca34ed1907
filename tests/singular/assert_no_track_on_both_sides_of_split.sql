-- A returned row is a track that is in both the train and the predict table, or a clean track
-- that is in neither.

-- Dagster shows the result as a check of this model (dagster-dbt reads the meta).
{{ config(meta={'dagster': {'ref': {'name': 'fct_predict_tracks'}}}) }}


with

train as (

    select track_id from {{ ref('fct_train_tracks') }}

),

predict as (

    select track_id from {{ ref('fct_predict_tracks') }}

),

clean as (

    select track_id from {{ ref('int_tracks_enriched') }}

),

in_both as (

    select
        train.track_id,
        'in both train and predict' as problem
    from train
    inner join predict
        on train.track_id = predict.track_id

),

in_neither as (

    select
        clean.track_id,
        'in neither train nor predict' as problem
    from clean
    left join train
        on clean.track_id = train.track_id
    left join predict
        on clean.track_id = predict.track_id
    where train.track_id is null and predict.track_id is null

)

select * from in_both
union all
select * from in_neither
