-- Every row of artists.csv with the reason it cannot be used (NULL when it can): an id,
-- followers that parse, one row per artist id (the first in the file).

with

artists as (

    select * from {{ ref('stg_spotify_600k__artists') }}

),

checked as (

    select
        *,
        case
            when artist_id is null then 'missing id'
            when {{ list_length('unparseable_columns') }} > 0 then 'unparseable number'
            when followers < 0 then 'feature out of range'
        end as validation_failure
    from artists

),

final as (

    select
        source_row_number,
        artist_id,
        artist_name,
        followers,
        genres,
        {{ list_length('genres') }} as genre_count,
        case
            when validation_failure is not null then validation_failure
            when row_number() over (
                    partition by artist_id
                    order by validation_failure is not null, source_row_number
                ) > 1 then 'duplicate id'
        end as rejection_reason,
        case
            when {{ list_length('unparseable_columns') }} > 0
                then {{ list_join('unparseable_columns', '; ') }}
        end as rejection_detail
    from checked

)

select * from final
