{#-
    The project's vars checked before dbt builds anything (the first `on-run-start` hook, which
    dbt renders for every command that parses the project: build, test, compile, docs, ...): a
    value out of its range was accepted and failed later, far from its cause (`predict_share: 0`
    built an empty predict split that scoring failed on; `max_rejected_share: 2` turned the
    bad-rows guard off without a word). Each wrong var is named with its value as given (text in
    quotes) and what it must be.
-#}
{% macro check_vars() %}
    {%- set problems = [] %}
    {%- set shares = {
        'predict_share': [var('predict_share'), 'a number above 0 and below 1 (the share of each class held out to score)', false],
        'max_rejected_share': [var('max_rejected_share'), 'a number from 0 to 1 (the share of a raw file\'s rows that may fail to parse)', true],
    } %}
    {%- for name, checked in shares.items() %}
        {%- set value, must, closed = checked %}
        {%- if value is boolean or value is not number or value != value
            or (closed and (value < 0 or value > 1))
            or (not closed and (value <= 0 or value >= 1)) %}
            {%- do problems.append(name ~ ' is ' ~ tojson(value) ~ ': it must be ' ~ must) %}
        {%- endif %}
    {%- endfor %}
    {#- whole numbers: the split's seed is any (it is hashed as text); the counts from 0 #}
    {%- set counts = {
        'split_seed': [var('split_seed'), none],
        'min_artist_tracks': [var('min_artist_tracks'), 0],
        'drift_min_tracks': [var('drift_min_tracks'), 0],
    } %}
    {%- for name, checked in counts.items() %}
        {%- set value, least = checked %}
        {%- if value is boolean or value is not integer or (least is not none and value < least) %}
            {%- do problems.append(name ~ ' is ' ~ tojson(value) ~ ': it must be a whole number'
                ~ ((' of at least ' ~ least) if least is not none else '')) %}
        {%- endif %}
    {%- endfor %}
    {%- set threshold = var('drift_psi_threshold') %}
    {%- if threshold is boolean or threshold is not number or threshold != threshold or threshold <= 0 %}
        {%- do problems.append('drift_psi_threshold is ' ~ tojson(threshold) ~ ': it must be a number above 0') %}
    {%- endif %}
    {%- if var('popularity_required') is not boolean %}
        {%- do problems.append('popularity_required is ' ~ tojson(var('popularity_required')) ~ ': it must be true or false') %}
    {%- endif %}
    {%- if problems %}
        {{ exceptions.raise_compiler_error(
            'dbt vars out of range: ' ~ problems | join('; ')
            ~ '. Give them in range (--vars, or vars in dbt_project.yml); nothing was built.'
        ) }}
    {%- endif %}
    {{ return('') }}
{% endmacro %}
