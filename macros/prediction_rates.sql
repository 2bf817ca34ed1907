{#-
    The hit-rate columns shared by the hit-rate marts: how often the model says blazing-hot,
    how often a track truly is, the same for "not ice-cold", and accuracy. Use inside a
    grouped select over fct_track_predictions.
-#}
{% macro prediction_rates() -%}
    avg(case when predicted_class = 'blazing_hot' then 1.0 else 0.0 end) as predicted_hit_rate,
    avg(case when true_class = 'blazing_hot' then 1.0 else 0.0 end) as actual_hit_rate,
    avg(case when predicted_class != 'ice_cold' then 1.0 else 0.0 end)
        as predicted_not_cold_rate,
    avg(case when true_class != 'ice_cold' then 1.0 else 0.0 end) as actual_not_cold_rate,
    avg(case when is_correct then 1.0 else 0.0 end) as accuracy
{%- endmacro %}
