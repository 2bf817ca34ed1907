-- Each scored track's contributions plus its baseline equal the score they explain (within
-- 1e-6): the explanations in the marts are the model's own arithmetic, not an approximation.

with

per_track as (

    select
        track_id,
        run_id,
        max(explanation_baseline) + sum(contribution) as rebuilt_score,
        max(explained_score) as explained_score
    from {{ ref('fct_track_prediction_explanations') }}
    group by track_id, run_id

)

select *
from per_track
where abs(rebuilt_score - explained_score) > 1e-6
