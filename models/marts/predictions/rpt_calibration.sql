-- The reliability of the current predictions on the holdout: per class and tenth of
-- probability, the mean predicted probability beside how often the class is the true one.
-- Calibrated probabilities lie on the diagonal (mean_probability = observed_share).
-- Every class of the seed has its ten bins: a bin no track falls in is a row of 0 tracks with
-- no mean or share (on the built-in data no track gets 0.9 or more blazing-hot: that bin was
-- left out, not shown empty), as the confusion matrix shows a pair that never happens.
-- The linter cannot indent the SQL the Jinja loop generates:
-- noqa: disable=LT02

with

probabilities as (

    select * from {{ ref('fct_track_class_probabilities') }}
    where is_true_class is not null

),

classes as (

    select * from {{ ref('popularity_classes') }}

),

bins as (

    {% for probability_bin in range(10) -%}
    select {{ probability_bin }} as probability_bin
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

binned as (

    select
        class_index,
        cast(least(floor(probability * 10), 9) as integer) as probability_bin,
        probability,
        is_true_class
    from probabilities

),

per_bin as (

    select
        class_index,
        probability_bin,
        count(*) as track_count,
        avg(probability) as mean_probability,
        avg(case when is_true_class then cast(1 as double) else 0 end) as observed_share
    from binned
    group by class_index, probability_bin

),

final as (

    select
        cast(classes.class_index as integer) as class_index,
        classes.class_name,
        cast(bins.probability_bin as integer) as probability_bin,
        {{ current_data_origin() }} as data_origin,
        bins.probability_bin / cast(10 as double) as bin_lower,
        (bins.probability_bin + 1) / cast(10 as double) as bin_upper,
        cast(coalesce(per_bin.track_count, 0) as bigint) as track_count,
        per_bin.mean_probability,
        per_bin.observed_share
    from classes
    cross join bins
    left join per_bin
        on
            classes.class_index = per_bin.class_index
            and bins.probability_bin = per_bin.probability_bin

)

select * from final
