-- Warns (the build goes on) when fewer than half of the clean tracks' first artists are among
-- the clean artists: their artist features (followers, genre count) are then unknown and
-- imputed for most tracks. Are tracks.csv and artists.csv from the same download? (Kaggle's
-- tracks.csv beside the built-in generated artists.csv matches none.)
{{ config(severity='warn') }}

with

tracks as (

    select
        primary_artist_id,
        artist_followers,
        artist_genre_count
    from {{ ref('int_tracks_enriched') }}

),

matched as (

    select
        count(*) as clean_tracks,
        -- A known artist has followers or a genre count (the join found it).
        sum(
            case
                when artist_followers is not null or artist_genre_count is not null then 1
                else 0
            end
        ) as tracks_with_known_artist
    from tracks

)

select
    clean_tracks,
    tracks_with_known_artist,
    'tracks.csv and artists.csv from different downloads?' as hint
from matched
where clean_tracks > 0 and tracks_with_known_artist < 0.5 * clean_tracks
