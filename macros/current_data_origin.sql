{#-
    Where the data behind the current predictions came from (fct_track_predictions.data_origin:
    kaggle, generated or user files; 'unknown' before anything is scored), for the marts that
    summarise them: every prediction mart says which data its figures are about.
-#}
{% macro current_data_origin() -%}
    (select coalesce(max(data_origin), 'unknown') from {{ ref('fct_track_predictions') }})
{%- endmacro %}

{#-
    Where the raw files behind a report came from when they were loaded (raw.load_log), for the
    marts built on the clean data alone (exploration, quality): one word when every file of
    `source_tables` (e.g. ['spotify_600k.tracks', 'spotify_600k.artists']) shares an origin
    (`generated`), else each file's, by file name (`artists.csv: generated, tracks.csv: user
    files`): the wording python_ml records with each model run (python_ml/raw/origin.py,
    data_origin), which tests/python/test_dbt_project.py holds the two to.
-#}
{% macro raw_data_origin(source_tables) -%}
    (
        select
            case
                when count(*) = 0 then null  -- no file loaded: the marts' tests say so
                when count(distinct data_origin) = 1 then min(data_origin)
                else {{ list_join(sorted_list_agg("file_name || ': ' || data_origin"), ', ') }}
            end
        from {{ ref('stg_loader__load_log') }}
        where source_table in ('{{ source_tables | join("', '") }}')
    )
{%- endmacro %}
