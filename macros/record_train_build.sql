{#- Which dbt command built the train split: fct_train_tracks's post-hook records its invocation
    id and start in audit.train_tracks_build, in the model's transaction. Scoring new tracks
    (python_ml/tracks/feature_path.py) compares the feature models as that command's manifest
    has them (python_ml keeps the manifest of its last build) with the models it compiles now:
    a model or macro edited since the champion's data was built is not used to derive features
    for that champion. DuckDB only: Spark's warehouse is not scored from. -#}
{% macro record_train_build() %}
    {{- return(adapter.dispatch('record_train_build', 'music_popularity')()) -}}
{% endmacro %}

{% macro default__record_train_build() %}{% endmacro %}

{% macro duckdb__record_train_build() %}
    create schema if not exists audit;
    create or replace table audit.train_tracks_build as
    select
        '{{ invocation_id }}' as invocation_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as started_at,
        -- The nodes this command built: a selection (dbt build -s fct_train_tracks) may build
        -- the split from older tables than its manifest's SQL says.
        '{{ tojson(selected_resources | list) }}' as selected_resources
{% endmacro %}
