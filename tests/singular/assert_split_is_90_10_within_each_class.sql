-- A returned row is a popularity class whose tracks in the predict split are more than half a
-- track away from the `predict_share` var times the class's size. int_tracks_split holds out
-- round(share x size) tracks of each class, so this holds for classes of any size (1 track of
-- 5, 2 of 15), and it is exact: a class of 200 within 0.25 percentage points of the share. (The
-- test checked only classes of 200 tracks or more, to 0.5 points: a class of 150 with no track
-- held out passed.) The share times the size is exact: the var is a decimal, not a float.

with

split as (

    select * from {{ ref('int_tracks_split') }}

),

classes as (

    select
        popularity_class,
        count(*) as class_size,
        sum(case when split = 'predict' then 1 else 0 end) as predict_tracks
    from split
    group by popularity_class

)

select
    popularity_class,
    class_size,
    predict_tracks,
    class_size * {{ var('predict_share') }} as expected_predict_tracks
from classes
where abs(predict_tracks - class_size * {{ var('predict_share') }}) > 0.5
