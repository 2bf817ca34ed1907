{#-
    Drift of scored tracks against the training split, in one place: the reference
    (fct_feature_drift_reference, the training rows' deciles of each feature) and every
    comparison with it (rpt_feature_drift for each scoring run, analysis batch_feature_drift
    for each `predict` batch) come from these macros.

    A feature's population stability index (PSI) is sum over bins of (a - e) * ln(a / e), a and
    e the batch's and the training rows' shares of the bin (each at least 0.0001). The bins
    come from the training deciles (ties merged): each edge value is a bin of its own and so is
    each open interval between edges, plus one for missing values. A feature with few values
    (mode, key, time_signature) thus gets one bin per common value, and a point mass of a
    continuous one (instrumentalness 0) its own bin. `predicted_class` compares the classes called in the batch
    with the true classes of the training rows: the shift of the called-class mix.
-#}

{#- The features drift is measured on: the model features of fct_train_tracks. -#}
{% macro drift_features() %}
    {%- set names = ['release_year'] %}
    {%- for column, allowed in track_feature_ranges() %}{% do names.append(column) %}{% endfor %}
    {%- do names.extend(['artist_followers', 'artist_genre_count']) %}
    {{ return(names) }}
{% endmacro %}

{#- The bin of `value` among the sorted `edges` (drift_bin 2k + 1 is the edge k itself, 2k the
    values between edges k - 1 and k); -1 for a missing value. -#}
{% macro drift_bin(edges, value) -%}
    case
        when {{ value }} is null then -1
        else {{ count_below(edges, value) }} + {{ count_below(edges, value, inclusive=true) }}
    end
{%- endmacro %}

{#- One row per track and feature of `relation`: `keys` (columns kept), feature, value; with
    the class index column `class_index_column` as the feature `predicted_class`. One pass over
    `relation` (a cross join with the feature names), not one per feature: Spark inlines the
    relation, and `feature_drift` reads these rows several times. -#}
{% macro features_long(relation, keys, class_index_column) -%}
    {%- set features = drift_features() %}
    select
        {% for key in keys %}long_source.{{ key }}, {% endfor %}long_features.feature,
        case long_features.feature
            {%- for feature in features %}
            when '{{ feature }}' then cast(long_source.{{ feature }} as double)
            {%- endfor %}
            when 'predicted_class' then cast(long_source.{{ class_index_column }} as double)
        end as feature_value
    from {{ relation }} as long_source
    cross join (
        values {% for feature in features %}('{{ feature }}'), {% endfor %}('predicted_class')
    ) as long_features (feature)
{%- endmacro %}

{#- PSI and status per group of `batch_long` (features_long's rows, grouped by `keys`) against
    `reference` (fct_feature_drift_reference's rows). -#}
{% macro feature_drift(batch_long, reference, keys) -%}
    {%- set key_list = keys | join(', ') %}
    {%- set eps = 0.0001 %}
    edges as (

        select distinct
            feature,
            bin_edges
        from {{ reference }}

    ),

    binned as (

        select
            {% for key in keys %}batch.{{ key }}, {% endfor %}batch.feature,
            {{ drift_bin('edges.bin_edges', 'batch.feature_value') }} as bin_index
        from {{ batch_long }} as batch
        inner join edges
            on batch.feature = edges.feature

    ),

    actual as (

        select
            {{ key_list }},
            feature,
            bin_index,
            count(*) as tracks
        from binned
        group by {{ key_list }}, feature, bin_index

    ),

    totals as (

        select
            {{ key_list }},
            feature,
            cast(sum(tracks) as bigint) as batch_tracks
        from actual
        group by {{ key_list }}, feature

    ),

    bins as (

        select
            {% for key in keys %}totals.{{ key }}, {% endfor %}totals.feature,
            totals.batch_tracks,
            reference.bin_index
        from totals
        inner join {{ reference }} as reference
            on totals.feature = reference.feature
        union
        select
            {% for key in keys %}actual.{{ key }}, {% endfor %}actual.feature,
            totals.batch_tracks,
            actual.bin_index
        from actual
        inner join totals
            on
                {% for key in keys %}actual.{{ key }} = totals.{{ key }} and {% endfor %}
                actual.feature = totals.feature

    ),

    shares as (

        select
            {% for key in keys %}bins.{{ key }}, {% endfor %}bins.feature,
            bins.batch_tracks,
            greatest(cast(coalesce(actual.tracks, 0) as double) / bins.batch_tracks, {{ eps }})
                as actual_share,
            greatest(coalesce(reference.expected_share, 0), {{ eps }}) as expected_share
        from bins
        left join actual
            on
                {% for key in keys %}bins.{{ key }} = actual.{{ key }} and {% endfor %}
                bins.feature = actual.feature
                and bins.bin_index = actual.bin_index
        left join {{ reference }} as reference
            on
                bins.feature = reference.feature
                and bins.bin_index = reference.bin_index

    ),

    drift as (

        select
            {{ key_list }},
            feature,
            max(batch_tracks) as batch_tracks,
            sum((actual_share - expected_share) * ln(actual_share / expected_share)) as psi
        from shares
        group by {{ key_list }}, feature

    ),

    drift_final as (

        select
            {{ key_list }},
            feature,
            batch_tracks,
            psi,
            case
                when batch_tracks < {{ var('drift_min_tracks') }} then 'too few tracks'
                when psi > {{ var('drift_psi_threshold') }} then 'drift'
                else 'stable'
            end as drift_status,
            cast({{ var('drift_psi_threshold') }} as double) as psi_threshold
        from drift

    )
{%- endmacro %}
