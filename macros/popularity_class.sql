{#-
    The popularity class of a 0-100 popularity, from the `popularity_classes` seed.
    Change the thresholds in the seed, not here: every model uses this macro.
-#}
{% macro popularity_class(popularity) -%}
    (
        select max(classes.class_name)
        from {{ ref('popularity_classes') }} as classes
        where {{ popularity }} between classes.min_popularity and classes.max_popularity
    )
{%- endmacro %}
