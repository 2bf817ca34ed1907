-- A returned row is a popularity 0-100 that falls in no class or in more than one class of
-- the popularity_classes seed.

with

classes as (

    select * from {{ ref('popularity_classes') }}

),

popularities as (

    select integers.popularity from range(0, 101) as integers (popularity)

),

matches as (

    select
        popularities.popularity,
        count(classes.class_name) as class_count
    from popularities
    left join classes
        on popularities.popularity between classes.min_popularity and classes.max_popularity
    group by popularities.popularity

)

select * from matches
where class_count != 1
