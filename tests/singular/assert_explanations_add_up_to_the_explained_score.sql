-- Each scored track's contributions plus its baseline equal the score the model itself gave
-- the called class (explained_score, computed apart from the contributions) within 1e-5: exact
-- for the linear model and the trees (1e-6 in the unit tests), by construction for sampled
-- Shapley values (the network's float32 arithmetic differs slightly between batches).

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
where abs(rebuilt_score - explained_score) > 1e-5
