{#- The documented range of each audio feature of tracks.csv: the one definition that
    int_tracks_validated checks, and whose failing columns it names in rejection_detail.
    duration_ms: 1 s to 100 min. The real file's tracks run from 3.3 s to under 95 min; a value
    past that is a unit error (10^12 ms would be 31 years), not a track. -#}
{% macro track_feature_ranges() %}
    {{ return([
        ('danceability', 'between 0 and 1'),
        ('energy', 'between 0 and 1'),
        ('speechiness', 'between 0 and 1'),
        ('acousticness', 'between 0 and 1'),
        ('instrumentalness', 'between 0 and 1'),
        ('liveness', 'between 0 and 1'),
        ('valence', 'between 0 and 1'),
        ('loudness', 'between -60 and 10'),
        ('tempo', 'between 0 and 300'),
        ('key', 'between -1 and 11'),
        ('mode', 'in (0, 1)'),
        ('explicit', 'in (0, 1)'),
        ('time_signature', 'between 0 and 7'),
        ('duration_ms', 'between 1000 and 6000000'),
    ]) }}
{% endmacro %}

{#- The audio features' names, comma separated: the models that carry them select this list. -#}
{% macro track_features(relation_alias=none) -%}
    {%- for column, allowed in track_feature_ranges() -%}
        {{ relation_alias ~ '.' if relation_alias }}{{ column }}{{ ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The features outside their range, each with its value and what is allowed, separated by
    "; " (concat_ws skips NULLs): "danceability 50.0 (allowed: 0 to 1); tempo 400.0 (allowed:
    0 to 300)"; empty text when every present feature is in its range (a missing one is not
    out of it). A value that is not finite (`inf`) is left out: the staging model names it as
    not a number (unparseable_columns), so a row with one is rejected for that first. -#}
{% macro features_out_of_range() -%}
    concat_ws('; '{% for column, allowed in track_feature_ranges() %}, case when not ({{ column }} {{ allowed }}) and {{ is_finite('cast(' ~ column ~ ' as double)') }} then '{{ column }} ' || cast({{ column }} as string) || ' (allowed: {{ allowed_in_words(allowed) }})' end{% endfor %})
{%- endmacro %}

{#- A range of track_feature_ranges in words: "between 0 and 1" -> "0 to 1", "in (0, 1)" ->
    "one of 0, 1". -#}
{% macro allowed_in_words(allowed) -%}
    {%- if allowed.startswith('between ') -%}
        {{ allowed[8:] | replace(' and ', ' to ') }}
    {%- elif allowed.startswith('in (') -%}
        one of {{ allowed[4:-1] }}
    {%- else -%}
        {{ allowed }}
    {%- endif -%}
{%- endmacro %}

{#- The missing features, comma separated (concat_ws skips NULLs); empty text when none is. -#}
{% macro features_missing() -%}
    concat_ws(', '{% for column, allowed in track_feature_ranges() %}, case when {{ column }} is null then '{{ column }}' end{% endfor %})
{%- endmacro %}
