-- Per first-listed artist with at least `min_artist_tracks` scored tracks: predicted and
-- actual hit rates (blazing-hot) and how often the model is right.

with

predictions as (

    select * from {{ ref('fct_track_predictions') }}

),

final as (

    select
        primary_artist_id,
        any_value(primary_artist_name) as primary_artist_name,
        count(*) as scored_tracks,
        {{ current_data_origin() }} as data_origin,
        {{ prediction_rates() }}
    from predictions
    where primary_artist_id is not null
    group by primary_artist_id
    having count(*) >= {{ var('min_artist_tracks') }}

)

select * from final
