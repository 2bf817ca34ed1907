-- Every row of artists.csv with the reason it cannot be used (NULL when it can): an id,
-- followers that parse and are not negative, genres that are a list literal (or blank), one
-- row per artist id (the first valid one);
-- the detail says what was wrong (the text that does not parse, the followers, the line of
-- the row kept for a duplicated id).

{#- The fewest followers an artist may have (the check and the detail that states it). -#}
{%- set min_followers = 0 %}

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
            when not genres_parse then 'unparseable genres'
            when followers < {{ min_followers }} then 'feature out of range'
        end as validation_failure
    from artists

),

deduplicated as (

    select
        *,
        {{ duplicate_of_kept_row('artist_id') }}
    from checked

),

final as (

    select
        source_row_number,
        artist_id,
        artist_name,
        followers,
        genres,
        {{ list_length('genres') }} as genre_count,
        case when is_duplicate then 'duplicate id' else validation_failure end
            as rejection_reason,
        case
            when artist_id is null then 'no id (the id column is empty)'
            when {{ list_length('unparseable_columns') }} > 0
                then {{ list_join('unparseable_columns', '; ') }}
            when validation_failure = 'unparseable genres' then genres_raw
            when validation_failure = 'feature out of range'
                then 'followers ' || cast(followers as {{ dbt.type_string() }})
                    || ' (allowed: {{ min_followers }} or more)'
            when is_duplicate
                then artist_id || ' (the same id as line '
                    || cast(kept_line as {{ dbt.type_string() }}) || ')'
        end as rejection_detail
    from deduplicated

)

select * from final
