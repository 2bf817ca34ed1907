-- The train/predict split (the predict_share var; 90/10 by default), stratified by popularity
-- class: every clean track with its side of the split (the marts python_ml reads select their
-- side from here).
-- Within each class, tracks are ordered by md5(track id, split seed) and the first
-- round(share x class size) go to `predict`. The assignment depends only on the track id, the
-- seed and the class sizes: the same tracks every run, whatever the file order or threads.
-- Each row keeps the seed (as text, as the md5 reads it): what the split was built with, which
-- fct_train_tracks's post-hook records for training (macros/record_train_build.sql).

with

tracks as (

    select * from {{ ref('int_tracks_enriched') }}

),

seed as (

    select '{{ var("split_seed") }}' as split_seed

),

ranked as (

    select
        tracks.track_id,
        seed.split_seed,
        row_number() over (
            partition by tracks.popularity_class
            order by md5(concat(tracks.track_id, ':', seed.split_seed)), tracks.track_id
        ) as rank_in_class,
        count(*) over (partition by tracks.popularity_class) as class_size
    from tracks
    cross join seed

),

final as (

    select
        tracks.*,
        case
            when ranked.rank_in_class <= round(ranked.class_size * {{ var("predict_share") }})
                then 'predict'
            else 'train'
        end as split,
        ranked.split_seed
    from tracks
    inner join ranked
        on tracks.track_id = ranked.track_id

)

select * from final
