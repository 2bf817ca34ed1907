-- The training side of the split (90%): features and the popularity class.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'train'

),

final as (

    select
        tracks.track_id,
        tracks.primary_artist_id,
        {{ track_feature_columns('tracks') }},
        tracks.popularity_class
    from tracks

)

select * from final
