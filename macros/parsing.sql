{#- Parsing helpers shared by the staging models. -#}

{#-
    A Python list literal of strings, as in tracks.csv's `artists` and `id_artists`
    (e.g. `['Uli']`, `["Guns N' Roses", 'Earth, Wind & Fire']`), as a DuckDB list of text.
    Each element may be single- or double-quoted and may contain escaped quotes.
-#}
{% macro parse_list_literal(column) -%}
    list_transform(
        regexp_extract_all({{ column }}, '''(?:[^''\\]|\\.)*''|"(?:[^"\\]|\\.)*"'),
        lambda quoted: regexp_replace(quoted[2:-2], '\\(.)', '\1', 'g')
    )
{%- endmacro %}

{#- How precise a release date is: `day` (YYYY-MM-DD), `month` (YYYY-MM), `year` (YYYY). -#}
{% macro release_date_precision(column) -%}
    case
        when regexp_full_match({{ column }}, '\d{4}-\d{2}-\d{2}') then 'day'
        when regexp_full_match({{ column }}, '\d{4}-\d{2}') then 'month'
        when regexp_full_match({{ column }}, '\d{4}') then 'year'
    end
{%- endmacro %}

{#- The release date as a DATE, the first day of the month or year when less precise. -#}
{% macro parse_release_date(column) -%}
    try_cast(
        case {{ release_date_precision(column) }}
            when 'day' then {{ column }}
            when 'month' then {{ column }} || '-01'
            when 'year' then {{ column }} || '-01-01'
        end as date
    )
{%- endmacro %}

{#-
    The names of the columns whose raw text is present but is not a value of its type.
    `columns` maps a raw column name to a DuckDB type. Integers must be written as integers
    (`61`, not `61.5`, `6.1e1` or `0x3D`: a cast would round them silently); other numbers
    must be finite (`inf`, `nan` and `1e400` are not data).
-#}
{% macro unparseable_columns(columns) -%}
    list_filter(
        [
            {%- for name, type in columns.items() %}
            case
                when nullif(trim("{{ name }}"), '') is not null
                    and (
                        try_cast(trim("{{ name }}") as {{ type }}) is null
                        {%- if type in ('integer', 'bigint') %}
                        or not regexp_full_match(trim("{{ name }}"), '[+-]?[0-9]+')
                        {%- elif type == 'double' %}
                        or not isfinite(try_cast(trim("{{ name }}") as double))
                        {%- endif %}
                    )
                    then '{{ name }}'
            end{{ "," if not loop.last }}
            {%- endfor %}
        ],
        lambda name: name is not null
    )
{%- endmacro %}
