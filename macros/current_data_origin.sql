{#-
    Where the data behind the current predictions came from (fct_track_predictions.data_origin:
    kaggle, generated or user files; 'unknown' before anything is scored), for the marts that
    summarise them: every prediction mart says which data its figures are about.
-#}
{% macro current_data_origin() -%}
    (select coalesce(max(data_origin), 'unknown') from {{ ref('fct_track_predictions') }})
{%- endmacro %}
