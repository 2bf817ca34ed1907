-- The train/predict split (the predict_share var; 90/10 by default), stratified by popularity
-- class: every clean track with its side of the split (the marts python_ml reads select their
-- side from here).
-- Within each class, tracks are ordered by md5(track id, split seed) and the first
-- round(share x class size) go to `predict`. The assignment depends only on the track id, the
-- seed and the class sizes: the same tracks every run, whatever the file order or threads.

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

ranked as (

    select
        track_id,
        row_number() over (
            partition by popularity_class
            order by md5(concat(track_id, ':', '{{ var("split_seed") }}')), track_id
        ) as rank_in_class,
        count(*) over (partition by popularity_class) as class_size
    from tracks

),

final as (

    select
        tracks.*,
        case
            when ranked.rank_in_class <= round(ranked.class_size * {{ var("predict_share") }})
                then 'predict'
            else 'train'
        end as split
    from tracks
    inner join ranked
        on tracks.track_id = ranked.track_id

)

select * from final
