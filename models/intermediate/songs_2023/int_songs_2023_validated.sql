-- Every row of spotify-2023.csv with the first reason it cannot be used (NULL when it can):
-- numbers that parse, streams present, percentages and dates in range, then one row per
-- (track, artists) pair (the first valid one in the file). Empty `key` and `in_shazam_charts`
-- are kept.
-- The detail says what was wrong: the text that does not parse, the release date and what is
-- allowed, each value out of its range, the line of the row kept for a duplicated song and
-- the figures in which the duplicate differs from it (the first line is kept whatever its
-- figures: the file says nothing of which line is right).

{#- The months and days a release date may have (its year: release_year_range). -#}
{%- set months, days = (1, 12), (1, 31) %}
{#- What a duplicate is compared with the kept row on: everything but its title and artists. -#}
{%- set compared = ['artist_count', 'released_date', 'streams'] + songs_2023_columns('reach')
    + ['bpm', 'key', 'mode'] + songs_2023_columns('audio') %}

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
                released_month not between {{ months[0] }} and {{ months[1] }}
                or released_day not between {{ days[0] }} and {{ days[1] }}
                or {{ release_year_out_of_range('released_year') }}
                then 'release date out of range'
            when released_date is null then 'unparseable release date'
            when {{ songs_2023_any_value_out_of_range() }} then 'feature out of range'
        end as validation_failure
    from dated

),

deduplicated as (

    select
        *,
        {{ duplicate_of_kept_row('song_key', compared) }}
    from checked

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
        case when is_duplicate then 'duplicate song' else validation_failure end
            as rejection_reason,
        case
            when {{ list_length('unparseable_columns') }} > 0
                then {{ list_join('unparseable_columns', '; ') }}
            when validation_failure = 'missing streams'
                then 'no streams (the streams column is empty)'
            when validation_failure = 'unparseable release date'
                then {{ songs_2023_release_date_text() }} || ' (no such date)'
            when validation_failure = 'release date out of range'
                then {{ songs_2023_release_date_text() }} || ' (allowed: years '
                    || {{ release_years_allowed() }}
                    || ', months {{ months[0] }} to {{ months[1] }}'
                    || ', days {{ days[0] }} to {{ days[1] }})'
            when validation_failure = 'feature out of range'
                then {{ songs_2023_values_out_of_range() }}
            when is_duplicate
                then 'the same track and artists as line '
                    || cast(kept_line as {{ dbt.type_string() }})
                    || coalesce(
                        ', which is kept; this line differs in '
                        || {{ duplicate_differences(compared) }},
                        ''
                    )
        end as rejection_detail
    from deduplicated

)

select * from final
