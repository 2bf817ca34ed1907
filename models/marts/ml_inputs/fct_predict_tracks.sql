-- The predict side of the split (the predict_share var): features only. The true class is kept
-- apart in fct_predict_track_classes for the holdout evaluation.

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
        {{ track_feature_columns('tracks') }},
        origin.data_origin
    from tracks
    cross join origin

)

select * from final
