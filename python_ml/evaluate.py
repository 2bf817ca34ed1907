"""Metrics for the popularity classes: the same function on the validation fold, the
forward-in-time check and the holdout (predict split with its true classes joined)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss, per-class precision/recall/F1/support and the confusion
    matrix (rows: true class, columns: predicted class, in ``class_names`` order)."""
    labels = np.arange(len(class_names))
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    clipped = np.clip(proba, 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "log_loss": float(log_loss(y_true, clipped, labels=labels)),
        "n": int(len(y_true)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def flat_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics as flat MLflow metric names, e.g. ``validation_f1_lukewarm``."""
    flat = {
        f"{prefix}_accuracy": metrics["accuracy"],
        f"{prefix}_macro_f1": metrics["macro_f1"],
        f"{prefix}_log_loss": metrics["log_loss"],
    }
    for name, values in metrics["per_class"].items():
        for key in ("precision", "recall", "f1"):
            flat[f"{prefix}_{key}_{name}"] = values[key]
    return flat
