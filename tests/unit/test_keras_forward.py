"""The network's probabilities come from a NumPy pass over its fitted layers: the same numbers
as Keras's own ``predict`` (to float32 rounding), and Keras itself for a layer that pass does
not know."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from python_ml.tracks.kinds import keras_kind  # noqa: E402
from python_ml.tracks.kinds.keras_kind import Keras, KerasParams, forward  # noqa: E402


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = np.digitize(x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.5, n), [-0.5, 0.7])
    return x, y


def test_the_numpy_pass_gives_kerass_probabilities(monkeypatch, tmp_path) -> None:
    x, y = _data(600, 1)
    params = KerasParams(
        hidden_units=[16, 8],
        dropout=[0.3, 0.2],
        learning_rate=0.01,
        batch_size=64,
        max_epochs=3,
        patience=2,
        smote=False,
    )
    kind = Keras()
    estimator, _ = kind.fit(params, x[:400], y[:400], x[400:500], y[400:500], 3, seed=3)
    new = _data(257, 2)[0]  # not a multiple of any batch size
    expected = estimator.predict(new, verbose=0)
    got = kind.proba(estimator, new)
    assert forward(estimator) is not None
    assert got.dtype == np.float32 and got.shape == (257, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    # One row at a time (the service's single track) gives the rows of the batch, and so does a
    # batch computed in steps.
    np.testing.assert_allclose(kind.proba(estimator, new[:1]), got[:1], rtol=0, atol=1e-7)
    monkeypatch.setattr(keras_kind, "FORWARD_ROWS", 100)
    np.testing.assert_allclose(forward(estimator)(new), got, rtol=0, atol=1e-7)
    # The network as MLflow loads it (saved, then read back) gives the same probabilities.
    kind.save(estimator, tmp_path / kind.estimator_file)
    loaded = kind.load(tmp_path / kind.estimator_file)
    np.testing.assert_allclose(kind.proba(loaded, new), got, rtol=0, atol=1e-6)


def test_a_layer_the_numpy_pass_does_not_know_is_left_to_keras() -> None:
    x, _ = _data(50, 3)
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    assert forward(model) is None
    np.testing.assert_allclose(
        Keras().proba(model, x), model.predict(x, verbose=0), rtol=0, atol=1e-6
    )
