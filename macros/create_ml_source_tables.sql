{#-
    The tables python_ml writes, created empty when missing (never dropped or altered).
    They are declared as the `ml` source in models/staging/ml/_ml__sources.yml; python_ml
    (python_ml/warehouse.py) writes exactly these columns. Run by `on-run-start`.
-#}
{% macro create_ml_source_tables() %}
    {% if execute %}
        create schema if not exists ml;

        create table if not exists ml.model_runs (
            run_id varchar primary key,
            task varchar not null,
            model_type varchar not null,
            feature_set varchar not null,
            split_kind varchar not null,
            status varchar not null,
            is_champion boolean not null default false,
            registered_version integer,
            started_at timestamp not null,
            finished_at timestamp,
            duration_seconds double,
            epochs integer,
            n_train bigint,
            n_validation bigint,
            validation_accuracy double,
            validation_macro_f1 double,
            validation_log_loss double,
            holdout_accuracy double,
            holdout_macro_f1 double,
            data_fingerprint varchar,
            features varchar,
            params_json varchar,
            metrics_json varchar,
            error_message varchar
        );

        create table if not exists ml.track_predictions (
            track_id varchar not null,
            run_id varchar not null,
            predicted_class varchar not null,
            prob_ice_cold double not null,
            prob_lukewarm double not null,
            prob_blazing_hot double not null,
            scored_at timestamp not null
        );

        create table if not exists ml.song_predictions (
            song_id varchar not null,
            run_id varchar not null,
            task varchar not null,
            feature_set varchar not null,
            model_type varchar not null,
            fold integer not null,
            actual_value double,
            predicted_value double not null,
            scored_at timestamp not null
        );
    {% endif %}
{% endmacro %}
