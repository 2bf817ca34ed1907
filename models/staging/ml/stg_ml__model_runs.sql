with

source as (

    select * from {{ source('ml', 'model_runs') }}

),

final as (

    select
        run_id,
        task,
        model_type,
        feature_set,
        model_type || '/' || feature_set as model_label,
        split_kind,
        status,
        is_champion,
        registered_version,
        started_at,
        finished_at,
        duration_seconds,
        epochs,
        n_train,
        n_validation,
        validation_accuracy,
        validation_macro_f1,
        validation_log_loss,
        holdout_accuracy,
        holdout_macro_f1,
        try_cast(json_extract(metrics_json, '$.time_split.accuracy') as double)
            as time_split_accuracy,
        try_cast(json_extract(metrics_json, '$.time_split.macro_f1') as double)
            as time_split_macro_f1,
        metrics_json,
        features,
        error_message
    from source

)

select * from final
