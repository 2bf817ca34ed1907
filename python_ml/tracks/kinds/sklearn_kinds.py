"""The scikit-learn kinds: the majority baseline, logistic regression, gradient boosting."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from python_ml.tracks.kinds.base import ModelKind


def _per_class(decision: np.ndarray) -> np.ndarray:
    """A decision function as one score per class: two classes have one score, for the second
    class (the first gets minus it; both halved, as their contributions are)."""
    decision = np.asarray(decision, dtype=np.float64)
    if decision.ndim == 1:
        return np.stack([-decision / 2, decision / 2], axis=1)
    return decision


TREE_SHAP_ROWS = 128  # rows per TreeSHAP call: between two, the process's other threads run
# The explainers of the last estimators explained (the champion's, in a scorer), by the
# estimator's identity: an explainer holds its estimator, so a weak mapping would keep both.
_EXPLAINERS: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
_EXPLAINERS_KEPT = 4
_EXPLAINERS_LOCK = threading.Lock()


def _tree_explainer(estimator: Any) -> Any:
    """The estimator's TreeSHAP explainer, made at its first use and kept for the next."""
    with _EXPLAINERS_LOCK:
        kept = _EXPLAINERS.get(id(estimator))
        if kept is not None and kept[0] is estimator:
            _EXPLAINERS.move_to_end(id(estimator))
            return kept[1]
        import shap

        explainer = shap.TreeExplainer(estimator)
        _EXPLAINERS[id(estimator)] = (estimator, explainer)
        while len(_EXPLAINERS) > _EXPLAINERS_KEPT:
            _EXPLAINERS.popitem(last=False)
    return explainer


class Majority(ModelKind):
    """Every track gets the class shares of the training fold: the floor any model must beat."""

    name = "majority"
    simplicity = 0
    params_schema = "MajorityParams"

    def fit(self, params, xt, yt, xv, yv, n_classes, seed) -> tuple[Any, dict[str, Any]]:
        from sklearn.dummy import DummyClassifier  # the estimators: imported to fit (scoring
        # unpickles the one it needs), so `predict` and the service start faster

        return DummyClassifier(strategy="prior").fit(xt, yt), {}


class LogisticRegressionKind(ModelKind):
    name = "logistic_regression"
    simplicity = 1
    params_schema = "LogisticRegressionParams"
    explanation = "exact: coefficient x standardised value, of the classes' logits"

    def fit(self, params, xt, yt, xv, yv, n_classes, seed) -> tuple[Any, dict[str, Any]]:
        from sklearn.linear_model import LogisticRegression

        estimator = LogisticRegression(
            C=params.C,
            max_iter=params.max_iter,
            class_weight=params.class_weight,
            random_state=seed,
        )
        return estimator.fit(xt, yt), {}

    def score(self, estimator: Any, x: np.ndarray) -> np.ndarray:
        return _per_class(estimator.decision_function(np.asarray(x, dtype=np.float64)))

    def contributions(self, estimator: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact: the score of a class is its logit, intercept plus coefficient times the
        standardised value of each feature."""
        coef = np.asarray(estimator.coef_, dtype=np.float64)  # (classes, features)
        intercept = np.asarray(estimator.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # two classes: one logit, for the second class (and minus it)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
        x = np.asarray(x, dtype=np.float64)
        parts = x[:, :, None] * coef.T[None, :, :]
        return np.broadcast_to(intercept, (len(x), len(intercept))).copy(), parts


class HistGradientBoosting(ModelKind):
    name = "hist_gradient_boosting"
    simplicity = 2
    params_schema = "HistGradientBoostingParams"
    explanation = "exact: TreeSHAP of the trees' raw scores"

    def fit(self, params, xt, yt, xv, yv, n_classes, seed) -> tuple[Any, dict[str, Any]]:
        from sklearn.ensemble import HistGradientBoostingClassifier

        estimator = HistGradientBoostingClassifier(
            max_iter=params.max_iter,
            learning_rate=params.learning_rate,
            max_leaf_nodes=params.max_leaf_nodes,
            early_stopping=params.early_stopping,
            class_weight=params.class_weight,
            l2_regularization=params.l2_regularization,
            random_state=seed,
        )
        estimator.fit(xt, yt)
        return estimator, {"iterations": int(estimator.n_iter_)}

    def score(self, estimator: Any, x: np.ndarray) -> np.ndarray:
        return _per_class(estimator.decision_function(np.asarray(x, dtype=np.float64)))

    def prepare(self, estimator: Any) -> None:
        _tree_explainer(estimator)

    def contributions(self, estimator: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact: TreeSHAP (``shap``) of the raw score (the trees' sum, before the softmax);
        the expected value over the training data is the baseline. The explainer is made once
        per estimator (45 ms each batch, 5 s for the service's first request with shap's
        import), and the rows go through it in slices: it holds the GIL throughout (about 1
        ms a row), and the service's other requests, /health among them, waited 13 s behind
        10,000 rows."""
        explainer = _tree_explainer(estimator)
        x = np.asarray(x, dtype=np.float64)
        parts = np.concatenate(
            [
                np.asarray(explainer.shap_values(x[start : start + TREE_SHAP_ROWS]))
                for start in range(0, max(len(x), 1), TREE_SHAP_ROWS)
            ]
        )
        baseline = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        if parts.ndim == 2:  # two classes: one raw score, for the second class (and minus it)
            parts = np.stack([-parts / 2, parts / 2], axis=-1)
            baseline = np.array([-1.0, 1.0]) * baseline[0] / 2
        return np.broadcast_to(baseline, (len(parts), len(baseline))).copy(), parts
