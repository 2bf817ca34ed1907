-- Every finished tracks-task run, best validation macro-F1 first, with its calibration, the
-- forward-in-time and new-artist checks, and (for the champion, computed when it scored) the
-- holdout figures. The runs compared (`is_current`): the champion, and the latest run of each
-- other model and feature set on the champion's data (its train-table fingerprint), latest by
-- when a training last fitted or reused it; an earlier run of the same one (fitted again after
-- a change of data, config or code) and a run on other data (another split seed, other raw
-- files: its validation figure is of other rows) stay listed, unranked.

with

runs as (

    select * from {{ ref('stg_ml__model_runs') }}
    where task = 'tracks' and status = 'FINISHED'

),

champion_data as (

    -- The data the champion learnt from (none before a champion is promoted: every run's).
    select
        count(*) > 0 as has_champion,
        max(data_fingerprint) as data_fingerprint
    from runs
    where is_champion

),

of_data as (

    select
        runs.*,
        (
            not champion_data.has_champion
            or runs.data_fingerprint is not distinct from champion_data.data_fingerprint
        ) as of_champion_data
    from runs
    cross join champion_data

),

flagged as (

    select
        *,
        of_champion_data
        and row_number() over (
            partition by model_label, of_champion_data
            -- A run reused by a later training is that training's run of the model (its
            -- fit may be older than a run fitted in between and then replaced).
            order by is_champion desc, coalesce(reused_at, finished_at) desc, run_id asc
        ) = 1 as is_current
    from of_data

),

final as (

    select
        cast(
            case
                when is_current
                    then rank() over (partition by is_current order by validation_macro_f1 desc)
            end as bigint
        ) as leaderboard_rank,
        is_current,
        run_id,
        model_label,
        model_name,
        model_type,
        feature_set,
        data_origin,
        split_seed,
        is_champion,
        selection_rule,
        validation_accuracy,
        validation_macro_f1,
        validation_macro_f1_low,
        validation_macro_f1_high,
        validation_argmax_accuracy,
        validation_argmax_macro_f1,
        validation_log_loss,
        validation_brier,
        validation_ece,
        validation_confident_calls,
        validation_confident_errors,
        validation_confident_expected_errors,
        temperature,
        decision_weights,
        time_split_accuracy,
        time_split_macro_f1,
        new_artist_accuracy,
        new_artist_macro_f1,
        holdout_accuracy,
        holdout_macro_f1,
        holdout_argmax_accuracy,
        holdout_argmax_macro_f1,
        holdout_log_loss,
        holdout_brier,
        holdout_ece,
        holdout_confident_calls,
        holdout_confident_errors,
        holdout_confident_expected_errors,
        epochs,
        duration_seconds,
        n_train,
        n_validation,
        finished_at
    from flagged

)

select * from final
