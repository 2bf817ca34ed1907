-- The training split's distribution of each model feature, the reference drift is measured
-- against (macros/feature_drift.sql): its bins (each decile edge and each interval between
-- edges) and each bin's share of the training tracks; `predicted_class` holds the true class
-- mix, binned as any feature over the class index: its bin_index is not the class index
-- (edges [0, 1] on the built-in data: ice_cold bin 1, lukewarm 3, blazing_hot 4).

{%- set deciles = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] %}

with

train as (

    select
        tracks.*,
        classes.class_index
    from {{ ref('fct_train_tracks') }} as tracks
    inner join {{ ref('popularity_classes') }} as classes
        on tracks.popularity_class = classes.class_name

),

long as (

    {{ features_long('train', ['track_id'], 'class_index') }}

),

edges as (

    select
        feature,
        {{ sorted_distinct(quantile_list('feature_value', deciles)) }} as bin_edges,
        count(*) as train_tracks
    from long
    group by feature

),

-- Each distinct value once (a few thousand per feature, not a row per track and feature: the
-- binning is the costly part), with how many training tracks hold it.
counted as (

    select
        feature,
        feature_value,
        count(*) as tracks
    from long
    group by feature, feature_value

),

binned as (

    select
        counted.feature,
        counted.tracks,
        edges.bin_edges,
        edges.train_tracks,
        {{ drift_bin('edges.bin_edges', 'counted.feature_value') }} as bin_index
    from counted
    inner join edges
        on counted.feature = edges.feature

),

origin as (

    select {{ raw_data_origin(['spotify_600k.tracks', 'spotify_600k.artists']) }} as data_origin

),

final as (

    select
        binned.feature,
        cast(binned.bin_index as integer) as bin_index,
        binned.bin_edges,
        max(binned.train_tracks) as train_tracks,
        cast(sum(binned.tracks) as double) / max(binned.train_tracks) as expected_share,
        origin.data_origin
    from binned
    cross join origin
    group by binned.feature, binned.bin_index, binned.bin_edges, origin.data_origin

)

select * from final
