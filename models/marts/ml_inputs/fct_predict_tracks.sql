-- The predict side of the split (10%): features only. The true class is kept apart in
-- fct_predict_track_classes for the holdout evaluation.

with

tracks as (

    select * from {{ ref('int_tracks_split') }}
    where split = 'predict'

),

final as (

    select
        tracks.track_id,
        {{ track_feature_columns('tracks') }}
    from tracks

)

select * from final
