-- The true popularity and class of the predict-side tracks, for the holdout evaluation only.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'predict'

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks', 'spotify_600k.artists']) }} as data_origin

),

final as (

    select
        tracks.track_id,
        tracks.popularity,
        tracks.popularity_class,
        origin.data_origin
    from tracks
    cross join origin

)

select * from final
