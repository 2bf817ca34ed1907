-- The training side of the split (1 - predict_share): features and the popularity class.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'train'

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks', 'spotify_600k.artists']) }} as data_origin

),

final as (

    select
        tracks.track_id,
        tracks.primary_artist_id,
        {{ track_feature_columns('tracks') }},
        tracks.popularity_class,
        origin.data_origin
    from tracks
    cross join origin

)

select * from final
