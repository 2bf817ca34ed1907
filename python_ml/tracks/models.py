"""The models: preprocessing fitted on the training fold only, then one estimator.

Every model is a :class:`FittedModel`: ``predict_proba(frame)`` returns one column per class
in the seed's order. The network (Keras) is imported only when it is trained or loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from python_ml.tracks.config import ModelSpec
from python_ml.tracks.evaluate import apply_temperature, decide

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

    def raw_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The estimator's probabilities before calibration."""
        x = self.preprocessor.transform(frame[self.features]).astype(np.float32)
        if self.kind == "keras":
            proba = self.estimator.predict(x, batch_size=8192, verbose=0)
        else:
            proba = self.estimator.predict_proba(x)
        return np.asarray(proba, dtype=np.float64)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, one column per class in the seed's order."""
        return apply_temperature(self.raw_proba(frame), self.temperature)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The class index called for each row: the model's decision rule."""
        return decide(proba, self.decision_weights)


def _balanced_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    result = {int(c): 1.0 for c in range(n_classes)}
    result.update({int(c): float(w) for c, w in zip(present, weights, strict=True)})
    return result


def fit_model(
    spec: ModelSpec,
    features: list[str],
    class_names: list[str],
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_val: pd.DataFrame,
    y_val: np.ndarray,
    seed: int,
) -> FittedModel:
    """Fit preprocessing on the training fold, then the estimator. ``x_val``/``y_val`` is the
    early-stopping fold of the network: never the fold that picks the champion."""
    preprocessor = make_preprocessor(features)
    xt = preprocessor.fit_transform(x_train[features]).astype(np.float32)
    n_classes = len(class_names)
    params = spec.params
    info: dict[str, Any] = {}
    if spec.type == "majority":
        estimator = DummyClassifier(strategy="prior").fit(xt, y_train)
    elif spec.type == "logistic_regression":
        estimator = LogisticRegression(
            C=params["C"],
            max_iter=params["max_iter"],
            class_weight=params.get("class_weight"),
            random_state=seed,
        )
        estimator.fit(xt, y_train)
    elif spec.type == "hist_gradient_boosting":
        estimator = HistGradientBoostingClassifier(
            max_iter=params["max_iter"],
            learning_rate=params["learning_rate"],
            max_leaf_nodes=params["max_leaf_nodes"],
            early_stopping=params["early_stopping"],
            class_weight=params.get("class_weight"),
            random_state=seed,
        )
        estimator.fit(xt, y_train)
        info["iterations"] = int(estimator.n_iter_)
    elif spec.type == "keras":
        xv = preprocessor.transform(x_val[features]).astype(np.float32)
        estimator, info = _fit_keras(params, xt, y_train, xv, y_val, n_classes, seed)
    else:  # config validation makes this unreachable
        raise ValueError(f"unknown model type {spec.type!r}")
    _complete_classes(estimator, spec.type, n_classes)
    return FittedModel(spec.type, list(features), list(class_names), preprocessor, estimator, info)


def _complete_classes(estimator: Any, kind: str, n_classes: int) -> None:
    """A fold without some class still yields one probability column per class."""
    if kind == "keras":
        return
    classes = list(getattr(estimator, "classes_", []))
    if len(classes) != n_classes:
        raise ValueError(
            f"the training data holds only classes {classes} of {n_classes}; every class "
            "needs training rows"
        )


def _fit_keras(
    params: dict[str, Any],
    xt: np.ndarray,
    yt: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    n_classes: int,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    import keras  # slow import: only when a network is trained

    keras.utils.set_random_seed(seed)
    if params["smote"]:
        from imblearn.over_sampling import SMOTE

        # On the training fold only, after the validation split: oversampling before the
        # split would copy validation rows into training and inflate the score.
        before = len(yt)
        xt, yt = SMOTE(random_state=seed).fit_resample(xt, yt)
        log.info("SMOTE: %d -> %d training rows", before, len(yt))
    layers: list[Any] = [keras.Input(shape=(xt.shape[1],))]
    for units, rate in zip(params["hidden_units"], params["dropout"], strict=True):
        layers += [keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(rate)]
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=params["learning_rate"]),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=params["patience"],
        min_delta=params.get("min_delta", 0.0),
        restore_best_weights=True,
    )
    history = model.fit(
        xt,
        keras.utils.to_categorical(yt, n_classes),
        validation_data=(xv, keras.utils.to_categorical(yv, n_classes)),
        epochs=params["max_epochs"],
        batch_size=params["batch_size"],
        class_weight=(
            _balanced_weights(yt, n_classes) if params.get("class_weight") == "balanced" else None
        ),
        callbacks=[stop],
        verbose=2,
        shuffle=True,
    )
    val_loss = history.history["val_loss"]
    return model, {"epochs": len(val_loss), "best_epoch": int(np.argmin(val_loss)) + 1}
