-- Pearson correlation of each feature with the target: popularity for the tracks, log(streams)
-- for the 2023 songs. Computed in SQL so the chart reads it as is.

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

songs as (

    select * from {{ ref('fct_songs_2023') }}

),

track_correlations as (

    unpivot (
        select
            corr(danceability, popularity) as danceability,
            corr(energy, popularity) as energy,
            corr(valence, popularity) as valence,
            corr(tempo, popularity) as tempo,
            corr(loudness, popularity) as loudness,
            corr(speechiness, popularity) as speechiness,
            corr(acousticness, popularity) as acousticness,
            corr(instrumentalness, popularity) as instrumentalness,
            corr(liveness, popularity) as liveness,
            corr(duration_ms, popularity) as duration_ms,
            corr(explicit, popularity) as explicit,
            corr(release_year, popularity) as release_year,
            corr(ln(artist_followers + 1), popularity) as log_artist_followers
        from tracks
    ) on columns(*) into name feature value correlation

),

song_correlations as (

    unpivot (
        select
            corr(danceability_pct, log_streams) as danceability,
            corr(energy_pct, log_streams) as energy,
            corr(valence_pct, log_streams) as valence,
            corr(bpm, log_streams) as tempo,
            corr(speechiness_pct, log_streams) as speechiness,
            corr(acousticness_pct, log_streams) as acousticness,
            corr(instrumentalness_pct, log_streams) as instrumentalness,
            corr(liveness_pct, log_streams) as liveness,
            corr(released_year, log_streams) as release_year,
            corr(in_spotify_playlists, log_streams) as spotify_playlists,
            corr(in_apple_playlists, log_streams) as apple_playlists,
            corr(in_deezer_playlists, log_streams) as deezer_playlists
        from songs
    ) on columns(*) into name feature value correlation

),

final as (

    select
        'tracks' as dataset,
        'popularity' as target,
        feature,
        correlation
    from track_correlations
    union all
    select
        'songs_2023' as dataset,
        'log_streams' as target,
        feature,
        correlation
    from song_correlations

)

select * from final
