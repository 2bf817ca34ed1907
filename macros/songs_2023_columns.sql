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
