"""The network (Keras): Dense + ReLU + Dropout layers, softmax; Adam; early stopping on the
calibration fold with the best weights restored. TensorFlow is imported only to fit or load.

Its probabilities are computed from the fitted layers' weights with NumPy (``forward``): the
same arithmetic as Keras's inference (Dropout passes values through unchanged), without
``model.predict``'s fixed cost per call (a data pipeline and a traced function: about 0.1 s,
which the permutation importance pays 40 times per fit and the service once per request)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from python_ml.tracks.kinds.base import ModelKind

log = logging.getLogger(__name__)

# Keras seeds one global generator (Python, NumPy, TensorFlow): networks fitting side by side
# would draw from each other's, so they fit one at a time, each from its seed.
_FIT_LOCK = threading.Lock()


def _epoch_lines(keras: Any, rows: int, epochs: int) -> Any:
    """A Keras callback logging one line per epoch (the network's fits on the fit fold and
    the two twins' folds, each named by its rows): ``network on 422,404 rows: epoch 3/30,
    loss 0.4309, val_loss 0.4221 (2.0 s)``."""
    import time

    class EpochLines(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            log.info(
                "network on %s rows: epoch %d/%d, loss %.4f, val_loss %.4f (%.1f s)",
                f"{rows:,}",
                epoch + 1,
                epochs,
                logs.get("loss", float("nan")),
                logs.get("val_loss", float("nan")),
                time.perf_counter() - self.started,
            )

    return EpochLines()


def balanced_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    result = {int(c): 1.0 for c in range(n_classes)}
    result.update({int(c): float(w) for c, w in zip(present, weights, strict=True)})
    return result


class Keras(ModelKind):
    name = "keras"
    simplicity = 3
    params_schema = "KerasParams"
    estimator_file = "estimator.keras"

    def fit(self, params, xt, yt, xv, yv, n_classes, seed) -> tuple[Any, dict[str, Any]]:
        with _FIT_LOCK:
            return self._fit(params, xt, yt, xv, yv, n_classes, seed)

    def _fit(self, params, xt, yt, xv, yv, n_classes, seed) -> tuple[Any, dict[str, Any]]:
        import keras  # slow import: only when a network is trained

        keras.utils.set_random_seed(seed)
        if params.smote:
            from imblearn.over_sampling import SMOTE

            # On the training fold only, after the validation split: oversampling before the
            # split would copy validation rows into training and inflate the score.
            before = len(yt)
            xt, yt = SMOTE(random_state=seed).fit_resample(xt, yt)
            log.info("SMOTE: %d -> %d training rows", before, len(yt))
        layers: list[Any] = [keras.Input(shape=(xt.shape[1],))]
        for units, rate in zip(params.hidden_units, params.dropout, strict=True):
            layers += [keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(rate)]
        layers.append(keras.layers.Dense(n_classes, activation="softmax"))
        model = keras.Sequential(layers)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=params.patience,
            min_delta=params.min_delta,
            restore_best_weights=True,
        )
        history = model.fit(
            xt,
            keras.utils.to_categorical(yt, n_classes),
            validation_data=(xv, keras.utils.to_categorical(yv, n_classes)),
            epochs=params.max_epochs,
            batch_size=params.batch_size,
            class_weight=(
                balanced_weights(yt, n_classes) if params.class_weight == "balanced" else None
            ),
            callbacks=[stop, _epoch_lines(keras, len(yt), params.max_epochs)],
            verbose=0,  # the epochs as log lines (Keras's own went to stdout, unlabelled)
            shuffle=True,
        )
        val_loss = history.history["val_loss"]
        # The epoch whose weights the model carries (restore_best_weights): the last that
        # improved val_loss by min_delta, not its lowest (epoch 6 of 0.4214 was said, when
        # epoch 4 of 0.4217 was kept, the two after it gaining less than 0.001).
        return model, {"epochs": len(val_loss), "best_epoch": stop.best_epoch + 1}

    def proba(self, estimator: Any, x: np.ndarray) -> np.ndarray:
        computed = forward(estimator)
        if computed is None:  # a layer the NumPy pass does not know: Keras computes it
            return estimator.predict(x, batch_size=8192, verbose=0)
        return computed(x)

    def check_classes(self, estimator: Any, n_classes: int) -> None:
        return None  # the softmax layer has one output per class

    def save(self, estimator: Any, path: Path) -> None:
        estimator.save(path)

    def load(self, path: Path) -> Any:
        import keras

        return keras.models.load_model(path)


# Each network's NumPy pass, built once from its weights (the model is not changed after its fit).
_FORWARD: weakref.WeakKeyDictionary[Any, Callable[[np.ndarray], np.ndarray] | None] = (
    weakref.WeakKeyDictionary()
)
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0, dtype=z.dtype),
    "softmax": lambda z: _softmax(z),
}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Rows per step of the NumPy pass, as Keras predicts in batches: the hidden layers of a large
# fold are never held whole (128 float64 units x 65,536 rows = 64 MB).
FORWARD_ROWS = 65_536


def forward(estimator: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """The network's output for a batch, computed with NumPy from its Dense layers' kernels,
    biases and activations (Dropout is the identity at inference); None when the network has
    a layer other than those (Keras then predicts it). In float64: a row's probabilities do
    not depend on the rows scored beside it (in float32, BLAS's one-row and many-row products
    differ by about 1e-7, which changed the sixth decimal the service rounds to with the
    requests that shared a batch). The weights are read once per model: a fitted model is
    never changed (set its weights and its cached pass would still give the old
    probabilities)."""
    try:
        return _FORWARD[estimator]
    except KeyError:
        pass
    steps: list[tuple[np.ndarray | None, np.ndarray | None, Callable]] | None = []
    for layer in estimator.layers:
        kind = type(layer).__name__
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if kind == "Dropout":
            continue
        if kind != "Dense" or activation not in _ACTIVATIONS:
            steps = None
            break
        weights = [np.asarray(w, dtype=np.float64) for w in layer.get_weights()]
        kernel, bias = weights[0], (weights[1] if len(weights) > 1 else None)
        steps.append((kernel, bias, _ACTIVATIONS[activation]))

    def layers(out: np.ndarray) -> np.ndarray:
        for kernel, bias, activation in steps:
            out = out @ kernel
            if bias is not None:
                out += bias
            out = activation(out)
        return out

    def compute(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if len(x) <= FORWARD_ROWS:
            return layers(x)
        return np.concatenate(
            [layers(x[i : i + FORWARD_ROWS]) for i in range(0, len(x), FORWARD_ROWS)]
        )

    result = None if steps is None else compute
    _FORWARD[estimator] = result
    return result
