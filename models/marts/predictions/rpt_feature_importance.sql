-- Which features each tracks run relies on: permutation importance on its validation fold
-- (the rise of the log loss when the feature is shuffled), ranked within the run (ties share
-- a rank).

with

importance as (

    select * from {{ ref('stg_ml__feature_importance') }}

),

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

final as (

    select
        importance.run_id,
        runs.model_label,
        coalesce(runs.data_origin, 'unknown') as data_origin,
        coalesce(runs.is_champion, false) as is_champion,
        runs.finished_at,
        importance.feature,
        importance.importance_mean,
        importance.importance_std,
        -- Features of equal importance share a rank (a model that ignores its features, the
        -- majority class, has every one at 0: all rank 1, not 1 to 15 by name).
        cast(rank() over (
            partition by importance.run_id
            order by importance.importance_mean desc
        ) as integer) as importance_rank,
        importance.repeats,
        importance.validation_rows
    from importance
    inner join runs
        on importance.run_id = runs.run_id

)

select * from final
