{#-
    The few SQL expressions that differ between the project's two targets, DuckDB (dev) and
    Spark (`--target spark`): each model calls these, so no model is written twice. dbt's own
    cross-database macros (dbt.safe_cast, dbt.split_part, dbt.datediff, dbt.hash, ...) cover
    the rest.
-#}

{#- The number of elements of a list (array). -#}
{% macro list_length(expr) -%}
    {{ return(adapter.dispatch('list_length', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_length(expr) -%} len({{ expr }}) {%- endmacro %}
{% macro spark__list_length(expr) -%} cast(size({{ expr }}) as bigint) {%- endmacro %}

{#- The first element of a list, NULL when it is empty. -#}
{% macro list_first(expr) -%}
    {{ return(adapter.dispatch('list_first', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_first(expr) -%} {{ expr }}[1] {%- endmacro %}
{% macro spark__list_first(expr) -%} try_element_at({{ expr }}, 1) {%- endmacro %}

{#- The last element of a list. -#}
{% macro list_last(expr) -%}
    {{ return(adapter.dispatch('list_last', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_last(expr) -%} {{ expr }}[-1] {%- endmacro %}
{% macro spark__list_last(expr) -%} try_element_at({{ expr }}, -1) {%- endmacro %}

{#- A list of text joined with a separator. -#}
{% macro list_join(expr, separator) -%}
    {{ return(adapter.dispatch('list_join', 'music_popularity')(expr, separator)) }}
{%- endmacro %}
{% macro default__list_join(expr, separator) -%}
    array_to_string({{ expr }}, '{{ separator }}')
{%- endmacro %}
{% macro spark__list_join(expr, separator) -%}
    array_join({{ expr }}, '{{ separator }}')
{%- endmacro %}

{#- The non-NULL values among SQL expressions `items`, as a list. -#}
{% macro non_null_list(items) -%}
    {{ return(adapter.dispatch('non_null_list', 'music_popularity')(items)) }}
{%- endmacro %}
{% macro default__non_null_list(items) -%}
    list_filter([{{ items | join(', ') }}], lambda item: item is not null)
{%- endmacro %}
{% macro spark__non_null_list(items) -%}
    filter(array({{ items | join(', ') }}), item -> item is not null)
{%- endmacro %}

{#- True when the whole text matches a regular expression (no backslashes in `pattern`). -#}
{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'music_popularity')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}
{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}

{#- True when a double is a finite number (not NaN, not infinite). -#}
{% macro is_finite(expr) -%}
    {{ return(adapter.dispatch('is_finite', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__is_finite(expr) -%} isfinite({{ expr }}) {%- endmacro %}
{% macro spark__is_finite(expr) -%}
    (not isnan({{ expr }}) and abs({{ expr }}) != double('infinity'))
{%- endmacro %}

{#- A date from year, month and day, NULL when they make no date (e.g. February 30). -#}
{% macro try_make_date(year, month, day) -%}
    {{ return(adapter.dispatch('try_make_date', 'music_popularity')(year, month, day)) }}
{%- endmacro %}
{% macro default__try_make_date(year, month, day) -%}
    try(make_date({{ year }}, {{ month }}, {{ day }}))
{%- endmacro %}
{% macro spark__try_make_date(year, month, day) -%}
    try_to_date(
        format_string('%04d-%02d-%02d', {{ year }}, {{ month }}, {{ day }}), 'yyyy-MM-dd'
    )
{%- endmacro %}

{#- The continuous `fraction` quantile of `expr` over the whole result, as a window. -#}
{% macro quantile_over_all(expr, fraction) -%}
    {{ return(adapter.dispatch('quantile_over_all', 'music_popularity')(expr, fraction)) }}
{%- endmacro %}
{% macro default__quantile_over_all(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }}) over ()
{%- endmacro %}
{% macro spark__quantile_over_all(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }}) over ()
{%- endmacro %}
