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
{#- Spark: Java's `$` also matches before a last line end (`61\n` matched a whole number). -#}
{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern }})\\z')
{%- endmacro %}

{#-
    The text with a whole number's zero fraction of one or two zeros dropped (`61.0`, `-3.00`
    -> `61`, `-3`), any other text as it is: `1.000` is left, as it may be a thousand written
    with a dot. The same on both engines, where a cast differs: DuckDB casts `61.0` to
    the integer 61, Spark's try_cast gives NULL. (No backslash in the pattern: Spark's string
    literals would take it as an escape.)
-#}
{% macro drop_zero_fraction(expr) -%}
    {{ return(adapter.dispatch('drop_zero_fraction', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__drop_zero_fraction(expr) -%}
    regexp_replace({{ expr }}, '^([+-]?[0-9]+)[.]0{1,2}$', '\1')
{%- endmacro %}
{% macro spark__drop_zero_fraction(expr) -%}
    regexp_replace({{ expr }}, '^([+-]?[0-9]+)[.]0{1,2}$', '$1')
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

{#- The element at a 1-based position of a list (NULL past its end). -#}
{% macro list_element(expr, position) -%}
    {{ return(adapter.dispatch('list_element', 'music_popularity')(expr, position)) }}
{%- endmacro %}
{% macro default__list_element(expr, position) -%} {{ expr }}[{{ position }}] {%- endmacro %}
{% macro spark__list_element(expr, position) -%}
    try_element_at({{ expr }}, {{ position }})
{%- endmacro %}

{#- The sum of a list of numbers (0 for an empty list on Spark, NULL on DuckDB). -#}
{% macro list_sum(expr) -%}
    {{ return(adapter.dispatch('list_sum', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_sum(expr) -%} list_sum({{ expr }}) {%- endmacro %}
{% macro spark__list_sum(expr) -%}
    aggregate({{ expr }}, cast(0 as double), (total, item) -> total + item)
{%- endmacro %}

{#- The least element of a list of numbers. -#}
{% macro list_min(expr) -%}
    {{ return(adapter.dispatch('list_min', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_min(expr) -%} list_min({{ expr }}) {%- endmacro %}
{% macro spark__list_min(expr) -%} array_min({{ expr }}) {%- endmacro %}

{#- The greatest element of a list of numbers. -#}
{% macro list_max(expr) -%}
    {{ return(adapter.dispatch('list_max', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_max(expr) -%} list_max({{ expr }}) {%- endmacro %}
{% macro spark__list_max(expr) -%} array_max({{ expr }}) {%- endmacro %}

{#- An aggregate: the values of `value` as a list in the order of `order_by`. -#}
{% macro ordered_list(value, order_by) -%}
    {{ return(adapter.dispatch('ordered_list', 'music_popularity')(value, order_by)) }}
{%- endmacro %}
{% macro default__ordered_list(value, order_by) -%}
    list({{ value }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__ordered_list(value, order_by) -%}
    transform(
        array_sort(collect_list(struct({{ order_by }} as sort_key, {{ value }} as item))),
        entry -> entry.item
    )
{%- endmacro %}

{#- A map from a list of keys and a list of values. -#}
{% macro map_from_lists(keys, values) -%}
    {{ return(adapter.dispatch('map_from_lists', 'music_popularity')(keys, values)) }}
{%- endmacro %}
{% macro default__map_from_lists(keys, values) -%} map({{ keys }}, {{ values }}) {%- endmacro %}
{% macro spark__map_from_lists(keys, values) -%}
    map_from_arrays({{ keys }}, {{ values }})
{%- endmacro %}

{#- A number inside a JSON text, by JSON path (NULL when absent). -#}
{% macro json_number(expr, path) -%}
    {{ return(adapter.dispatch('json_number', 'music_popularity')(expr, path)) }}
{%- endmacro %}
{% macro default__json_number(expr, path) -%}
    try_cast(json_extract({{ expr }}, '{{ path }}') as double)
{%- endmacro %}
{% macro spark__json_number(expr, path) -%}
    try_cast(get_json_object({{ expr }}, '{{ path }}') as double)
{%- endmacro %}

{#- Each element of a list of text, trimmed of surrounding spaces. -#}
{% macro list_trim(expr) -%}
    {{ return(adapter.dispatch('list_trim', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_trim(expr) -%} list_transform({{ expr }}, lambda x: trim(x)) {%- endmacro %}
{% macro spark__list_trim(expr) -%} transform({{ expr }}, x -> trim(x)) {%- endmacro %}

{#- True when some element of a list of text is not made of letters and digits only. -#}
{% macro list_has_non_alphanumeric(expr) -%}
    {{ return(adapter.dispatch('list_has_non_alphanumeric', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__list_has_non_alphanumeric(expr) -%}
    (len(list_filter({{ expr }}, lambda x: not regexp_full_match(x, '[0-9A-Za-z]+'))) > 0)
{%- endmacro %}
{% macro spark__list_has_non_alphanumeric(expr) -%}
    (size(filter({{ expr }}, x -> not (x rlike '^[0-9A-Za-z]+$'))) > 0)
{%- endmacro %}

{#- The list of the `fractions` quantiles of `expr` (an aggregate). -#}
{% macro quantile_list(expr, fractions) -%}
    {{ return(adapter.dispatch('quantile_list', 'music_popularity')(expr, fractions)) }}
{%- endmacro %}
{% macro default__quantile_list(expr, fractions) -%}
    quantile_cont({{ expr }}, [{{ fractions | join(', ') }}])
{%- endmacro %}
{% macro spark__quantile_list(expr, fractions) -%}
    percentile({{ expr }}, array({{ fractions | join(', ') }}))
{%- endmacro %}

{#- The distinct values of a list, ascending. -#}
{% macro sorted_distinct(expr) -%}
    {{ return(adapter.dispatch('sorted_distinct', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__sorted_distinct(expr) -%} list_sort(list_distinct({{ expr }})) {%- endmacro %}
{% macro spark__sorted_distinct(expr) -%} array_sort(array_distinct({{ expr }})) {%- endmacro %}

{#- How many elements of a list of numbers are below `value` (or equal to it, `inclusive`). -#}
{% macro count_below(expr, value, inclusive=false) -%}
    {{ return(adapter.dispatch('count_below', 'music_popularity')(expr, value, inclusive)) }}
{%- endmacro %}
{% macro default__count_below(expr, value, inclusive=false) -%}
    len(list_filter({{ expr }}, lambda x: x {{ '<=' if inclusive else '<' }} {{ value }}))
{%- endmacro %}
{% macro spark__count_below(expr, value, inclusive=false) -%}
    size(filter({{ expr }}, x -> x {{ '<=' if inclusive else '<' }} {{ value }}))
{%- endmacro %}

{#- An aggregate: the values of a text expression over the group's rows, as a sorted list. -#}
{% macro sorted_list_agg(expr) -%}
    {{ return(adapter.dispatch('sorted_list_agg', 'music_popularity')(expr)) }}
{%- endmacro %}
{% macro default__sorted_list_agg(expr) -%} list_sort(list({{ expr }})) {%- endmacro %}
{% macro spark__sorted_list_agg(expr) -%} array_sort(collect_list({{ expr }})) {%- endmacro %}
