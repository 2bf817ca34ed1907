-- Every row of spotify-2023.csv with the first reason it cannot be used (NULL when it can):
-- numbers that parse, streams present, percentages and dates in range, then one row per
-- (track, artists) pair (the first in the file). Empty `key` and `in_shazam_charts` are kept.

with

songs as (

    select * from {{ ref('stg_spotify_2023__songs') }}

),

dated as (

    select
        *,
        {{ try_make_date('released_year', 'released_month', 'released_day') }} as released_date
    from songs

),

checked as (

    select
        *,
        case
            when {{ list_length('unparseable_columns') }} > 0 then 'unparseable number'
            when streams is null then 'missing streams'
            when
                released_month not between 1 and 12
                or released_day not between 1 and 31
                or released_year not between 1900 and year(current_date) + 1
                then 'release date out of range'
            when released_date is null then 'unparseable release date'
            when
                streams < 0
                {% for column in songs_2023_columns('audio') -%}
                    or {{ column }} not between 0 and 100
                {% endfor -%}
                then 'feature out of range'
        end as validation_failure
    from dated

),

final as (

    select
        source_row_number,
        song_key,
        track_name,
        artist_names,
        artist_count,
        released_year,
        released_month,
        released_day,
        released_date,
        streams,
        {{ songs_2023_columns('reach') | join(',\n        ') }},
        bpm,
        key,
        mode,
        {{ songs_2023_columns('audio') | join(',\n        ') }},
        case
            when validation_failure is not null then validation_failure
            when row_number() over (
                    partition by song_key
                    order by validation_failure is not null, source_row_number
                ) > 1 then 'duplicate song'
        end as rejection_reason,
        case
            when {{ list_length('unparseable_columns') }} > 0
                then {{ list_join('unparseable_columns', '; ') }}
        end as rejection_detail
    from checked

)

select * from final
