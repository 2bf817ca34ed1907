"""The gradient boosting's probabilities stay near the data's own for a rare class: on data made
here with a known probability of the rarest class (as the generator makes blazing-hot: a
latent popularity, its mean from the features, plus normal noise), the kind fitted with the
shipped config's parameters never calls a track that class at 0.99 where the truth is below
0.5. Without an L2 penalty on the leaf values, a leaf where the class was all but ruled out
took a Newton step of tens (one hit among 20 rows, hessians near 0) and 28-117 of 10,000
held-out rows got 0.99-1.0 for it, as 3 ice-cold holdout tracks of the generated 1x data got
0.99999 blazing-hot."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from python_ml.tracks import config as config_module
from python_ml.tracks.kinds import KINDS
from python_ml.tracks.kinds.params import DEFAULT_L2_REGULARIZATION

BASE_CONFIG = yaml.safe_load((config_module.CONFIG_DIR / "tracks.yml").read_text())
COLD, HOT = 30.5, 69.5  # the latent popularity's class bounds (0-30, 31-69, 70-100)
NOISE = 10.5  # the generator's noise on the latent popularity


def rare_class_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, classes and each row's true probability of the third class (about 0.3%)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    mean = 18 + 12 * x[:, 0] + 9 * x[:, 1] + 3 * x[:, 2]  # the other three carry nothing
    y = np.digitize(mean + rng.normal(0.0, NOISE, n), [COLD, HOT])
    return x.astype(np.float32), y, norm.sf((HOT - mean) / NOISE)


def fit_shipped(x: np.ndarray, y: np.ndarray, raw: dict | None = None):
    spec = config_module.parse_tracks_config(raw or BASE_CONFIG).models["hist_gradient_boosting"]
    with threadpool_limits(limits=1, user_api="openmp"):  # 1 s a fit, beside other work
        estimator, _ = KINDS[spec.type].fit(spec.options, x, y, x[:0], y[:0], 3, seed=42)
    return estimator


@pytest.mark.parametrize("seed", [1, 3])
def test_no_runaway_probability_for_the_rare_class(seed: int) -> None:
    x, y, truth = rare_class_data(20_000, seed)
    half = len(y) // 2
    estimator = fit_shipped(x[:half], y[:half])
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = estimator.predict_proba(x[half:])
    runaway = (proba[:, 2] > 0.99) & (truth[half:] < 0.5)
    assert not runaway.any(), (
        f"{runaway.sum()} held-out rows called the rare class at up to "
        f"{proba[runaway, 2].max():.6f} where its true probability is at most "
        f"{truth[half:][runaway].max():.4f}"
    )
    # Confident calls are right: none of the rows above 0.999 for any class is wrong.
    confident = proba.max(axis=1) > 0.999
    assert (proba[confident].argmax(axis=1) == y[half:][confident]).all()


def test_the_leaf_penalty_is_on_by_default_and_checked() -> None:
    shipped = config_module.load_tracks_config().models["hist_gradient_boosting"]
    assert shipped.options.l2_regularization > 0
    assert shipped.params["l2_regularization"] == shipped.options.l2_regularization
    # A config that leaves it out gets the penalty too, not scikit-learn's 0.
    raw = copy.deepcopy(BASE_CONFIG)
    raw["models"]["hist_gradient_boosting"].pop("l2_regularization", None)
    spec = config_module.parse_tracks_config(raw).models["hist_gradient_boosting"]
    assert spec.options.l2_regularization == DEFAULT_L2_REGULARIZATION > 0
    # 0 may be asked for; a negative penalty is named.
    raw["models"]["hist_gradient_boosting"]["l2_regularization"] = 0
    assert config_module.parse_tracks_config(raw).models[
        "hist_gradient_boosting"
    ].options.l2_regularization == pytest.approx(0.0)
    raw["models"]["hist_gradient_boosting"]["l2_regularization"] = -1
    with pytest.raises(
        config_module.ConfigError,
        match="models.hist_gradient_boosting.l2_regularization must be a number of at least 0",
    ):
        config_module.parse_tracks_config(raw)
