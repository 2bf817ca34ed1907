{#- The 2023 file's measures, in one place: int_songs_2023_validated checks and carries them,
    fct_songs_2023 selects them. `audio`: the audio percentages (0-100); `reach`: playlist and
    chart counts, measured at the same time as the streams. -#}
{% macro songs_2023_columns(kind) %}
    {%- set columns = {
        'audio': [
            'danceability_pct', 'valence_pct', 'energy_pct', 'acousticness_pct',
            'instrumentalness_pct', 'liveness_pct', 'speechiness_pct'
        ],
        'reach': [
            'in_spotify_playlists', 'in_spotify_charts', 'in_apple_playlists', 'in_apple_charts',
            'in_deezer_playlists', 'in_deezer_charts', 'in_shazam_charts'
        ],
    } -%}
    {{ return(columns[kind]) }}
{% endmacro %}

{#- A song's release date as its parts read (`2023-2-30`; `?` for a part missing). -#}
{% macro songs_2023_release_date_text() -%}
    coalesce(cast(released_year as {{ dbt.type_string() }}), '?') || '-' || coalesce(cast(released_month as {{ dbt.type_string() }}), '?') || '-' || coalesce(cast(released_day as {{ dbt.type_string() }}), '?')
{%- endmacro %}

{#- A song's ranges, once: each checked column with its allowed values as SQL and in words
    (the check of int_songs_2023_validated's 'feature out of range' and its detail). -#}
{% macro songs_2023_value_ranges() -%}
    {%- set ranges = [('streams', '>= 0', '0 or more')] -%}
    {%- for column in songs_2023_columns('audio') -%}
        {%- do ranges.append((column, 'between 0 and 100', '0 to 100')) -%}
    {%- endfor -%}
    {#- The key and mode as the study reads them (python_ml/songs/study.py: KEYS, Major):
        any other text (`H`, `major`) became a missing key or a minor mode without a word.
        Empty stays allowed (Kaggle's file leaves some keys empty). -#}
    {%- set keys = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'] -%}
    {%- set key_list = "in ('" ~ keys | join("', '") ~ "')" -%}
    {%- do ranges.append(('key', key_list, keys | join(', ') ~ ' or empty')) -%}
    {%- do ranges.append(('mode', "in ('Major', 'Minor')", 'Major, Minor or empty')) -%}
    {{ return(ranges) }}
{%- endmacro %}

{#- True when any of a song's values is out of its range. -#}
{% macro songs_2023_any_value_out_of_range() -%}
    ({% for column, allowed, _ in songs_2023_value_ranges() %}{{ "or " if not loop.first }}not ({{ column }} {{ allowed }}) {% endfor %})
{%- endmacro %}

{#- Each of a song's values out of its range with what is allowed, `; ` between them, named
    as the file's columns are (`streams -5 (allowed: 0 or more); danceability_% 120 (allowed: 0
    to 100)`), as an unparseable value is. -#}
{% macro songs_2023_values_out_of_range() -%}
    concat_ws('; '{% for column, allowed, words in songs_2023_value_ranges() %}, case when not ({{ column }} {{ allowed }}) then '{{ column | replace('_pct', '_%') }} ' || cast({{ column }} as {{ dbt.type_string() }}) || ' (allowed: {{ words }})' end{% endfor %})
{%- endmacro %}
