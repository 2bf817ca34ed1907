{#-
    The hit-rate columns shared by the hit-rate marts: how often the model calls the highest
    class of the popularity_classes seed (the "hit"), the share of hits the calibrated
    probabilities expect (the estimate of how many there are: the decision rule is tuned to find
    hits, not to match their share), how often a track truly is one, the same
    for "not the lowest class", and accuracy. Use inside a grouped select over
    fct_track_predictions.
-#}
{% macro prediction_rates() -%}
    {%- set classes = ref('popularity_classes') -%}
    {%- set hit = "(select max_by(class_name, class_index) from " ~ classes ~ ")" -%}
    {%- set coldest = "(select min_by(class_name, class_index) from " ~ classes ~ ")" -%}
    avg(case when predicted_class = {{ hit }} then cast(1 as double) else 0 end) as predicted_hit_rate,
    avg(hit_probability) as expected_hit_rate,
    {#- A track whose true class is unknown (predictions older than the split) counts in no
        rate about the true class, as the app counts it. #}
    avg(case when true_class = {{ hit }} then cast(1 as double)
             when true_class is not null then 0 end) as actual_hit_rate,
    avg(case when predicted_class != {{ coldest }} then cast(1 as double) else 0 end)
        as predicted_not_cold_rate,
    avg(case when true_class != {{ coldest }} then cast(1 as double)
             when true_class is not null then 0 end) as actual_not_cold_rate,
    avg(case when is_correct then cast(1 as double) when is_correct is not null then 0 end)
        as accuracy
{%- endmacro %}
