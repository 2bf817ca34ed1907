-- The reliability of the current predictions on the holdout: per class and tenth of
-- probability, the mean predicted probability beside how often the class is the true one.
-- Calibrated probabilities lie on the diagonal (mean_probability = observed_share).

with

probabilities as (

    select * from {{ ref('fct_track_class_probabilities') }}
    where is_true_class is not null

),

binned as (

    select
        data_origin,
        class_index,
        class_name,
        cast(least(floor(probability * 10), 9) as integer) as probability_bin,
        probability,
        is_true_class
    from probabilities

),

final as (

    select
        class_index,
        class_name,
        probability_bin,
        data_origin,
        probability_bin / cast(10 as double) as bin_lower,
        (probability_bin + 1) / cast(10 as double) as bin_upper,
        count(*) as track_count,
        avg(probability) as mean_probability,
        avg(case when is_true_class then cast(1 as double) else 0 end) as observed_share
    from binned
    group by class_index, class_name, probability_bin, data_origin

)

select * from final
