"""Task configuration: one YAML file per task in python_ml/configs, read once into typed objects.

The file's schema is a pydantic model (:class:`TracksFile`); each model's parameters are its
kind's schema (python_ml/tracks/kinds). Validation names the bad key, e.g.
``tracks.yml: models.gradient_boosting.max_iter must be a positive integer, got 'many'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from python_ml.errors import UserError
from python_ml.tracks.kinds import KINDS
from python_ml.tracks.kinds.base import ModelKind
from python_ml.tracks.kinds.params import Params, PositiveInt, Seed
from python_ml.warehouse.catalog import TRACK_FEATURE_COLUMNS
from python_ml.warehouse.db import check_identifier

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
SELECTION_METRICS = ("accuracy", "macro_f1")


class ConfigError(UserError, ValueError):
    """A configuration file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    type: str
    params: dict[str, Any]  # every parameter of the kind, defaults filled in
    options: Params  # the same, checked by the kind's schema: what its fit reads

    @property
    def kind(self) -> ModelKind:
        return KINDS[self.type]


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


# --------------------------------------------------------------------------------------------
# the file's schema (pydantic): every key known, every value checked, messages that name them


def _fraction(upper: str):
    def check(value: Any) -> Any:
        if not isinstance(value, float) or not 0.01 <= value < 0.5:
            raise ValueError(f"must be a number from 0.01 to {upper} 0.5, got {value!r}")
        return value

    return BeforeValidator(check)


def _share(value: Any) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"must be a number from 0 to 1, got {value!r}")
    return float(value)


def _metric(value: Any) -> Any:
    if value not in SELECTION_METRICS:
        raise ValueError(f"must be one of {list(SELECTION_METRICS)}, got {value!r}")
    return value


def _non_empty(what: str):
    def check(value: Any) -> Any:
        if not value:
            raise ValueError(f"must be a non-empty {what}")
        return value

    return AfterValidator(check)


def _features(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of column names")
    for feature in value:
        if not isinstance(feature, str):
            raise ValueError(f"has a non-text entry {feature!r}")
        check_identifier(feature)
        if feature == "artist_popularity":
            raise ValueError(
                "must not use artist_popularity: Spotify derives it from the tracks' "
                "popularity, so it leaks the target"
            )
        if feature not in TRACK_FEATURE_COLUMNS:
            raise ValueError(
                f"names {feature!r}, which is not a column of marts.fct_train_tracks "
                f"(columns: {sorted(TRACK_FEATURE_COLUMNS)})"
            )
    if len(set(value)) != len(value):
        raise ValueError("repeats a feature")
    return value


class _ExperimentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    feature_set: str


class TracksFile(BaseModel):
    """tracks.yml as written: read by :func:`parse_tracks_config` into :class:`TracksConfig`."""

    model_config = ConfigDict(extra="forbid")

    seed: Seed
    validation_fraction: Annotated[float, _fraction("below")]
    calibration_fraction: Annotated[float, _fraction("")]
    new_artist_fraction: Annotated[float, _fraction("")]
    max_accuracy_loss: Annotated[float, BeforeValidator(_share)]
    selection_metric: Annotated[str, BeforeValidator(_metric)]
    time_split_cutoff_year: PositiveInt
    feature_sets: Annotated[
        dict[str, Annotated[list[str], BeforeValidator(_features)]], _non_empty("mapping")
    ]
    models: Annotated[dict[str, dict[str, Any]], _non_empty("mapping")]
    experiments: Annotated[list[Any], _non_empty("list")]


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def first_error(exc: ValidationError, prefix: tuple[Any, ...], known: list[str], noun: str):
    """The first problem pydantic found, as ``<key> <what is wrong>``; a key that is not known
    before all else: a misspelt one explains the missing one (``learning_rat`` was said as
    ``learning_rate is missing``)."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = _where(prefix + tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{key} is not {noun} (known: {known})"
    if error["type"] == "missing":
        return f"{key} is missing"
    if error["type"] == "list_type":  # pydantic said "Input should be a valid list"
        given = error.get("input")
        what = "nothing (every entry commented out?)" if given is None else repr(given)
        return f"{key} must be a list, one `- ...` entry per line, got {what}"
    if error["type"] == "dict_type":  # pydantic said "Input should be a valid dictionary"
        example = " such as {type: majority}" if key.startswith("models.") else ""
        return f"{key} must be a mapping of keys to values{example}, got {error.get('input')!r}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] != "value_error":
        message += f", got {error.get('input')!r}"
    return f"{key} {message}"


def _model_spec(name: str, spec: Any, where: str) -> ModelSpec:
    key = f"models.{name}"
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"{where}: {key} must have a type")
    if spec["type"] not in KINDS:
        raise ConfigError(
            f"{where}: {key}.type must be one of {sorted(KINDS)}, got {spec['type']!r}"
        )
    kind = KINDS[spec["type"]]
    values = {k: v for k, v in spec.items() if k != "type"}
    try:
        options = kind.params.model_validate(values)
    except ValidationError as exc:
        known = sorted(kind.params.model_fields)
        noun = f"a parameter of {kind.name}"
        raise ConfigError(f"{where}: {first_error(exc, (key,), known, noun)}") from None
    return ModelSpec(name, kind.name, options.model_dump(), options)


def parse_tracks_config(raw: Any, where: str = "tracks.yml") -> TracksConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the file must be a mapping of keys to values")
    try:
        parsed = TracksFile.model_validate(raw)
    except ValidationError as exc:
        known = sorted(TracksFile.model_fields)
        raise ConfigError(f"{where}: {first_error(exc, (), known, 'a known key')}") from None
    models = {name: _model_spec(name, spec, where) for name, spec in parsed.models.items()}
    experiments = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(parsed.experiments):
        key = f"experiments[{i}]"
        try:
            entry = _ExperimentEntry.model_validate(entry)
        except ValidationError:
            raise ConfigError(
                f"{where}: {key} must have exactly `model` and `feature_set`"
            ) from None
        if entry.model not in models:
            raise ConfigError(
                f"{where}: {key}.model names an unknown model {entry.model!r} "
                f"(known: {sorted(models)})"
            )
        if entry.feature_set not in parsed.feature_sets:
            raise ConfigError(
                f"{where}: {key}.feature_set names an unknown feature set "
                f"{entry.feature_set!r} (known: {sorted(parsed.feature_sets)})"
            )
        # Twice, it was fitted and recorded twice (two MLflow runs for one experiment).
        pair = (entry.model, entry.feature_set)
        if pair in seen:
            raise ConfigError(
                f"{where}: {key} repeats experiments[{seen[pair]}] "
                f"({entry.model}/{entry.feature_set}): keep one"
            )
        seen[pair] = i
        experiments.append(
            Experiment(
                models[entry.model], entry.feature_set, parsed.feature_sets[entry.feature_set]
            )
        )
    return TracksConfig(
        seed=parsed.seed,
        validation_fraction=parsed.validation_fraction,
        calibration_fraction=parsed.calibration_fraction,
        new_artist_fraction=parsed.new_artist_fraction,
        max_accuracy_loss=parsed.max_accuracy_loss,
        selection_metric=parsed.selection_metric,
        time_split_cutoff_year=parsed.time_split_cutoff_year,
        feature_sets={k: list(v) for k, v in parsed.feature_sets.items()},
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
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder: give the config file (YAML) in it") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8 (YAML)") from None
    except yaml.constructor.ConstructorError as exc:  # ours (a repeated key) says its lines
        problem = " ".join(str(exc.problem).split())
        mark = exc.problem_mark
        if mark and "line" not in problem:  # PyYAML's own (an unknown tag): where it is
            problem = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        raise ConfigError(f"{path}: {problem}") from None
    except yaml.MarkedYAMLError as exc:  # where the parser stopped, and why, in one line
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "not valid YAML").split())
        raise ConfigError(f"{path}: {where}{problem} (not valid YAML)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None


def load_tracks_config(path: Path | None = None) -> TracksConfig:
    """The training config: the project's tracks.yml (named so in messages), or ``path``
    (`--config`, named by the path given: its name alone could be any folder's)."""
    where = "tracks.yml" if path is None else str(path)
    path = path or CONFIG_DIR / "tracks.yml"
    return parse_tracks_config(read_yaml(path), where=where)
