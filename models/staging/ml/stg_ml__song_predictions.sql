with

source as (

    select * from {{ source('ml', 'song_predictions') }}

),

final as (

    select
        song_id,
        run_id,
        task,
        feature_set,
        model_type,
        fold,
        actual_value,
        predicted_value,
        scored_at
    from source

)

select * from final
