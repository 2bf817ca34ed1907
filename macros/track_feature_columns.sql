{#-
    The feature columns of the split tables, in one place: fct_train_tracks and
    fct_predict_tracks select exactly these, so the two sides can never drift apart.
-#}
{% macro track_feature_columns(relation_alias) -%}
    {%- set columns = [
        'release_year', 'duration_ms', 'explicit', 'danceability', 'energy', 'key',
        'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness', 'liveness',
        'valence', 'tempo', 'time_signature', 'artist_followers', 'artist_genre_count'
    ] -%}
    {%- for column in columns -%}
        {{ relation_alias }}.{{ column }}{{ ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
