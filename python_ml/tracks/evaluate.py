"""Metrics for the popularity classes, the decision rule and calibration.

The same function scores the validation fold, the forward-in-time check, the new-artist check
and the holdout (predict split with its true classes joined), so every figure means the same.

A model's *decision rule* is part of the model: the class called is
``argmax(probability x decision_weight)``, with one weight per class tuned on the validation
fold for the selection metric. The probabilities themselves are never reweighted, so they
stay honest (calibrated); the plain ``argmax`` rule is reported beside the tuned one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import log_loss

from python_ml.tracks.confident import CONFIDENT_PROBABILITY

# Decision weights are searched on this grid (relative to the first class, whose weight is 1).
WEIGHT_GRID = np.geomspace(0.2, 12.0, 49)
CALIBRATION_BINS = 15


def decide(proba: np.ndarray, weights: np.ndarray | list[float] | None = None) -> np.ndarray:
    """The class index each row is called: argmax of probability x decision weight."""
    if weights is None:
        return proba.argmax(axis=1)
    return (proba * np.asarray(weights, dtype=np.float64)).argmax(axis=1)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    flat = np.bincount(
        y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64),
        minlength=n_classes * n_classes,
    )
    return flat.reshape(n_classes, n_classes)


def _per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1, support


def metric_from_confusion(matrix: np.ndarray, metric: str) -> float:
    if metric == "accuracy":
        return float(np.trace(matrix) / max(matrix.sum(), 1))
    if metric == "macro_f1":
        return float(_per_class(matrix)[2].mean())
    raise ValueError(f"unknown metric {metric!r}")


def brier_score(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Multi-class Brier score: mean over rows of the squared distance to the one-hot truth."""
    onehot = np.eye(proba.shape[1])[y_true.astype(np.int64)]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def expected_calibration_error(
    y_true: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """Top-label ECE: rows binned by their highest probability; the share-weighted mean gap
    between that confidence and how often the top class is right."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def confident_calls(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """The confident calls: rows whose most likely class (the top label, as the ECE reads it)
    has a probability >= ``CONFIDENT_PROBABILITY``; how many of them it is not the true class;
    and how many a calibrated model would get wrong, the sum of 1 - that probability."""
    proba = np.asarray(proba)
    top = proba.max(axis=1)
    sure = top >= CONFIDENT_PROBABILITY
    wrong = proba.argmax(axis=1) != np.asarray(y_true, dtype=np.int64)
    return {
        "confident_calls": int(np.count_nonzero(sure)),
        "confident_errors": int(np.count_nonzero(sure & wrong)),
        "confident_expected_errors": float(np.sum(1.0 - top[sure])),
    }


class _RuleCounts:
    """The confusion matrix of the rule ``argmax(proba x weights)`` for many trial weights on
    the same rows, as :func:`confusion` of :func:`decide` gives it, with less work per trial:
    the rows are grouped by true class once (a confusion matrix does not depend on their
    order), each class's column is scaled by its weight, and the called class is found by
    comparisons (the first class of the largest product, as ``argmax`` breaks ties). The rule
    search scores some 450 trials per fit (0.5 s a fit at 1x)."""

    def __init__(self, y_true: np.ndarray, proba: np.ndarray) -> None:
        y = np.asarray(y_true, dtype=np.int64)
        order = np.argsort(y, kind="stable")
        grouped = np.asarray(proba, dtype=np.float64)[order]
        self.columns = [np.ascontiguousarray(grouped[:, k]) for k in range(grouped.shape[1])]
        self.n_classes = grouped.shape[1]
        bounds = np.searchsorted(y[order], np.arange(self.n_classes + 1))
        self.slices = [slice(bounds[c], bounds[c + 1]) for c in range(self.n_classes)]

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        weights = np.asarray(weights, dtype=np.float64)
        best = self.columns[0] * weights[0]
        ahead = []  # per class from the second: its product beats every one before it
        for k in range(1, self.n_classes):
            scaled = self.columns[k] * weights[k]
            ahead.append(scaled > best)
            if k < self.n_classes - 1:
                best = np.maximum(best, scaled)
        # The class called is the last one ahead of all before it (the first class if none).
        called: list[np.ndarray] = [np.empty(0, dtype=bool)] * self.n_classes
        later = np.zeros(len(best), dtype=bool)
        for k in range(self.n_classes - 1, 0, -1):
            called[k] = ahead[k - 1] & ~later
            later |= ahead[k - 1]
        called[0] = ~later
        matrix = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        for c, rows in enumerate(self.slices):
            for k in range(self.n_classes):
                matrix[c, k] = np.count_nonzero(called[k][rows])
        return matrix


def tune_decision_weights(
    y_true: np.ndarray,
    proba: np.ndarray,
    metric: str,
    max_accuracy_loss: float = 1.0,
    passes: int = 3,
) -> list[float]:
    """Per-class decision weights that maximise ``metric`` on these rows while giving up at
    most ``max_accuracy_loss`` of plain argmax's accuracy (coordinate search on a log grid,
    the first class fixed at 1). Ties keep the weight closest to 1, so a rule that does not
    help stays plain argmax."""
    n_classes = proba.shape[1]
    weights = np.ones(n_classes)
    if metric == "accuracy" or n_classes < 2:
        return weights.tolist()  # argmax of calibrated probabilities maximises accuracy
    floor = metric_from_confusion(confusion(y_true, decide(proba), n_classes), "accuracy")
    floor -= max_accuracy_loss
    if np.isfinite(proba).all():
        counts = _RuleCounts(y_true, proba)
    else:  # argmax's order for NaN, which comparisons do not follow
        counts = lambda trial: confusion(y_true, decide(proba, trial), n_classes)  # noqa: E731

    def score(trial: np.ndarray) -> float:
        matrix = counts(trial)
        if metric_from_confusion(matrix, "accuracy") < floor - 1e-12:
            return -np.inf
        return metric_from_confusion(matrix, metric)

    best = score(weights)
    order = np.argsort(np.abs(np.log(WEIGHT_GRID)))  # try weights near 1 first
    if n_classes == 3:
        # A coarse search over both free weights first: the constraint makes the metric's
        # surface uneven, and a search one weight at a time can stop on a ledge.
        coarse = WEIGHT_GRID[::4][np.argsort(np.abs(np.log(WEIGHT_GRID[::4])))]
        for w1 in coarse:
            for w2 in coarse:
                trial = np.array([1.0, w1, w2])
                value = score(trial)
                if value > best + 1e-12:
                    best, weights = value, trial
    for _ in range(passes):
        improved = False
        for k in range(1, n_classes):
            for w in WEIGHT_GRID[order]:
                trial = weights.copy()
                trial[k] = w
                value = score(trial)
                if value > best + 1e-12:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return [float(w) for w in weights]


def log_loss_of(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    """The log loss :func:`classification_metrics` reports (probabilities clipped away from 0
    and renormalised)."""
    clipped = np.clip(proba, 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return float(log_loss(np.asarray(y_true, dtype=np.int64), clipped, labels=np.arange(n_classes)))


def classification_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: list[str],
    weights: list[float] | None = None,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, predicted and true shares
    and the confusion matrix of the decision rule (``weights``; plain argmax without), the
    same of plain argmax, and the calibration of the probabilities: log loss, Brier score,
    expected calibration error, and the confident calls and errors (:func:`confident_calls`)."""
    n_classes = len(class_names)
    y_true = np.asarray(y_true, dtype=np.int64)
    matrix = confusion(y_true, decide(proba, weights), n_classes)
    argmax_matrix = confusion(y_true, decide(proba), n_classes)
    precision, recall, f1, support = _per_class(matrix)
    predicted = matrix.sum(axis=0)
    n = max(int(len(y_true)), 1)
    return {
        "accuracy": metric_from_confusion(matrix, "accuracy"),
        "macro_f1": metric_from_confusion(matrix, "macro_f1"),
        "argmax_accuracy": metric_from_confusion(argmax_matrix, "accuracy"),
        "argmax_macro_f1": metric_from_confusion(argmax_matrix, "macro_f1"),
        "log_loss": log_loss_of(y_true, proba, n_classes),
        "brier": brier_score(y_true, proba),
        "ece": expected_calibration_error(y_true, proba),
        **confident_calls(y_true, proba),
        "n": int(len(y_true)),
        "decision_weights": list(weights) if weights is not None else [1.0] * n_classes,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "predicted_share": float(predicted[i] / n),
                "true_share": float(support[i] / n),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": matrix.tolist(),
    }


SCALAR_METRICS = (
    "accuracy",
    "macro_f1",
    "argmax_accuracy",
    "argmax_macro_f1",
    "log_loss",
    "brier",
    "ece",
    "confident_calls",
    "confident_errors",
    "confident_expected_errors",
)


def flat_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics as flat MLflow metric names, e.g. ``validation_f1_lukewarm``."""
    flat = {f"{prefix}_{key}": float(metrics[key]) for key in SCALAR_METRICS if key in metrics}
    for name, values in metrics["per_class"].items():
        for key in ("precision", "recall", "f1", "predicted_share"):
            flat[f"{prefix}_{key}_{name}"] = values[key]
    return flat


def _cells(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Each row's cell of the confusion matrix (true x n_classes + called), computed once for
    all resamples: a resample's matrix is the count of its rows' cells (:func:`confusion`)."""
    return np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)


def _counted(cells: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(cells, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _bootstrap(n: int, statistic: Any, resamples: int, seed: int) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of ``statistic(rows)`` over resamples of ``n`` rows
    drawn with replacement."""
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_difference(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    n_classes: int,
    metric: str,
    resamples: int = 300,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% paired-bootstrap interval of metric(a) - metric(b) on the same rows."""

    cells_a, cells_b = _cells(y_true, pred_a, n_classes), _cells(y_true, pred_b, n_classes)

    def difference(idx: np.ndarray) -> float:
        return metric_from_confusion(
            _counted(cells_a[idx], n_classes), metric
        ) - metric_from_confusion(_counted(cells_b[idx], n_classes), metric)

    return _bootstrap(len(y_true), difference, resamples, seed)


def bootstrap_interval(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int,
    metric: str,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% bootstrap interval of the metric of ``y_pred`` against ``y_true``."""
    cells = _cells(y_true, y_pred, n_classes)
    return _bootstrap(
        len(y_true),
        lambda idx: metric_from_confusion(_counted(cells[idx], n_classes), metric),
        resamples,
        seed,
    )


# Temperature scaling is kept only when it lowers the validation log loss by more than this.
CALIBRATION_MIN_GAIN = 1e-4


def fit_temperature(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Temperature scaling: the T that minimises log loss of softmax(log p / T) on these rows
    (Guo et al. 2017). T > 1 softens over-confident probabilities; T = 1 changes nothing."""
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(proba, 1e-15, 1.0))
    y = y_true.astype(np.int64)

    def loss(log_t: float) -> float:
        scaled = apply_temperature_log(logp, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(scaled[np.arange(len(y)), y], 1e-15, 1.0))))

    result = minimize_scalar(loss, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(result.x))


def apply_temperature_log(logp: np.ndarray, temperature: float) -> np.ndarray:
    z = logp / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    if temperature == 1.0:
        return proba
    return apply_temperature_log(np.log(np.clip(proba, 1e-15, 1.0)), temperature)
