with

source as (

    select * from {{ source('ml', 'track_explanations') }}

),

final as (

    select
        track_id,
        run_id,
        feature,
        feature_value,
        contribution,
        contribution_rank,
        scored_at
    from source

)

select * from final
