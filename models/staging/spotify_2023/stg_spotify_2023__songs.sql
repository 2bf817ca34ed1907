{%- set numeric_columns = {
    'artist_count': 'integer', 'released_year': 'integer', 'released_month': 'integer',
    'released_day': 'integer', 'in_spotify_playlists': 'bigint', 'in_spotify_charts': 'integer',
    'streams': 'bigint', 'in_apple_playlists': 'integer', 'in_apple_charts': 'integer',
    'in_deezer_playlists': 'integer', 'in_deezer_charts': 'integer',
    'in_shazam_charts': 'integer', 'bpm': 'integer', 'danceability_%': 'integer',
    'valence_%': 'integer', 'energy_%': 'integer', 'acousticness_%': 'integer',
    'instrumentalness_%': 'integer', 'liveness_%': 'integer', 'speechiness_%': 'integer'
} -%}

with

source as (

    select * from {{ source('spotify_2023', 'songs') }}

),

numbered as (

    select
        file_line - 1 as source_row_number,
        *
    from source

),

unthousanded as (

    -- Numbers such as "2,445" carry a thousands separator: drop it before typing.
    select
        source_row_number,
        track_name,
        {{ adapter.quote('artist(s)_name') }},
        nullif(trim(key), '') as key,
        nullif(trim(mode), '') as mode,
    {%- for column in numeric_columns %}
        replace(trim({{ adapter.quote(column) }}), ',', '') as {{ adapter.quote(column) }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from numbered

),

final as (

    select
        source_row_number,
        -- A stable key: the file has no id, and duplicates share title and artists.
        md5(
            coalesce(trim(track_name), '') || '|'
            || coalesce(trim({{ adapter.quote('artist(s)_name') }}), '')
        ) as song_key,
        {{ lost_characters('trim(track_name)') }} as track_name,
        {{ lost_characters('trim(' ~ adapter.quote('artist(s)_name') ~ ')') }} as artist_names,
        {{ parse_number('artist_count', 'integer') }} as artist_count,
        {{ parse_number('released_year', 'integer') }} as released_year,
        {{ parse_number('released_month', 'integer') }} as released_month,
        {{ parse_number('released_day', 'integer') }} as released_day,
        {{ parse_number('in_spotify_playlists', 'bigint') }} as in_spotify_playlists,
        {{ parse_number('in_spotify_charts', 'integer') }} as in_spotify_charts,
        {{ parse_number('streams', 'bigint') }} as streams,
        {{ parse_number('in_apple_playlists', 'integer') }} as in_apple_playlists,
        {{ parse_number('in_apple_charts', 'integer') }} as in_apple_charts,
        {{ parse_number('in_deezer_playlists', 'integer') }} as in_deezer_playlists,
        {{ parse_number('in_deezer_charts', 'integer') }} as in_deezer_charts,
        {{ parse_number('in_shazam_charts', 'integer') }} as in_shazam_charts,
        {{ parse_number('bpm', 'integer') }} as bpm,
        key,
        mode,
        {{ parse_number(adapter.quote('danceability_%'), 'integer') }} as danceability_pct,
        {{ parse_number(adapter.quote('valence_%'), 'integer') }} as valence_pct,
        {{ parse_number(adapter.quote('energy_%'), 'integer') }} as energy_pct,
        {{ parse_number(adapter.quote('acousticness_%'), 'integer') }} as acousticness_pct,
        {{ parse_number(adapter.quote('instrumentalness_%'), 'integer') }} as instrumentalness_pct,
        {{ parse_number(adapter.quote('liveness_%'), 'integer') }} as liveness_pct,
        {{ parse_number(adapter.quote('speechiness_%'), 'integer') }} as speechiness_pct,
        {{ unparseable_columns(numeric_columns) }} as unparseable_columns

    from unthousanded

)

select * from final
