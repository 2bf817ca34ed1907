"""The model kinds, registered once: ``KINDS[type]`` for every `type` the tracks config
accepts (python_ml/tracks/kinds/base.py says what a kind provides)."""

from __future__ import annotations

from python_ml.tracks.kinds.base import ModelKind
from python_ml.tracks.kinds.keras_kind import Keras
from python_ml.tracks.kinds.sklearn_kinds import (
    HistGradientBoosting,
    LogisticRegressionKind,
    Majority,
)

KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (Majority(), LogisticRegressionKind(), HistGradientBoosting(), Keras())
}
