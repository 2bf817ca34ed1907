"""How drift is told to people: one warning line per feature that moved away from the
training split. The figures come from the dbt project's drift macros (macros/feature_drift.sql):
marts.rpt_feature_drift for scoring runs, the analysis batch_feature_drift for `predict`."""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger("python_ml")

# The drift marts' row for the mix of classes called (macros/feature_drift.sql), beside the
# features: not a feature, so never "the largest feature" drift.
CLASS_MIX = "predicted_class"


def drift_subject(feature: str) -> str:
    """What a drift row is about, in words: a feature's name, or the mix of classes called."""
    return "the mix of classes called" if feature == CLASS_MIX else feature


def log_drift(drift: pd.DataFrame | None, batch: str) -> None:
    """One warning line per feature that drifted from the training split (dbt's var
    drift_psi_threshold), or one line saying the batch is too small to tell."""
    if drift is None:
        log.info("drift not measured: the warehouse has no %s yet", "fct_feature_drift_reference")
        return
    if (drift["drift_status"] == "too few tracks").all():
        log.info("drift not measured: %s are too few to compare with the training split", batch)
        return
    drifted = drift[drift["drift_status"] == "drift"]
    for row in drifted.itertuples():
        what = drift_subject(row.feature)
        log.warning(
            "drift: %s has moved away from the training split (PSI %.2f, above %.2f): the "
            "model's figures may not hold for this batch",
            what,
            row.psi,
            row.psi_threshold,
        )
    features = drift[drift["feature"] != CLASS_MIX]
    if drifted.empty and not features.empty:
        log.info(
            "no drift: every feature of %s is close to the training split (largest PSI %.2f, %s)",
            batch,
            features["psi"].max(),
            features.loc[features["psi"].idxmax(), "feature"],
        )
