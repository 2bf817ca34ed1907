-- Every finished tracks-task run, best validation macro-F1 first, with holdout and
-- forward-in-time figures beside it.

with

runs as (

    select * from {{ ref('stg_ml__model_runs') }}
    where task = 'tracks' and status = 'FINISHED'

),

final as (

    select
        rank() over (order by validation_macro_f1 desc) as leaderboard_rank,
        run_id,
        model_label,
        model_type,
        feature_set,
        is_champion,
        validation_accuracy,
        validation_macro_f1,
        validation_log_loss,
        holdout_accuracy,
        holdout_macro_f1,
        time_split_accuracy,
        time_split_macro_f1,
        epochs,
        duration_seconds,
        n_train,
        finished_at
    from runs

)

select * from final
