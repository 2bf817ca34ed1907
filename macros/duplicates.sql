{#-
    Which rows repeat a key, and the file line of the row kept for it: of the rows with the
    same key, the first valid one in file order is kept (a row that fails validation never
    makes a later valid one a duplicate). Columns for a model's select list, over a
    relation with `validation_failure` and `source_row_number`: `is_duplicate` (true for a
    valid row after the kept one) and `kept_line` (the kept row's line, which a duplicate's
    rejection detail names); and for each column of `compared`, `kept__<column>`: its value
    in the kept row (what duplicate_differences compares). All use the same window, which the
    engine computes once.
-#}
{% macro duplicate_of_kept_row(key, compared=[]) -%}
    {%- set kept_first -%}
        over (
            partition by {{ key }}
            order by validation_failure is not null, source_row_number
        )
    {%- endset -%}
    validation_failure is null
        and row_number() {{ kept_first }} > 1 as is_duplicate,
        first_value(source_row_number) {{ kept_first }} + 1 as kept_line
    {%- for column in compared %},
        first_value({{ column }}) {{ kept_first }} as kept__{{ column }}
    {%- endfor %}
{%- endmacro %}

{#-
    A duplicate's figures that are not those of the row kept for its key (columns `compared`,
    read beside their `kept__` twins from duplicate_of_kept_row), named as the file names them
    (`_pct` as `_%`, the date as `release date`): `streams 432702334 (kept: 130655803), bpm 166
    (kept: 94)`; an empty value is `empty`. NULL when every one is the same: the rows are then
    copies of one another.
-#}
{% macro duplicate_differences(compared) -%}
    nullif(concat_ws(', '
    {%- for column in compared %},
        case
            when {{ column }} is distinct from kept__{{ column }}
                then '{{ column | replace('_pct', '_%') | replace('released_date', 'release date') }} '
                    || coalesce(cast({{ column }} as {{ dbt.type_string() }}), 'empty')
                    || ' (kept: '
                    || coalesce(cast(kept__{{ column }} as {{ dbt.type_string() }}), 'empty')
                    || ')'
        end
    {%- endfor %}), '')
{%- endmacro %}
