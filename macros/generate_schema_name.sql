{#-
    Plain schema names: a model configured with `+schema: marts` lands in `marts`, not in
    `main_marts`. The ML package and analysts name these schemas directly.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
