-- A returned row is a popularity class (with at least 200 tracks, where 0.5 points is one
-- track or more) whose predict share is more than 0.5 percentage points away from the
-- `predict_share` var.

with

split as (

    select * from {{ ref('int_tracks_split') }}

),

shares as (

    select
        popularity_class,
        count(*) as class_size,
        avg(case when split = 'predict' then 1.0 else 0.0 end) as predict_share
    from split
    group by popularity_class

)

select *
from shares
where
    class_size >= 200
    and abs(predict_share - {{ var('predict_share') }}) > 0.005
