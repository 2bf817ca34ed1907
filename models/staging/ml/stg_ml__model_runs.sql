with

source as (

    select * from {{ source('ml', 'model_runs') }}

),

final as (

    select
        run_id,
        task,
        coalesce(model_name, model_type) as model_name,
        model_type,
        feature_set,
        coalesce(model_name, model_type) || '/' || feature_set as model_label,
        split_kind,
        status,
        coalesce(data_origin, 'unknown') as data_origin,
        data_fingerprint,
        split_seed,
        is_champion,
        registered_version,
        selection_rule,
        started_at,
        finished_at,
        reused_at,
        duration_seconds,
        epochs,
        n_train,
        n_validation,
        temperature,
        decision_weights,
        validation_accuracy,
        validation_macro_f1,
        {{ json_number('metrics_json', '$.validation.macro_f1_low') }}
            as validation_macro_f1_low,
        {{ json_number('metrics_json', '$.validation.macro_f1_high') }}
            as validation_macro_f1_high,
        validation_argmax_accuracy,
        validation_argmax_macro_f1,
        validation_log_loss,
        validation_brier,
        validation_ece,
        validation_confident_calls,
        validation_confident_errors,
        validation_confident_expected_errors,
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
        {{ json_number('metrics_json', '$.time_split.accuracy') }}
            as time_split_accuracy,
        {{ json_number('metrics_json', '$.time_split.macro_f1') }}
            as time_split_macro_f1,
        {{ json_number('metrics_json', '$.new_artist.accuracy') }}
            as new_artist_accuracy,
        {{ json_number('metrics_json', '$.new_artist.macro_f1') }}
            as new_artist_macro_f1,
        metrics_json,
        features,
        error_message
    from source

)

select * from final
