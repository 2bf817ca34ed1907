-- The true popularity and class of the predict-side tracks, for the holdout evaluation only:
-- tracks.csv's own columns (the split is by track id), so its data_origin is tracks.csv's.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'predict'

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks']) }} as data_origin

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
