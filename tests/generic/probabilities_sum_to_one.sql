{#-
    Fails on every row whose list of class probabilities (`column`, a DOUBLE[]) is empty, has
    a value outside [0, 1], or does not sum to 1.
-#}
{% test probabilities_sum_to_one(model, column, tolerance=0.0001) %}

select *
from {{ model }}
where
    coalesce({{ list_length(column) }}, 0) = 0
    or abs({{ list_sum(column) }} - 1) > {{ tolerance }}
    or {{ list_min(column) }} < 0
    or {{ list_max(column) }} > 1

{% endtest %}
