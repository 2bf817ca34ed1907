-- Pearson correlation of each feature with the target: popularity for the tracks, log(streams)
-- for the 2023 songs. Computed in SQL so the chart reads it as is: one pass over each table
-- (one row of correlations), then one row per feature (portable across DuckDB and Spark).
-- Each row's data_origin is that of the files its figure reads: tracks.csv's for the tracks'
-- own columns, tracks.csv's and artists.csv's for the artist's followers (a generated
-- artists.csv beside a user's real tracks marks that bar alone), the 2023 file's for the songs.
-- The linter cannot indent the SQL the Jinja loops generate:
-- noqa: disable=LT02

{%- set track_features = {
    'danceability': 'danceability', 'energy': 'energy', 'valence': 'valence',
    'tempo': 'tempo', 'loudness': 'loudness', 'speechiness': 'speechiness',
    'acousticness': 'acousticness', 'instrumentalness': 'instrumentalness',
    'liveness': 'liveness', 'duration_ms': 'duration_ms', 'explicit': 'explicit',
    'release_year': 'release_year', 'log_artist_followers': 'ln(artist_followers + 1)'
} %}
{#- The correlations whose expression reads a column of artists.csv (var artist_features: the
    columns int_tracks_enriched takes from it, by the tracks' artist ids). -#}
{%- set from_artists = [] %}
{%- for feature, expression in track_features.items() %}
    {%- if var('artist_features') | select('in', expression) | list %}
        {%- do from_artists.append(feature) %}
    {%- endif %}
{%- endfor %}
{%- set song_features = {
    'danceability': 'danceability_pct', 'energy': 'energy_pct', 'valence': 'valence_pct',
    'tempo': 'bpm', 'speechiness': 'speechiness_pct', 'acousticness': 'acousticness_pct',
    'instrumentalness': 'instrumentalness_pct', 'liveness': 'liveness_pct',
    'release_year': 'released_year', 'spotify_playlists': 'in_spotify_playlists',
    'apple_playlists': 'in_apple_playlists', 'deezer_playlists': 'in_deezer_playlists'
} %}

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

songs as (

    select * from {{ ref('fct_songs_2023') }}

),

track_correlations as (

    select
        {% for feature, expression in track_features.items() -%}
        corr({{ expression }}, popularity) as {{ feature }}{{ "," if not loop.last }}
        {% endfor %}
    from tracks

),

tracks_origin as (

    select
        {{ raw_data_origin(['spotify_600k.tracks']) }} as own_columns_origin,
        {{ raw_data_origin(['spotify_600k.tracks', 'spotify_600k.artists']) }}
            as with_artists_origin

),

songs_origin as (

    select {{ raw_data_origin(['spotify_2023.songs']) }} as data_origin

),

song_correlations as (

    select
        {% for feature, expression in song_features.items() -%}
        corr({{ expression }}, log_streams) as {{ feature }}{{ "," if not loop.last }}
        {% endfor %}
    from songs

),

final as (

    {% for feature in track_features -%}
    select
        'tracks' as dataset,
        'popularity' as target,
        '{{ feature }}' as feature,
        {{ feature }} as correlation,
        tracks_origin.{{
            'with_artists_origin' if feature in from_artists else 'own_columns_origin'
        }} as data_origin
    from track_correlations
    cross join tracks_origin
    union all
    {% endfor -%}
    {% for feature in song_features -%}
    select
        'songs_2023' as dataset,
        'log_streams' as target,
        '{{ feature }}' as feature,
        {{ feature }} as correlation,
        songs_origin.data_origin
    from song_correlations
    cross join songs_origin
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
