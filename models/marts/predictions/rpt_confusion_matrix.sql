-- The holdout confusion matrix, computed in SQL: every (true, predicted) pair of classes,
-- zero when it never happens, with its share of the true class (NULL for a class of no tracks).

with

classes as (

    select * from {{ ref('popularity_classes') }}

),

predictions as (

    select * from {{ ref('fct_track_predictions') }}
    where true_class is not null

),

pairs as (

    select
        true_classes.class_index as true_index,
        true_classes.class_name as true_class,
        predicted_classes.class_index as predicted_index,
        predicted_classes.class_name as predicted_class
    from classes as true_classes
    cross join classes as predicted_classes

),

counts as (

    select
        true_class,
        predicted_class,
        count(*) as track_count
    from predictions
    group by true_class, predicted_class

),

final as (

    select
        pairs.true_index,
        pairs.true_class,
        pairs.predicted_index,
        pairs.predicted_class,
        coalesce(counts.track_count, 0) as track_count,
        -- NULL for a true class with no tracks (nothing scored, or a class too small to have
        -- any in the predict split): its row's shares cannot add up to 1, and 0s read as a
        -- class never called right.
        coalesce(counts.track_count, 0)
        / nullif(sum(coalesce(counts.track_count, 0)) over (partition by pairs.true_class), 0)
            as share_of_true_class,
        {{ current_data_origin() }} as data_origin
    from pairs
    left join counts
        on
            pairs.true_class = counts.true_class
            and pairs.predicted_class = counts.predicted_class

)

select * from final
