{#-
    Which rows repeat a key, and the file line of the row kept for it: of the rows with the
    same key, the first valid one in file order is kept (a row that fails validation never
    makes a later valid one a duplicate). Two columns for a model's select list, over a
    relation with `validation_failure` and `source_row_number`: `is_duplicate` (true for a
    valid row after the kept one) and `kept_line` (the kept row's line, which a duplicate's
    rejection detail names). Both use the same window, which the engine computes once.
-#}
{% macro duplicate_of_kept_row(key) -%}
    validation_failure is null
        and row_number() over (
            partition by {{ key }}
            order by validation_failure is not null, source_row_number
        ) > 1 as is_duplicate,
        first_value(source_row_number) over (
            partition by {{ key }}
            order by validation_failure is not null, source_row_number
        ) + 1 as kept_line
{%- endmacro %}
