"""Task configuration: one YAML file per task in python_ml/configs, read once into typed objects.

Validation names the bad key, e.g. ``tracks.yml: models.gradient_boosting.max_iter must be a
positive integer, got 'many'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from python_ml.warehouse.catalog import TRACK_FEATURE_COLUMNS
from python_ml.warehouse.db import check_identifier

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
MODEL_TYPES = {
    "majority": {},
    "logistic_regression": {"C": float, "max_iter": int, "class_weight": "class_weight"},
    "hist_gradient_boosting": {
        "max_iter": int,
        "learning_rate": float,
        "max_leaf_nodes": int,
        "early_stopping": bool,
        "class_weight": "class_weight",
    },
    "keras": {
        "hidden_units": list,
        "dropout": list,
        "learning_rate": float,
        "batch_size": int,
        "max_epochs": int,
        "patience": int,
        "smote": bool,
        "class_weight": "class_weight",
        "min_delta": float,
    },
}
# Optional parameters: absent means the default shown.
OPTIONAL_PARAMS = {"class_weight": None, "min_delta": 0.001}
CLASS_WEIGHTS = (None, "balanced")
SELECTION_METRICS = {"macro_f1", "accuracy"}


class ConfigError(ValueError):
    """A configuration file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    type: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    model: ModelSpec
    feature_set: str
    features: list[str]

    @property
    def label(self) -> str:
        return f"{self.model.name}/{self.feature_set}"


@dataclass(frozen=True)
class TracksConfig:
    seed: int
    validation_fraction: float
    calibration_fraction: float
    new_artist_fraction: float
    max_accuracy_loss: float
    selection_metric: str
    time_split_cutoff_year: int
    feature_sets: dict[str, list[str]]
    models: dict[str, ModelSpec]
    experiments: list[Experiment] = field(default_factory=list)
    source: str = "tracks.yml"


def _require(cond: bool, where: str, key: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"{where}: {key} {message}")


def _check_param(where: str, key: str, value: Any, kind: type) -> None:
    if kind is bool:
        _require(isinstance(value, bool), where, key, f"must be true or false, got {value!r}")
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        _require(ok, where, key, f"must be a positive integer, got {value!r}")
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        _require(ok, where, key, f"must be a positive number, got {value!r}")
    elif kind == "class_weight":
        _require(
            value in CLASS_WEIGHTS,
            where,
            key,
            f"must be null (fit on the natural class mix) or 'balanced', got {value!r}",
        )
    elif kind is list:
        _require(
            isinstance(value, list) and value,
            where,
            key,
            f"must be a non-empty list, got {value!r}",
        )


def parse_tracks_config(raw: Any, where: str = "tracks.yml") -> TracksConfig:
    _require(isinstance(raw, dict), where, "the file", "must be a mapping of keys to values")
    known = {
        "seed",
        "validation_fraction",
        "calibration_fraction",
        "new_artist_fraction",
        "max_accuracy_loss",
        "selection_metric",
        "time_split_cutoff_year",
        "feature_sets",
        "models",
        "experiments",
    }
    for key in raw:
        _require(key in known, where, str(key), f"is not a known key (known: {sorted(known)})")
    for key in known:
        _require(key in raw, where, key, "is missing")
    _check_param(where, "seed", raw["seed"], int)
    fraction = raw["validation_fraction"]
    _require(
        isinstance(fraction, float) and 0.01 <= fraction < 0.5,
        where,
        "validation_fraction",
        f"must be a number from 0.01 to below 0.5, got {fraction!r}",
    )
    for key in ("calibration_fraction", "new_artist_fraction"):
        value = raw[key]
        _require(
            isinstance(value, float) and 0.01 <= value < 0.5,
            where,
            key,
            f"must be a number from 0.01 to 0.5, got {value!r}",
        )
    loss = raw["max_accuracy_loss"]
    _require(
        isinstance(loss, int | float) and not isinstance(loss, bool) and 0 <= loss <= 1,
        where,
        "max_accuracy_loss",
        f"must be a number from 0 to 1, got {loss!r}",
    )
    _require(
        raw["selection_metric"] in SELECTION_METRICS,
        where,
        "selection_metric",
        f"must be one of {sorted(SELECTION_METRICS)}, got {raw['selection_metric']!r}",
    )
    _check_param(where, "time_split_cutoff_year", raw["time_split_cutoff_year"], int)

    feature_sets: dict[str, list[str]] = {}
    _require(
        isinstance(raw["feature_sets"], dict) and raw["feature_sets"],
        where,
        "feature_sets",
        "must be a non-empty mapping",
    )
    for name, features in raw["feature_sets"].items():
        key = f"feature_sets.{name}"
        _require(
            isinstance(features, list) and features,
            where,
            key,
            "must be a non-empty list of column names",
        )
        for feature in features:
            _require(isinstance(feature, str), where, key, f"has a non-text entry {feature!r}")
            check_identifier(feature)
            _require(
                feature != "artist_popularity",
                where,
                key,
                "must not use artist_popularity: Spotify derives it from the tracks' "
                "popularity, so it leaks the target",
            )
            _require(
                feature in TRACK_FEATURE_COLUMNS,
                where,
                key,
                f"names {feature!r}, which is not a column of marts.fct_train_tracks "
                f"(columns: {sorted(TRACK_FEATURE_COLUMNS)})",
            )
        _require(len(set(features)) == len(features), where, key, "repeats a feature")
        feature_sets[name] = list(features)

    models: dict[str, ModelSpec] = {}
    _require(
        isinstance(raw["models"], dict) and raw["models"],
        where,
        "models",
        "must be a non-empty mapping",
    )
    for name, spec in raw["models"].items():
        key = f"models.{name}"
        _require(isinstance(spec, dict) and "type" in spec, where, key, "must have a type")
        model_type = spec["type"]
        _require(
            model_type in MODEL_TYPES,
            where,
            f"{key}.type",
            f"must be one of {sorted(MODEL_TYPES)}, got {model_type!r}",
        )
        allowed = MODEL_TYPES[model_type]
        params = {k: v for k, v in spec.items() if k != "type"}
        for param, value in params.items():
            _require(
                param in allowed,
                where,
                f"{key}.{param}",
                f"is not a parameter of {model_type} (known: {sorted(allowed)})",
            )
            _check_param(where, f"{key}.{param}", value, allowed[param])
        for param in allowed:
            if param in OPTIONAL_PARAMS:
                params.setdefault(param, OPTIONAL_PARAMS[param])
            _require(param in params, where, f"{key}.{param}", "is missing")
        if model_type == "keras":
            for units in params["hidden_units"]:
                _require(
                    isinstance(units, int) and not isinstance(units, bool) and units > 0,
                    where,
                    f"{key}.hidden_units",
                    f"must list positive whole numbers of units, got {units!r}",
                )
            for rate in params["dropout"]:
                _require(
                    isinstance(rate, int | float) and not isinstance(rate, bool) and 0 <= rate < 1,
                    where,
                    f"{key}.dropout",
                    f"must list rates from 0 to below 1, got {rate!r}",
                )
            _require(
                len(params["dropout"]) == len(params["hidden_units"]),
                where,
                f"{key}.dropout",
                "must have one rate per hidden layer",
            )
        if model_type == "hist_gradient_boosting":
            _require(
                params["max_leaf_nodes"] >= 2,
                where,
                f"{key}.max_leaf_nodes",
                f"must be at least 2, got {params['max_leaf_nodes']!r}",
            )
        models[name] = ModelSpec(name=name, type=model_type, params=params)

    experiments = []
    _require(
        isinstance(raw["experiments"], list) and raw["experiments"],
        where,
        "experiments",
        "must be a non-empty list",
    )
    for i, entry in enumerate(raw["experiments"]):
        key = f"experiments[{i}]"
        _require(
            isinstance(entry, dict) and set(entry) == {"model", "feature_set"},
            where,
            key,
            "must have exactly `model` and `feature_set`",
        )
        _require(
            entry["model"] in models,
            where,
            f"{key}.model",
            f"names an unknown model {entry['model']!r} (known: {sorted(models)})",
        )
        _require(
            entry["feature_set"] in feature_sets,
            where,
            f"{key}.feature_set",
            f"names an unknown feature set {entry['feature_set']!r} "
            f"(known: {sorted(feature_sets)})",
        )
        experiments.append(
            Experiment(
                models[entry["model"]], entry["feature_set"], feature_sets[entry["feature_set"]]
            )
        )
    return TracksConfig(
        seed=raw["seed"],
        validation_fraction=float(fraction),
        calibration_fraction=float(raw["calibration_fraction"]),
        new_artist_fraction=float(raw["new_artist_fraction"]),
        max_accuracy_loss=float(raw["max_accuracy_loss"]),
        selection_metric=raw["selection_metric"],
        time_split_cutoff_year=raw["time_split_cutoff_year"],
        feature_sets=feature_sets,
        models=models,
        experiments=experiments,
        source=where,
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML where a key given twice in one mapping is an error, not a silent overwrite."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the key {key!r} is given twice (lines {seen[key]} and "
                f"{key_node.start_mark.line + 1}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def read_yaml(path: Path) -> Any:
    """A config file's YAML; a missing file, bad YAML or a repeated key names the file."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_tracks_config(path: Path | None = None) -> TracksConfig:
    path = path or CONFIG_DIR / "tracks.yml"
    return parse_tracks_config(read_yaml(path), where=path.name)
