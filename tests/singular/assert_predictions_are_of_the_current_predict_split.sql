-- A returned row is a prediction of the current run that no longer describes the predict split
-- as built: a scored track now on the train side (the classes' bounds in the seed changed, so
-- the stratified split moved it), a track of the predict split that was not scored, or a track
-- whose feature, as the model read it when scoring, differs from the split's value now (the
-- raw file changed). The marts would show the old model's calls beside the new data. Score
-- again: `python -m python_ml score` (or `python -m python_ml run`), then build the marts.

-- Dagster shows the result as a check of this model (dagster-dbt reads the meta).
{{ config(meta={'dagster': {'ref': {'name': 'fct_track_predictions'}}}) }}

{%- set features = ['release_year'] -%}
{%- for column, allowed in track_feature_ranges() -%}
    {%- do features.append(column) -%}
{%- endfor -%}
{%- do features.extend(['artist_followers', 'artist_genre_count']) -%}

with

predictions as (

    select
        track_id,
        run_id
    from {{ ref('fct_track_predictions') }}

),

split as (

    select * from {{ ref('int_tracks_split') }}

),

explanations as (

    select
        track_id,
        run_id,
        feature,
        feature_value
    from {{ ref('stg_ml__track_explanations') }}

),

not_on_the_predict_side as (

    select
        predictions.track_id,
        case
            when split.track_id is null then 'scored, but no longer a clean track'
            else 'scored, but now in the ' || split.split || ' split'
        end as problem
    from predictions
    left join split
        on predictions.track_id = split.track_id
    where split.split is distinct from 'predict'

),

scored as (

    select count(*) as track_count from predictions

),

not_scored as (

    -- (Before the first scoring nothing is: the prediction marts build empty.)
    select
        split.track_id,
        'in the predict split, not scored' as problem
    from split
    cross join scored
    left join predictions
        on split.track_id = predictions.track_id
    where
        split.split = 'predict'
        and predictions.track_id is null
        and scored.track_count > 0

),

values_now as (

    -- The predict side's feature values now, long as the explanations are (one row each).
    {%- for feature in features %}
        select
            track_id,
            '{{ feature }}' as feature,
            cast({{ feature }} as double) as feature_value
        from split
        where split = 'predict'
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

features_changed as (

    select
        explanations.track_id,
        explanations.feature
        || ' was ' || cast(explanations.feature_value as {{ dbt.type_string() }})
        || ' when scored, is '
        || coalesce(cast(values_now.feature_value as {{ dbt.type_string() }}), 'null')
        || ' now' as problem
    from explanations
    inner join predictions
        on
            explanations.track_id = predictions.track_id
            and explanations.run_id = predictions.run_id
    inner join values_now
        on
            explanations.track_id = values_now.track_id
            and explanations.feature = values_now.feature
    where explanations.feature_value is distinct from values_now.feature_value

)

select * from not_on_the_predict_side
union all
select * from not_scored
union all
select * from features_changed
