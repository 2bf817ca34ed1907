-- Holdout precision, recall and F1 per class, from the SQL confusion matrix.

with

matrix as (

    select * from {{ ref('rpt_confusion_matrix') }}

),

per_true_class as (

    select
        true_index as class_index,
        true_class as class_name,
        sum(track_count)::bigint as support,
        sum(case when predicted_class = true_class then track_count else 0 end)::bigint
            as true_positives
    from matrix
    group by true_index, true_class

),

per_predicted_class as (

    select
        predicted_class as class_name,
        sum(track_count)::bigint as predicted_count
    from matrix
    group by predicted_class

),

final as (

    select
        per_true_class.class_index,
        per_true_class.class_name,
        per_true_class.support,
        per_predicted_class.predicted_count,
        per_true_class.true_positives,
        -- A class the model never calls has precision 0, one it misses has recall 0 (as
        -- scikit-learn counts them); a class with no tracks either way (nothing scored yet)
        -- has no figures at all, rather than zeros that read as a failing model.
        case when per_true_class.support + per_predicted_class.predicted_count > 0 then
                coalesce(
                    per_true_class.true_positives / nullif(per_predicted_class.predicted_count, 0),
                    0
                )
        end as class_precision,
        case when per_true_class.support + per_predicted_class.predicted_count > 0 then
                coalesce(per_true_class.true_positives / nullif(per_true_class.support, 0), 0)
        end as class_recall,
        case when per_true_class.support + per_predicted_class.predicted_count > 0 then
                2 * per_true_class.true_positives
                / (per_predicted_class.predicted_count + per_true_class.support)
        end as f1,
        {{ current_data_origin() }} as data_origin
    from per_true_class
    inner join per_predicted_class
        on per_true_class.class_name = per_predicted_class.class_name

)

select * from final
