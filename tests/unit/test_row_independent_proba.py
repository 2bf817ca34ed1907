"""A track's probabilities do not depend on the tracks scored beside it. The service scores
the requests that wait together as one batch and promises each the answer it gets alone, to
the sixth decimal it rounds to. The models are fitted on float32 rows, so scikit-learn's
logistic regression kept float32 coefficients and predicted in float32, where BLAS's one-row
and many-row products differ by about 1e-7: two of 20 single-track requests changed in the
sixth decimal when scored with others."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from python_ml.tracks import config as config_module
from python_ml.tracks.kinds import KINDS

BASE_CONFIG = yaml.safe_load((config_module.CONFIG_DIR / "tracks.yml").read_text())


@pytest.mark.parametrize("name", ["majority", "logistic_regression", "hist_gradient_boosting"])
def test_each_row_gets_what_it_gets_alone(name: str) -> None:
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(3000, 12)) * rng.uniform(0.1, 50, 12)).astype(np.float32)
    y = np.digitize(x[:, 0] / 50 + x[:, 1] / 20 + rng.normal(0, 0.5, 3000), [-0.3, 0.6])
    raw = copy.deepcopy(BASE_CONFIG)
    if name == "hist_gradient_boosting":
        raw["models"][name].update(max_iter=30)
    spec = config_module.parse_tracks_config(raw).models[name]
    kind = KINDS[name]
    estimator, _ = kind.fit(spec.options, x[:2500], y[:2500], x[2500:2800], y[2500:2800], 3, 0)
    new = x[2800:]
    together = kind.proba(estimator, new)
    alone = np.vstack([kind.proba(estimator, new[i : i + 1]) for i in range(len(new))])
    assert together.dtype == np.float64
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-12)
    # Rounded as the service and the marts give them: the same figures.
    assert np.array_equal(alone.round(6), together.round(6))
