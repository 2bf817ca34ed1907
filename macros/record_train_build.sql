{#- Which dbt command built the train split: fct_train_tracks's post-hook records its invocation
    id and start in audit.train_tracks_build, in the model's transaction. Scoring new tracks
    (python_ml/tracks/feature_path.py) compares the feature models as that command's manifest
    has them (python_ml keeps the manifest of its last build) with the models it compiles now:
    a model or macro edited since the champion's data was built is not used to derive features
    for that champion. It also records the `split_seed` var the split's rows were cut with, read
    from int_tracks_split (not the var of this command: a selection such as `dbt build -s
    fct_train_tracks --vars ...` reads the split as it was built before), which training logs on
    every run (python_ml/tracks/data.py). DuckDB only: Spark's warehouse is not scored from. -#}
{% macro record_train_build() %}
    {{- return(adapter.dispatch('record_train_build', 'music_popularity')()) -}}
{% endmacro %}

{% macro default__record_train_build() %}{% endmacro %}

{% macro duckdb__record_train_build() %}
    {%- set split = ref('int_tracks_split') -%}
    {#- A split built before it kept its seed (then the seed is not known: NULL). -#}
    {%- set has_seed = execute and 'split_seed' in (
        adapter.get_columns_in_relation(split) | map(attribute='name') | list
    ) -%}
    create schema if not exists audit;
    create or replace table audit.train_tracks_build as
    select
        '{{ invocation_id }}' as invocation_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as started_at,
        -- The nodes this command built: a selection (dbt build -s fct_train_tracks) may build
        -- the split from older tables than its manifest's SQL says.
        '{{ tojson(selected_resources | list) }}' as selected_resources,
        {% if has_seed -%}
            (select any_value(split_seed) from {{ split }})
        {%- else -%}
            cast(null as varchar)
        {%- endif %} as split_seed
{% endmacro %}
