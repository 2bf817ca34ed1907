{#-
    The project's vars checked before anything is built (run by `on-run-start`, first): a value
    out of its range was accepted and failed later, far from its cause (`predict_share: 0` built
    an empty predict split that scoring failed on; `max_rejected_share: 2` turned the bad-rows
    guard off without a word). Each wrong var is named with its value and what it must be.
-#}
{% macro check_vars() %}
    {%- set problems = [] %}
    {%- set shares = {
        'predict_share': [var('predict_share'), 'a number above 0 and below 1 (the share of each class held out to score)', false],
        'max_rejected_share': [var('max_rejected_share'), 'a number from 0 to 1 (the share of a raw file\'s rows that may fail to parse)', true],
    } %}
    {%- for name, checked in shares.items() %}
        {%- set value, must, closed = checked %}
        {%- if value is boolean or value is not number
            or (closed and (value < 0 or value > 1))
            or (not closed and (value <= 0 or value >= 1)) %}
            {%- do problems.append(name ~ ' is ' ~ value ~ ': it must be ' ~ must) %}
        {%- endif %}
    {%- endfor %}
    {%- set counts = {
        'split_seed': [var('split_seed'), 0],
        'min_artist_tracks': [var('min_artist_tracks'), 1],
        'drift_min_tracks': [var('drift_min_tracks'), 1],
    } %}
    {%- for name, checked in counts.items() %}
        {%- set value, least = checked %}
        {%- if value is boolean or value is not integer or value < least %}
            {%- do problems.append(name ~ ' is ' ~ value ~ ': it must be a whole number of at least ' ~ least) %}
        {%- endif %}
    {%- endfor %}
    {%- set threshold = var('drift_psi_threshold') %}
    {%- if threshold is boolean or threshold is not number or threshold <= 0 %}
        {%- do problems.append('drift_psi_threshold is ' ~ threshold ~ ': it must be a number above 0') %}
    {%- endif %}
    {%- if var('popularity_required') is not boolean %}
        {%- do problems.append('popularity_required is ' ~ var('popularity_required') ~ ': it must be true or false') %}
    {%- endif %}
    {%- if problems %}
        {{ exceptions.raise_compiler_error(
            'dbt vars out of range: ' ~ problems | join('; ')
            ~ '. Give them in range with --vars (their defaults: dbt_project.yml, vars); nothing was built.'
        ) }}
    {%- endif %}
    {{ return('') }}
{% endmacro %}
