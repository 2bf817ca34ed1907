-- The true popularity and class of the predict-side tracks, for the holdout evaluation only.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'predict'

),

final as (

    select
        tracks.track_id,
        tracks.popularity,
        tracks.popularity_class
    from tracks

)

select * from final
