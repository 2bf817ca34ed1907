"""The network's probabilities come from a NumPy pass over its fitted layers: the same numbers
as Keras's own ``predict`` (to float32 rounding), and Keras itself for a layer that pass does
not know."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from python_ml.tracks.kinds import keras_kind  # noqa: E402
from python_ml.tracks.kinds.keras_kind import Keras, forward  # noqa: E402
from python_ml.tracks.kinds.params import KerasParams  # noqa: E402


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
    assert got.dtype == np.float64 and got.shape == (257, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    # One row at a time (the service's single track) gives the rows of the batch, and so does a
    # batch computed in steps: far below the sixth decimal the service rounds to (float32's
    # one-row and many-row products differed by about 1e-7, and so did the rounded figures).
    alone = np.vstack([kind.proba(estimator, new[i : i + 1]) for i in range(len(new))])
    np.testing.assert_allclose(alone, got, rtol=0, atol=1e-12)
    monkeypatch.setattr(keras_kind, "FORWARD_ROWS", 100)
    np.testing.assert_allclose(forward(estimator)(new), got, rtol=0, atol=1e-12)
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


def test_each_epoch_is_a_log_line_naming_the_fit_and_nothing_goes_to_stdout(
    capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """Keras's own epoch lines went to stdout during `run`, with no time, level or word of
    which of the three fits (fit fold, forward-in-time, new-artist) they belonged to."""
    import logging

    x, y = _data(300, 4)
    params = KerasParams(
        hidden_units=[8],
        dropout=[0.1],
        learning_rate=0.01,
        batch_size=64,
        max_epochs=2,
        patience=5,
        smote=False,
    )
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger=keras_kind.log.name):
        _, info = Keras().fit(params, x[:200], y[:200], x[200:], y[200:], 3, seed=1)
    lines = [r.getMessage() for r in caplog.records if "epoch" in r.getMessage()]
    assert info["epochs"] == 2 and len(lines) == 2
    assert lines[0].startswith("network on 200 rows: epoch 1/2, loss ")
    assert lines[1].startswith("network on 200 rows: epoch 2/2, loss ")
    assert ", val_loss " in lines[1] and lines[1].endswith(" s)")
    assert "Epoch" not in capfd.readouterr().out


def test_best_epoch_is_the_epoch_whose_weights_the_network_keeps() -> None:
    """restore_best_weights keeps the last epoch that improved val_loss by min_delta: with a
    min_delta no epoch reaches, that is the first, though val_loss went on falling (it was
    logged as the epoch of the lowest val_loss)."""
    x, y = _data(600, 1)
    params = KerasParams(
        hidden_units=[16],
        dropout=[0.0],
        learning_rate=0.01,
        batch_size=64,
        max_epochs=10,
        patience=3,
        smote=False,
        min_delta=10.0,
    )
    model, info = Keras().fit(params, x[:500], y[:500], x[500:], y[500:], 3, 0)
    assert info == {"epochs": 4, "best_epoch": 1}
