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

renamed as (

    select
        source_row_number,
        nullif(trim(id), '') as track_id,
        coalesce(name, '') as track_name,
        {%- for column, type in numeric_columns.items() %}
            {{ parse_number('trim(' ~ column ~ ')', type) }} as {{ column }},
        {%- endfor %}
        {{ parse_list_literal('artists') }} as artist_names,
        -- Ids are trimmed (a padded id is the same id); the raw text stays to be checked.
        {{ list_trim(parse_list_literal('id_artists')) }} as artist_ids,
        nullif(trim(id_artists), '') as artist_ids_raw,
        nullif(trim(id_artists), '') is null
        or (
            {{ is_list_literal('id_artists') }}
            and not {{ list_has_non_alphanumeric(list_trim(parse_list_literal('id_artists'))) }}
        ) as artist_ids_parse,
        trim(release_date) as release_date_raw,
        {{ release_date_precision('trim(release_date)') }} as release_date_precision,
        {{ parse_release_date('trim(release_date)') }} as release_date,
        {{ unparseable_columns(checked_numbers) }} as unparseable_columns

    from numbered

),

final as (

    select
        *,
        cast(year(release_date) as bigint) as release_year
    from renamed

)

select * from final
