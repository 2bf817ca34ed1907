{#- Parsing helpers shared by the staging models. -#}

{#-
    A Python list literal of strings, as in tracks.csv's `artists` and `id_artists`
    (e.g. `['Uli']`, `["Guns N' Roses", 'Earth, Wind & Fire']`), as a DuckDB list of text.
    Each element may be single- or double-quoted and may contain escaped quotes.
-#}
{% macro parse_list_literal(column) -%}
    {{ return(adapter.dispatch('parse_list_literal', 'music_popularity')(column)) }}
{%- endmacro %}

{% macro default__parse_list_literal(column) -%}
    list_transform(
        regexp_extract_all({{ column }}, '''(?:[^''\\]|\\.)*''|"(?:[^"\\]|\\.)*"'),
        lambda quoted: regexp_replace(quoted[2:-2], '\\(.)', '\1', 'g')
    )
{%- endmacro %}

{#- Spark: string literals take backslash escapes, so every regex backslash is doubled. -#}
{% macro spark__parse_list_literal(column) -%}
    transform(
        regexp_extract_all({{ column }}, '\'(?:[^\'\\\\]|\\\\.)*\'|"(?:[^"\\\\]|\\\\.)*"', 0),
        quoted -> regexp_replace(substring(quoted, 2, length(quoted) - 2), '\\\\(.)', '$1')
    )
{%- endmacro %}

{#-
    True when the text is a whole Python list literal of quoted strings (`[]`, `['a']`,
    `['a', "b"]`), as `id_artists` must be: `['abc` (cut off) or `abc` is not, and would
    otherwise parse to an empty or partial list without a word.
-#}
{% macro is_list_literal(column) -%}
    {{ return(adapter.dispatch('is_list_literal', 'music_popularity')(column)) }}
{%- endmacro %}

{% macro default__is_list_literal(column) -%}
    regexp_full_match(
        trim({{ column }}),
        '\[\s*(?:(?:''(?:[^''\\]|\\.)*''|"(?:[^"\\]|\\.)*")(?:\s*,\s*(?:''(?:[^''\\]|\\.)*''|"(?:[^"\\]|\\.)*"))*)?\s*\]'
    )
{%- endmacro %}

{% macro spark__is_list_literal(column) -%}
    (trim({{ column }}) rlike '^\\[\\s*(?:(?:\'(?:[^\'\\\\]|\\\\.)*\'|"(?:[^"\\\\]|\\\\.)*")(?:\\s*,\\s*(?:\'(?:[^\'\\\\]|\\\\.)*\'|"(?:[^"\\\\]|\\\\.)*"))*)?\\s*\\]$')
{%- endmacro %}

{#- How precise a release date is: `day` (YYYY-MM-DD), `month` (YYYY-MM), `year` (YYYY). -#}
{% macro release_date_precision(column) -%}
    case
        when {{ regex_full_match(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }} then 'day'
        when {{ regex_full_match(column, '[0-9]{4}-[0-9]{2}') }} then 'month'
        when {{ regex_full_match(column, '[0-9]{4}') }} then 'year'
    end
{%- endmacro %}

{#- The release date as a DATE, the first day of the month or year when less precise.
    `precision`: the column's release_date_precision, when the model has it already. -#}
{% macro parse_release_date(column, precision=none) -%}
    try_cast(
        case {{ precision or release_date_precision(column) }}
            when 'day' then {{ column }}
            when 'month' then {{ column }} || '-01'
            when 'year' then {{ column }} || '-01-01'
        end as date
    )
{%- endmacro %}

{#-
    A raw text's value as `type` (a DuckDB type), NULL when it is not one (see
    unparseable_columns). An integer is a whole number, written with or without a zero
    fraction of one or two zeros: `61`, `61.0` and `61.00` are 61 (Python's json, pandas and
    spreadsheets write whole numbers so), on DuckDB and Spark alike; `1.000` is not (a
    thousand written with a dot?), nor `6.1e1`, `0x3D` or `1_000` (DuckDB's cast reads 61, 61
    and 1000). Other numbers are decimals, with an exponent or not (`0.5`, `.5`, `5.`, `1e-05`):
    not `1_000` (DuckDB reads 1000), `1.5d`, `61f` or `0x1p3` (Spark reads 1.5, 61 and 8), so
    both engines read the same texts. A text that unparseable_columns names has no value for a
    range check to name again (`tempo 1_000` was also said to be `tempo 1000.0 (allowed: 0 to
    300)`); `inf` and `nan` have none either, and `1e400` is infinite, which they leave out.
-#}
{% macro parse_number(value, type) -%}
    {%- if type in ('integer', 'bigint') -%}
        case when {{ regex_full_match(value, whole_number_pattern()) }}
            then try_cast({{ drop_zero_fraction(value) }} as {{ type }}) end
    {%- else -%}
        case when {{ regex_full_match(value, decimal_number_pattern()) }}
            then try_cast({{ value }} as {{ type }}) end
    {%- endif -%}
{%- endmacro %}

{#- A whole number as parse_number reads one: digits, with a zero fraction of one or two zeros. -#}
{% macro whole_number_pattern() -%} [+-]?[0-9]+([.]0{1,2})? {%- endmacro %}

{#- Digits in groups of three after a dot (`1.000`, `201.000`, `1.500.000`): perhaps a number
    written with dots as thousands separators, which parse_number does not guess at. -#}
{% macro dot_grouped_digits_pattern() -%} [+-]?[0-9]{1,3}([.][0-9]{3})+ {%- endmacro %}

{#- A decimal number as parse_number reads one, with an exponent or not. -#}
{% macro decimal_number_pattern() -%} [+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? {%- endmacro %}

{#-
    The columns whose raw text is present but is not a value of its type, each with its text
    (trimmed; cut at 30 characters) and what it must be: `popularity 61.5 (not a whole
    number written in digits)`, `tempo inf (not a finite number)`. `columns` maps a raw column
    name to a DuckDB type. Integers must be whole numbers written in digits (`61` or `61.0`, not
    `61.5`, `1.000`, `6.1e1` or `0x3D`: a cast would round them silently or guess; `6.1e4` and
    Excel's `2.01E+05` are whole, but are not written in digits, hence the words; `1.000` and
    `201.000` are said to be digits grouped by dots, perhaps thousands separators); other numbers
    must be finite (`inf`, `nan` and `1e400` are not data). The rejection detail joins them
    with `; ` (a text may hold commas).
    `texts` / `values` (optional): per column, an expression of its trimmed text / of its
    parsed value (parse_number of that text) that the model has computed already, so that the
    check reads them instead of trimming and casting again (each repeated call is bound and
    planned again: the scoring service plans the tracks' models on every batch).
-#}
{% macro unparseable_columns(columns, texts=none, values=none) -%}
    {%- set checks = [] -%}
    {%- for name, type in columns.items() -%}
        {%- set value = (texts or {}).get(name, 'trim(' ~ adapter.quote(name) ~ ')') -%}
        {%- set parsed = (values or {}).get(name, parse_number(value, type)) -%}
        {%- set check -%}
            case
                when nullif({{ value }}, '') is not null
                    and (
                        {{ parsed }} is null
                        {%- if type == 'double' %}
                        or not {{ is_finite(parsed) }}
                        {%- endif %}
                    )
                    then '{{ name }} '
                        || case when length({{ value }}) > 30 then substr({{ value }}, 1, 30) || '...'
                            else {{ value }} end
                        {%- if type in ('integer', 'bigint') %}
                        {#- Digits that do not fit the type: a whole number out of its range;
                            digits grouped by dots: perhaps thousands separators. #}
                        || case when {{ regex_full_match(value, whole_number_pattern()) }}
                            then ' (a whole number out of the integer range)'
                            when {{ regex_full_match(value, dot_grouped_digits_pattern()) }}
                            then ' (digits grouped by dots: thousands separators? write the '
                                || 'whole number in digits alone)'
                            else ' ({{ unparseable_means(type) }})' end
                        {%- else %}
                        || ' ({{ unparseable_means(type) }})'
                        {%- endif %}
            end
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor -%}
    {{ non_null_list(checks) }}
{%- endmacro %}

{#- What a number that does not parse as `type` is not, in words (unparseable_columns). -#}
{% macro unparseable_means(type) -%}
    {%- if type in ('integer', 'bigint') -%}
        not a whole number written in digits
    {%- elif type == 'double' -%}
        not a finite number
    {%- else -%}
        not a {{ type }}
    {%- endif -%}
{%- endmacro %}

{#-
    A name with the characters its source had already lost shown as lost: spotify-2023.csv holds
    UTF-8's replacement character (bytes EF BF BD) where an accent was, and some of those cut
    short where a name was truncated (EF BF, or EF after one). Read as latin-1 (the file is not
    UTF-8) they read `ï¿½`, `ï¿` and `ï`; each becomes the replacement character itself (U+FFFD,
    `�`), which says a character is missing. A file read as UTF-8 has none of these sequences.
-#}
{% macro lost_characters(expr) -%}
    regexp_replace(regexp_replace(replace({{ expr }}, 'ï¿½', '�'), 'ï¿$', '�'), '�ï$', '��')
{%- endmacro %}
