"""The models: preprocessing fitted on the training fold only, then one estimator of a kind
(python_ml/tracks/kinds: how each kind fits, gives probabilities, saves and loads).

Every model is a :class:`FittedModel`: ``predict_proba(frame)`` returns one column per class
in the seed's order. The network (Keras) is imported only when it is trained or loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from python_ml.tracks.evaluate import apply_temperature, decide
from python_ml.tracks.kinds import KINDS

if TYPE_CHECKING:  # the config (pydantic) is read to train, not to load a fitted model
    from python_ml.tracks.config import ModelSpec

log = logging.getLogger(__name__)

# Heavy-tailed counts are log-scaled before standardising.
LOG_SCALED = {"artist_followers", "duration_ms"}


def make_preprocessor(features: list[str]) -> ColumnTransformer:
    """Impute medians, log-scale heavy tails, standardise. Fitted on the training fold only."""
    logged = [f for f in features if f in LOG_SCALED]
    plain = [f for f in features if f not in LOG_SCALED]
    transformers = []
    if plain:
        transformers.append(
            ("plain", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), plain)
        )
    if logged:
        transformers.append(
            (
                "logged",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                    StandardScaler(),
                ),
                logged,
            )
        )
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


@dataclass
class FittedModel:
    """Preprocessing + estimator, with what it needs to score a frame of features."""

    kind: str
    features: list[str]
    class_names: list[str]
    preprocessor: ColumnTransformer
    estimator: Any
    info: dict[str, Any] = field(default_factory=dict)
    # Calibration (1.0: none) and the decision rule, both fitted after the estimator.
    temperature: float = 1.0
    decision_weights: list[float] | None = None

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The preprocessed rows the estimator reads (float32), for the methods below to share
        (``x``) when a batch is both scored and explained."""
        return self.preprocessor.transform(frame[self.features]).astype(np.float32)

    def raw_proba(self, frame: pd.DataFrame, x: np.ndarray | None = None) -> np.ndarray:
        """The estimator's probabilities before calibration."""
        x = self.transform(frame) if x is None else x
        return np.asarray(KINDS[self.kind].proba(self.estimator, x), dtype=np.float64)

    def predict_proba(self, frame: pd.DataFrame, x: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities, one column per class in the seed's order."""
        return apply_temperature(self.raw_proba(frame, x), self.temperature)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The class index called for each row: the model's decision rule."""
        return decide(proba, self.decision_weights)

    def runner_up(self, proba: np.ndarray, called: np.ndarray) -> np.ndarray:
        """Per row, the class the decision rule ranks next after the one it called (by
        weighted probability); the called class itself for a model of one class."""
        weighted = proba * np.asarray(self.decision_weights or [1.0] * proba.shape[1])
        if weighted.shape[1] < 2:
            return np.asarray(called)
        weighted = weighted.astype(np.float64, copy=True)
        weighted[np.arange(len(weighted)), called] = -np.inf
        return np.argmax(weighted, axis=1)

    def explain(
        self,
        frame: pd.DataFrame,
        called: np.ndarray,
        x: np.ndarray | None = None,
        proba: np.ndarray | None = None,
    ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
        """Why each row got its class rather than the runner-up (the class the decision rule
        ranks next): the baseline of the called class's score minus the runner-up's, each
        feature's contribution to that difference (columns: the features), the difference
        itself as the model computes it (the estimator's scores, before calibration: logits,
        the trees' raw scores, or log probabilities; tracks/kinds/), and the runner-up's
        index. Baseline plus contributions equal the difference. Against the runner-up, a
        feature's sign says whether it favoured the class called: a middle class's own
        score can fall with a feature that lowers the others' more."""
        # The same float32 rows the probabilities came from.
        x = (self.transform(frame) if x is None else x).astype(np.float64)
        proba = self.predict_proba(frame, x.astype(np.float32)) if proba is None else proba
        versus = self.runner_up(proba, called)
        kind = KINDS[self.kind]
        baseline, parts = kind.contributions(self.estimator, x)
        rows = np.arange(len(x))
        names = list(self.preprocessor.get_feature_names_out())
        contributions = pd.DataFrame(
            parts[rows, :, called] - parts[rows, :, versus], columns=names, index=frame.index
        )
        scores = kind.score(self.estimator, x)
        score = scores[rows, called] - scores[rows, versus]
        kept = [f for f in self.features if f in names]
        return baseline[rows, called] - baseline[rows, versus], contributions[kept], score, versus


def model_output(
    model: FittedModel, features: pd.DataFrame, x: np.ndarray | None = None
) -> pd.DataFrame:
    """What the pyfunc returns (tracking/registry.py) and every scorer gives: a probability
    column per class, then the class called."""
    proba = model.predict_proba(features, x)
    out = pd.DataFrame(proba, columns=[f"prob_{c}" for c in model.class_names])
    out["predicted_class"] = [model.class_names[i] for i in model.decide(proba)]
    return out


@dataclass(frozen=True)
class Prepared:
    """The preprocessing of one training fold, fitted once: every experiment on the same rows
    and features gets the same one (it depends on neither the kind nor its parameters). The
    arrays are read-only, so no kind can change what the next one reads."""

    preprocessor: ColumnTransformer
    x_train: np.ndarray
    x_val: np.ndarray


def _read_only(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x


def prepare(features: list[str], x_train: pd.DataFrame, x_val: pd.DataFrame) -> Prepared:
    """Fit the preprocessing on the training fold; transform it and ``x_val`` (float32)."""
    preprocessor = make_preprocessor(features)
    xt = preprocessor.fit_transform(x_train[features]).astype(np.float32)
    xv = preprocessor.transform(x_val[features]).astype(np.float32)
    return Prepared(preprocessor, _read_only(xt), _read_only(xv))


def fit_model(
    spec: ModelSpec,
    features: list[str],
    class_names: list[str],
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_val: pd.DataFrame,
    y_val: np.ndarray,
    seed: int,
    prepared: Prepared | None = None,
) -> FittedModel:
    """Fit preprocessing on the training fold (or take ``prepared``, fitted on the same rows
    and features), then the kind's estimator. ``x_val``/``y_val`` is the network's
    early-stopping fold: never the fold that picks the champion."""
    prepared = prepared or prepare(features, x_train, x_val)
    n_classes = len(class_names)
    estimator, info = spec.kind.fit(
        spec.options, prepared.x_train, y_train, prepared.x_val, y_val, n_classes, seed
    )
    spec.kind.check_classes(estimator, n_classes)
    return FittedModel(
        spec.type, list(features), list(class_names), prepared.preprocessor, estimator, info
    )
