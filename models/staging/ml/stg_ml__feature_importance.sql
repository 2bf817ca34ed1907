with

source as (

    select * from {{ source('ml', 'feature_importance') }}

),

final as (

    select
        run_id,
        feature,
        importance_mean,
        importance_std,
        repeats,
        validation_rows,
        baseline_log_loss
    from source

)

select * from final
