{%- set numeric_columns = {
    'popularity': 'integer', 'duration_ms': 'bigint', 'explicit': 'integer',
    'danceability': 'double', 'energy': 'double', 'key': 'integer', 'loudness': 'double',
    'mode': 'integer', 'speechiness': 'double', 'acousticness': 'double',
    'instrumentalness': 'double', 'liveness': 'double', 'valence': 'double',
    'tempo': 'double', 'time_signature': 'integer'
} -%}
{#- New tracks (var popularity_required false: scoring) have no popularity yet: a value there
    that is not a number is not checked, as any other value of it is not. -#}
{%- set checked_numbers = {} -%}
{%- for column, type in numeric_columns.items() -%}
    {%- if column != 'popularity' or var('popularity_required') -%}
        {%- do checked_numbers.update({column: type}) -%}
    {%- endif -%}
{%- endfor -%}
{#- Their trimmed texts and parsed values, as the CTEs below name them: the checks read these
    (unparseable_columns), not trim() and a cast again. -#}
{%- set checked_texts, checked_values = {}, {} -%}
{%- for column in checked_numbers -%}
    {%- do checked_texts.update({column: column ~ '_text'}) -%}
    {%- do checked_values.update({column: adapter.quote(column)}) -%}
{%- endfor %}

with

source as (

    select * from {{ source('spotify_600k', 'tracks') }}

),

numbered as (

    -- The loader keeps each row's file line: source_row_number + 1 is that line.
    select
        file_line - 1 as source_row_number,
        *
    from source

),

trimmed as (

    -- Each raw text the rules read, trimmed once (a padded value is the same value): what
    -- follows reads these, not trim() again (the scoring service binds and plans these
    -- models for every batch it scores, each repeated call again).
    select
        source_row_number,
        nullif(trim(id), '') as track_id,
        coalesce(name, '') as track_name,
        artists,
        id_artists,
        nullif(trim(artists), '') as artist_names_raw,
        nullif(trim(id_artists), '') as artist_ids_raw,
        {%- for column in numeric_columns %}
            trim({{ adapter.quote(column) }}) as {{ column }}_text,
        {%- endfor %}
        trim(release_date) as release_date_raw
    from numbered

),

renamed as (

    select
        source_row_number,
        track_id,
        track_name,
        {%- for column, type in numeric_columns.items() %}
            {{ parse_number(column ~ '_text', type) }} as {{ column }},
        {%- endfor %}
        -- A list literal as Kaggle writes it, or one plain name (a new track sent to the
        -- service or predict: `Adele`).
        case
            when artist_names_raw is null or left(artist_names_raw, 1) = '['
                then {{ parse_list_literal('artists') }}
            else {{ non_null_list(['artist_names_raw']) }}
        end as artist_names,
        -- Ids are trimmed (a padded id is the same id); the raw texts stay to be checked.
        {{ list_trim(parse_list_literal('id_artists')) }} as artist_ids,
        artist_names_raw,
        artist_ids_raw,
        {%- for column in checked_numbers %}
            {{ column }}_text,
        {%- endfor %}
        release_date_raw,
        {{ release_date_precision('release_date_raw') }} as release_date_precision
    from trimmed

),

checked as (

    select
        source_row_number,
        track_id,
        track_name,
        {%- for column in numeric_columns %}
            {{ column }},
        {%- endfor %}
        artist_names,
        artist_ids,
        artist_names_raw,
        -- A cut-off list (`['Name`) parsed to no names, without a word.
        artist_names_raw is null
        or left(artist_names_raw, 1) != '['
        or {{ is_list_literal('artist_names_raw') }} as artist_names_parse,
        artist_ids_raw,
        artist_ids_raw is null
        or (
            {{ is_list_literal('artist_ids_raw') }}
            and not {{ list_has_non_alphanumeric('artist_ids') }}
        ) as artist_ids_parse,
        release_date_raw,
        release_date_precision,
        {{ parse_release_date('release_date_raw', 'release_date_precision') }} as release_date,
        {{ unparseable_columns(checked_numbers, checked_texts, checked_values) }}
            as unparseable_columns
    from renamed

),

final as (

    select
        *,
        cast(year(release_date) as bigint) as release_year
    from checked

)

select * from final
