{#- A key of several columns: fails once for every combination of `columns` that occurs more
    than once, and once for a combination with a NULL part (each part of a key is known; the
    test let NULL parts pass, and several key columns have no not_null test of their own). -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having
    count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}

{% endtest %}
