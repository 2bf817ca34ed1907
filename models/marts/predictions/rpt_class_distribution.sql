-- Per class: how many predict-side tracks truly are in it and how many the model put in it.

with

classes as (

    select * from {{ ref('popularity_classes') }}

),

predictions as (

    select * from {{ ref('fct_track_predictions') }}

),

true_counts as (

    select
        true_class as class_name,
        count(*) as true_count
    from predictions
    group by true_class

),

predicted_counts as (

    select
        predicted_class as class_name,
        count(*) as predicted_count
    from predictions
    group by predicted_class

),

final as (

    select
        classes.class_index,
        classes.class_name,
        coalesce(true_counts.true_count, 0) as true_count,
        coalesce(predicted_counts.predicted_count, 0) as predicted_count,
        -- A share of no tracks (nothing scored yet) is NULL, not a 0 that reads as a class
        -- no track is in: the shares of a scored holdout add up to 1.
        coalesce(true_counts.true_count, 0)
        / nullif(sum(coalesce(true_counts.true_count, 0)) over (), 0) as true_share,
        coalesce(predicted_counts.predicted_count, 0)
        / nullif(sum(coalesce(predicted_counts.predicted_count, 0)) over (), 0)
            as predicted_share,
        {{ current_data_origin() }} as data_origin
    from classes
    left join true_counts
        on classes.class_name = true_counts.class_name
    left join predicted_counts
        on classes.class_name = predicted_counts.class_name

)

select * from final
