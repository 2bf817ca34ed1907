{#- Fails on every row whose probability columns are outside [0, 1] or do not sum to 1. -#}
{% test probabilities_sum_to_one(model, columns, tolerance=0.0001) %}

select *
from {{ model }}
where
    abs(({{ columns | join(' + ') }}) - 1) > {{ tolerance }}
    {%- for column in columns %}
    or {{ column }} not between 0 and 1
    {%- endfor %}

{% endtest %}
