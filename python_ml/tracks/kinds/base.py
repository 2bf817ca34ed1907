"""What a model kind is: its parameters (a pydantic schema in ``params.py``, checked when the
config is read), how it fits, gives probabilities, and saves and loads its estimator. Adding a
kind is one module here, its schema in ``params.py`` and one entry in ``KINDS``
(``__init__.py``); the config, training, the MLflow pyfunc and the champion rule read
everything else from it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import joblib
import numpy as np

if TYPE_CHECKING:
    from python_ml.tracks.kinds.params import Params


SHAPLEY_PERMUTATIONS = 4  # each with its reverse: 8 orders of the features per track
SHAPLEY_SEED = 0  # the orders are the same for every track and every run


def sampled_shapley(
    score: Any, x: np.ndarray, chunk_rows: int = 2_000
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled Shapley values of ``score`` (rows -> (rows, classes)) for each row of ``x``
    against the all-zeros reference: ``(baseline, contributions)`` as in
    :meth:`ModelKind.contributions`. Additive exactly (up to float rounding)."""
    x = np.asarray(x, dtype=np.float64)
    n, m = x.shape
    rng = np.random.default_rng(SHAPLEY_SEED)
    orders = [rng.permutation(m) for _ in range(SHAPLEY_PERMUTATIONS)]
    orders += [order[::-1] for order in orders]
    reference = np.asarray(score(np.zeros((1, m), dtype=np.float32)), dtype=np.float64)[0]
    parts = np.zeros((n, m, reference.shape[0]))
    for start in range(0, n, chunk_rows):
        rows = x[start : start + chunk_rows]
        k = len(rows)
        # Every prefix of every order, for every row, scored in one call.
        steps = np.zeros((len(orders), m + 1, k, m), dtype=np.float32)
        for o, order in enumerate(orders):
            for j, feature in enumerate(order):
                steps[o, j + 1 :, :, feature] = rows[:, feature]
        scored = np.asarray(score(steps.reshape(-1, m)), dtype=np.float64)
        scored = scored.reshape(len(orders), m + 1, k, -1)
        scored[:, 0] = reference  # the empty prefix is the reference track
        for o, order in enumerate(orders):
            deltas = np.diff(scored[o], axis=0)  # (m, k, classes): the feature joining at j
            parts[start : start + k][:, order, :] += deltas.transpose(1, 0, 2)
    parts /= len(orders)
    return np.broadcast_to(reference, (n, reference.shape[0])).copy(), parts


class ModelKind:
    """One model kind. Subclasses set the class attributes and ``fit``."""

    name: ClassVar[str]  # the config's `type`
    simplicity: ClassVar[int]  # the champion rule prefers the simplest kind (lowest)
    params_schema: ClassVar[str]  # its class in params.py

    @property
    def params(self) -> type[Params]:
        """The schema of the kind's parameters. Imported when a config is read, not when a
        fitted model is loaded: pydantic's import and the schemas' construction took about a
        quarter of a second of `predict`'s 2 s."""
        import python_ml.tracks.kinds.params as schemas

        return getattr(schemas, self.params_schema)

    estimator_file: ClassVar[str] = "estimator.joblib"
    # How :meth:`contributions` explains a score, in a few words for readers (card, app).
    explanation: ClassVar[str] = (
        "sampled Shapley values of the log probabilities, against the track at the training "
        "mean of every feature"
    )

    def fit(
        self,
        params: Params,
        xt: np.ndarray,
        yt: np.ndarray,
        xv: np.ndarray,
        yv: np.ndarray,
        n_classes: int,
        seed: int,
    ) -> tuple[Any, dict[str, Any]]:
        """The fitted estimator and what to log about the fit (e.g. iterations)."""
        raise NotImplementedError

    def proba(self, estimator: Any, x: np.ndarray) -> np.ndarray:
        """Each row's class probabilities, computed in float64: a row's figures do not depend
        on the rows scored beside it. An estimator fitted on the float32 rows keeps float32
        coefficients, and scikit-learn then predicts in float32, where BLAS's one-row and
        many-row products differ by about 1e-7: the service's sixth decimal changed with the
        requests that shared a batch."""
        return estimator.predict_proba(np.asarray(x, dtype=np.float64))

    def score(self, estimator: Any, x: np.ndarray) -> np.ndarray:
        """The score of each class that :meth:`contributions` explains, computed by the model
        itself (rows x classes): here the log probability."""
        return np.log(np.clip(self.proba(estimator, x.astype(np.float32)), 1e-12, 1.0))

    def contributions(self, estimator: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's additive part of each class's score for the preprocessed rows ``x``:
        ``(baseline, contributions)`` of shapes ``(rows, classes)`` and ``(rows, features,
        classes)``, baseline plus the contributions equal to the score.

        This default works for any kind (the network's): sampled Shapley values of the log
        probability against one reference track, the training mean (all zeros once
        standardised), over ``SHAPLEY_PERMUTATIONS`` random feature orders and their reverses.
        Along each order a feature's part is the change of the score when it joins, so the
        parts of every order add up exactly to the score minus the reference's score; their
        mean does too. Kinds with an exact method override this."""
        return sampled_shapley(lambda rows: self.score(estimator, rows), x)

    def check_classes(self, estimator: Any, n_classes: int) -> None:
        """A fold without some class must still give one probability column per class."""
        classes = list(getattr(estimator, "classes_", []))
        if len(classes) != n_classes:
            raise ValueError(
                f"the training data holds only classes {classes} of {n_classes}; every class "
                "needs training rows"
            )

    def save(self, estimator: Any, path: Path) -> None:
        joblib.dump(estimator, path)

    def load(self, path: Path) -> Any:
        return joblib.load(path)

    def prepare(self, estimator: Any) -> None:
        """Make ready, once, what :meth:`contributions` needs beyond the estimator (a scorer
        that loaded it calls this, so that its first request does not pay for it)."""
