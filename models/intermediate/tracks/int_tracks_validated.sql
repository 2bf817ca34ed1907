-- Every row of tracks.csv with the first reason it cannot be used (NULL when it can).
-- Rules, in order: an id, numbers that parse, artist ids and names that parse, a popularity,
-- features inside their documented ranges, a release date that parses, then one row per track id
-- (the first valid one in the file: macro duplicate_of_kept_row).
-- `python -m python_ml predict` runs these same rules on new tracks with the var
-- popularity_required false: new tracks have no popularity yet. The features' ranges are
-- defined once, in macro track_feature_ranges; the detail names the columns that fail.

with

tracks as (

    select * from {{ ref('stg_spotify_600k__tracks') }}

),

described as (

    -- The features outside their range and those missing, each list once: empty text when
    -- there is none (the rules below test that, and the detail shows it).
    select
        *,
        {{ features_out_of_range() }} as features_out_of_range,
        {{ features_missing() }} as features_missing
    from tracks

),

checked as (

    select
        *,
        case
            when track_id is null then 'missing id'
            when {{ list_length('unparseable_columns') }} > 0 then 'unparseable number'
            when not artist_ids_parse then 'unparseable artist ids'
            when not artist_names_parse then 'unparseable artist names'
            when {{ var('popularity_required') }} and popularity is null
                then 'missing popularity'
            when {{ var('popularity_required') }} and popularity not between 0 and 100
                then 'popularity out of range'
            when features_out_of_range != '' then 'feature out of range'
            when features_missing != '' then 'missing feature'
            when release_date is null then 'unparseable release date'
            when {{ release_year_out_of_range('release_year') }}
                then 'release date out of range'
        end as validation_failure,
        case
            when track_id is null then 'no id (the id column is empty)'
            -- Every value to fix at once: those that do not parse, then those out of range.
            when {{ list_length('unparseable_columns') }} > 0
                then concat_ws(
                        '; ',
                        {{ list_join('unparseable_columns', '; ') }},
                        nullif(features_out_of_range, '')
                    )
            when not artist_ids_parse
                then artist_ids_raw
                    || ' (not a list of ids of letters and digits, as [''id1'', ''id2''])'
            when not artist_names_parse
                then artist_names_raw
                    || ' (not a list of quoted names, as [''Name 1'', "Name 2"])'
            when {{ var('popularity_required') }} and popularity is null then 'no popularity'
            when {{ var('popularity_required') }} and popularity not between 0 and 100
                then 'popularity ' || cast(popularity as {{ dbt.type_string() }})
                    || ' (allowed: 0 to 100)'
            when features_out_of_range != '' then features_out_of_range
            when features_missing != '' then features_missing
            when release_date is null
                then
                    case
                        when nullif(release_date_raw, '') is null then 'no release date'
                        when release_date_precision is null
                            then release_date_raw
                                || ' (not a date written YYYY-MM-DD, YYYY-MM or YYYY)'
                        else release_date_raw || ' (no such date)'
                    end
            when {{ release_year_out_of_range('release_year') }}
                then release_date_raw || ' (allowed: ' || {{ release_years_allowed() }} || ')'
        end as validation_detail
    from described

),

deduplicated as (

    select
        *,
        {{ duplicate_of_kept_row('track_id') }}
    from checked

),

final as (

    select
        source_row_number,
        track_id,
        track_name,
        popularity,
        artist_names,
        artist_ids,
        release_date_raw,
        release_date,
        release_date_precision,
        release_year,
        {{ track_features() }},
        case when is_duplicate then 'duplicate id' else validation_failure end
            as rejection_reason,
        case
            when is_duplicate
                then track_id || ' (the same id as line '
                    || cast(kept_line as {{ dbt.type_string() }}) || ')'
            else validation_detail
        end as rejection_detail
    from deduplicated

)

select * from final
