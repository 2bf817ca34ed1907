"""The parameters of each model kind (python_ml/tracks/kinds): pydantic schemas, checked when
a config is read (tracks/config.py), each kind naming its own (``ModelKind.params_schema``).
Kept apart from the kinds so that loading a fitted model (``predict``, the service) does not
import pydantic or build the schemas."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator


def _positive_int(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


# The largest seed numpy's and scikit-learn's generators take (random_state < 2**32).
MAX_SEED = 2**32 - 1


def _seed(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"must be an integer from 0 to {MAX_SEED:,}, got {value!r}")
    return value


def _positive_number(value: Any) -> Any:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)  # .nan or .inf: no comparison rejects them
        or value <= 0
    ):
        raise ValueError(f"must be a positive number, got {value!r}")
    return float(value)


def _non_negative_number(value: Any) -> Any:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"must be a number of at least 0, got {value!r}")
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
Seed = Annotated[int, BeforeValidator(_seed)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_number)]
NonNegativeFloat = Annotated[float, BeforeValidator(_non_negative_number)]
Flag = Annotated[bool, BeforeValidator(_boolean)]
ClassWeight = Annotated[Literal["balanced"] | None, BeforeValidator(_class_weight)]


# The L2 penalty on the trees' leaf values when a config does not give one. Each leaf's value
# is a Newton step, -(sum of gradients) / (sum of hessians + l2_regularization) x learning rate,
# and a class's hessian is p (1 - p): scikit-learn's default, 0, lets a leaf where the rare
# class's probability is already near 0 take a step of hundreds. On the generated 1x data a
# leaf of 20 fit-fold tracks, one of them blazing-hot, got +26.5 on the blazing-hot score
# (p 0.00002 -> 0.99999 for all 20), and 3 ice-cold holdout tracks were called blazing-hot at
# 0.99999 where the generator's own probability was below 0.001. 1.0 (XGBoost's default
# lambda) bounds such a step near the learning rate and leaves well-populated leaves (hessian
# sums of hundreds) as they were; temperature scaling, one divisor for every track, cannot
# undo a few tracks' runaway scores.
DEFAULT_L2_REGULARIZATION = 1.0


class Params(BaseModel):
    """A kind's parameters: every key known, every value checked; frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MajorityParams(Params):
    pass


class LogisticRegressionParams(Params):
    C: PositiveFloat
    max_iter: PositiveInt
    class_weight: ClassWeight = None


class HistGradientBoostingParams(Params):
    max_iter: PositiveInt
    learning_rate: PositiveFloat
    max_leaf_nodes: PositiveInt
    early_stopping: Flag
    class_weight: ClassWeight = None
    l2_regularization: NonNegativeFloat = DEFAULT_L2_REGULARIZATION

    @field_validator("max_leaf_nodes")
    @classmethod
    def _leaves(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2, got {value!r}")
        return value


class KerasParams(Params):
    hidden_units: list[Any]
    dropout: list[Any]
    learning_rate: PositiveFloat
    batch_size: PositiveInt
    max_epochs: PositiveInt
    patience: PositiveInt
    smote: Flag
    class_weight: ClassWeight = None
    min_delta: PositiveFloat = 0.001

    @field_validator("hidden_units", mode="before")
    @classmethod
    def _units(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be a non-empty list, got {value!r}")
        for units in value:
            if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
                raise ValueError(f"must list positive whole numbers of units, got {units!r}")
        return value

    @field_validator("dropout", mode="before")
    @classmethod
    def _rates(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be a non-empty list, got {value!r}")
        for rate in value:
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate < 1:
                raise ValueError(f"must list rates from 0 to below 1, got {rate!r}")
        units = info.data.get("hidden_units")
        if units is not None and len(value) != len(units):
            raise ValueError("must have one rate per hidden layer")
        return value
