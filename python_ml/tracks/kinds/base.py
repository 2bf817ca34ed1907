"""What a model kind is: its parameters (a pydantic schema, checked when the config is read),
how it fits, gives probabilities, and saves and loads its estimator. Adding a kind is one
module here and one entry in ``KINDS`` (``__init__.py``); the config, training, the MLflow
pyfunc and the champion rule read everything else from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import joblib
import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict


def _positive_int(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


def _positive_number(value: Any) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive number, got {value!r}")
    return float(value)


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _class_weight(value: Any) -> Any:
    if value not in (None, "balanced"):
        raise ValueError(
            f"must be null (fit on the natural class mix) or 'balanced', got {value!r}"
        )
    return value


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_number)]
Flag = Annotated[bool, BeforeValidator(_boolean)]
ClassWeight = Annotated[Literal["balanced"] | None, BeforeValidator(_class_weight)]


class Params(BaseModel):
    """A kind's parameters: every key known, every value checked; frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelKind:
    """One model kind. Subclasses set the class attributes and ``fit``."""

    name: ClassVar[str]  # the config's `type`
    simplicity: ClassVar[int]  # the champion rule prefers the simplest kind (lowest)
    params: ClassVar[type[Params]]
    estimator_file: ClassVar[str] = "estimator.joblib"

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
        return estimator.predict_proba(x)

    def contributions(self, estimator: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Each feature's additive part of each class's score for the preprocessed rows ``x``:
        ``(baseline, contributions)`` of shapes ``(rows, classes)`` and ``(rows, features,
        classes)``, baseline plus the contributions equal to the score; None for a kind with no
        exact explanation yet."""
        return None

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
