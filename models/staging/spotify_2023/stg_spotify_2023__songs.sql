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
        trim(track_name) as track_name,
        trim({{ adapter.quote('artist(s)_name') }}) as artist_names,
        try_cast(artist_count as integer) as artist_count,
        try_cast(released_year as integer) as released_year,
        try_cast(released_month as integer) as released_month,
        try_cast(released_day as integer) as released_day,
        try_cast(in_spotify_playlists as bigint) as in_spotify_playlists,
        try_cast(in_spotify_charts as integer) as in_spotify_charts,
        try_cast(streams as bigint) as streams,
        try_cast(in_apple_playlists as integer) as in_apple_playlists,
        try_cast(in_apple_charts as integer) as in_apple_charts,
        try_cast(in_deezer_playlists as integer) as in_deezer_playlists,
        try_cast(in_deezer_charts as integer) as in_deezer_charts,
        try_cast(in_shazam_charts as integer) as in_shazam_charts,
        try_cast(bpm as integer) as bpm,
        key,
        mode,
        try_cast({{ adapter.quote('danceability_%') }} as integer) as danceability_pct,
        try_cast({{ adapter.quote('valence_%') }} as integer) as valence_pct,
        try_cast({{ adapter.quote('energy_%') }} as integer) as energy_pct,
        try_cast({{ adapter.quote('acousticness_%') }} as integer) as acousticness_pct,
        try_cast({{ adapter.quote('instrumentalness_%') }} as integer) as instrumentalness_pct,
        try_cast({{ adapter.quote('liveness_%') }} as integer) as liveness_pct,
        try_cast({{ adapter.quote('speechiness_%') }} as integer) as speechiness_pct,
        {{ unparseable_columns(numeric_columns) }} as unparseable_columns

    from unthousanded

)

select * from final
