{#-
    The feature columns of the split tables, in one place: fct_train_tracks and
    fct_predict_tracks select exactly these, so the two sides can never drift apart. The
    audio features come from macro track_feature_ranges, their one definition.
-#}
{% macro track_feature_columns(relation_alias) -%}
    {{ relation_alias }}.release_year,
        {{ track_features(relation_alias) }},
        {{ relation_alias }}.artist_followers,
        {{ relation_alias }}.artist_genre_count
{%- endmacro %}
