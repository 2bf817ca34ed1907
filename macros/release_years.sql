{#-
    The release years a track or a 2023 song may have: from 1900 to next year (a release
    announced ahead). One definition for the check and for the detail that states it.
-#}
{% macro release_year_range() -%}
    {{ return({'low': 1900, 'high': 'year(current_date) + 1'}) }}
{%- endmacro %}

{#- True when the year is outside release_year_range. -#}
{% macro release_year_out_of_range(column) -%}
    {%- set years = release_year_range() -%}
    {{ column }} not between {{ years.low }} and {{ years.high }}
{%- endmacro %}

{#- The years allowed, as text: `1900 to 2027`. -#}
{% macro release_years_allowed() -%}
    {%- set years = release_year_range() -%}
    '{{ years.low }} to ' || cast({{ years.high }} as {{ dbt.type_string() }})
{%- endmacro %}
