with

source as (

    select * from {{ source('spotify_600k', 'artists') }}

),

numbered as (

    select
        file_line - 1 as source_row_number,
        *
    from source

),

final as (

    select
        source_row_number,
        nullif(trim(id), '') as artist_id,
        name as artist_name,
        {{ parse_number('trim(followers)', 'double') }} as followers,
        {{ parse_list_literal('genres') }} as genres,
        nullif(trim(genres), '') as genres_raw,
        -- `pop, rock` or a cut-off `['pop'` would parse to no genre, or fewer, without a word.
        (nullif(trim(genres), '') is null or {{ is_list_literal('genres') }}) as genres_parse,
        -- Derived by Spotify from the artist's tracks: leaks the target, never a feature.
        {{ parse_number('trim(popularity)', 'integer') }} as artist_popularity,
        {{ unparseable_columns({'followers': 'double', 'popularity': 'integer'}) }}
            as unparseable_columns

    from numbered

)

select * from final
