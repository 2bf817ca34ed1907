-- The drift of one `predict` batch against the training split (FeaturePath.drift in
-- python_ml/tracks/feature_path.py runs this compiled SQL in memory): `batch_features` holds
-- the batch's features and the class index called, `drift_reference` the warehouse's
-- fct_feature_drift_reference.

with

batch_long as (

    {{ features_long('batch_features', ['batch_id'], 'class_index') }}

),

{{ feature_drift('batch_long', 'drift_reference', ['batch_id']) }}

select * from drift_final
order by psi desc
