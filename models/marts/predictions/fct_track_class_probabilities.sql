-- The current predictions in long form: one row per scored track and class, with the class's
-- calibrated probability and whether it is the class called and the true class. Class names
-- and order come from the popularity_classes seed.

with

predictions as (

    select * from {{ ref('stg_ml__track_predictions') }}

),

current_predictions as (

    select
        track_id,
        run_id,
        data_origin,
        predicted_class,
        true_class
    from {{ ref('fct_track_predictions') }}

),

classes as (

    select * from {{ ref('popularity_classes') }}

),

unnested as (

    -- One row per track and seed class, the class's probability taken by its position.
    select
        predictions.track_id,
        predictions.run_id,
        cast(classes.class_index as integer) as class_index,
        {{ list_element('predictions.class_probabilities', 'classes.class_index + 1') }}
            as probability
    from predictions
    inner join current_predictions
        on
            predictions.track_id = current_predictions.track_id
            and predictions.run_id = current_predictions.run_id
    cross join classes

),

final as (

    select
        unnested.track_id,
        unnested.run_id,
        current_predictions.data_origin,
        unnested.class_index,
        classes.class_name,
        unnested.probability,
        current_predictions.predicted_class = classes.class_name as is_predicted_class,
        current_predictions.true_class = classes.class_name as is_true_class
    from unnested
    inner join classes
        on unnested.class_index = classes.class_index
    inner join current_predictions
        on unnested.track_id = current_predictions.track_id

)

select * from final
