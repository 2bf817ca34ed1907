"""The tracks config schema (python_ml/configs/tracks.yml): every bad value is named by its
key before any fit."""

from __future__ import annotations

import copy

import pytest
import yaml

from python_ml.tracks import config as config_module

BASE_CONFIG = yaml.safe_load((config_module.CONFIG_DIR / "tracks.yml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(seeds=1), "seeds is not a known key"),
        (lambda c: c.pop("experiments"), "experiments is missing"),
        (  # every entry commented out: pydantic said "Input should be a valid list"
            lambda c: c.update(experiments=None),
            "tracks.yml: experiments must be a list, one `- ...` entry per line, got nothing",
        ),
        (  # a misspelt key is named, not the key it leaves missing
            lambda c: c.update(seeed=c.pop("seed")),
            "tracks.yml: seeed is not a known key",
        ),
        (
            lambda c: c["models"]["hist_gradient_boosting"].update(
                learning_rat=c["models"]["hist_gradient_boosting"].pop("learning_rate")
            ),
            "models.hist_gradient_boosting.learning_rat is not a parameter of "
            "hist_gradient_boosting",
        ),
        (
            lambda c: c["models"]["hist_gradient_boosting"].update(max_iter="many"),
            "models.hist_gradient_boosting.max_iter must be a positive integer, got 'many'",
        ),
        (
            lambda c: c["models"]["neural_network"].update(dropout=[0.3]),
            "models.neural_network.dropout must have one rate per hidden layer",
        ),
        (lambda c: c["feature_sets"]["full"].append("artist_popularity"), "leaks the target"),
        (
            lambda c: c["feature_sets"]["audio"].append("loudnes"),
            "feature_sets.audio names 'loudnes', which is not a column",
        ),
        (  # where the rows came from is a column of the train table, never a feature
            lambda c: c["feature_sets"]["audio"].append("data_origin"),
            "feature_sets.audio names 'data_origin', which is not a column",
        ),
        (
            lambda c: c["experiments"].append({"model": "svm", "feature_set": "audio"}),
            "experiments\\[\\d+\\].model names an unknown model 'svm'",
        ),
        (lambda c: c.update(validation_fraction=0.9), "validation_fraction must be a number"),
        # Past numpy's and scikit-learn's range it failed at training, in scikit-learn's words
        # (and recorded a failed run); 0 is a seed too.
        (
            lambda c: c.update(seed=99999999999999999999),
            "tracks.yml: seed must be an integer from 0 to 4,294,967,295, got 99999999999999999999",
        ),
        (lambda c: c.update(seed=-1), "seed must be an integer from 0 to 4,294,967,295, got -1"),
        (lambda c: c["models"]["majority"].update(type="forest"), "models.majority.type must be"),
        # An entry left empty, or a list: said in words (pydantic's "Input should be a valid
        # dictionary, got None").
        (
            lambda c: c["models"].update(majority=None),
            "models.majority must be a mapping of keys to values such as \\{type: majority\\}, "
            "got None",
        ),
        (
            lambda c: c["models"].update(majority=["type", "majority"]),
            "models.majority must be a mapping of keys to values",
        ),
        # Twice, it was fitted and recorded twice (two MLflow runs for one experiment).
        (
            lambda c: c["experiments"].append(dict(c["experiments"][0])),
            "experiments\\[\\d+\\] repeats experiments\\[0\\] \\(majority/full\\): keep one",
        ),
    ],
)
def test_config_errors_name_the_bad_key(change, message) -> None:
    raw = copy.deepcopy(BASE_CONFIG)
    change(raw)
    with pytest.raises(config_module.ConfigError, match=message):
        config_module.parse_tracks_config(raw)


def test_a_seed_of_0_and_of_the_largest_value_are_taken() -> None:
    for seed in (0, 2**32 - 1):
        assert (
            config_module.parse_tracks_config({**copy.deepcopy(BASE_CONFIG), "seed": seed}).seed
            == seed
        )


def test_shipped_config_is_valid() -> None:
    cfg = config_module.load_tracks_config()
    assert {e.model.type for e in cfg.experiments} == {
        "majority",
        "logistic_regression",
        "hist_gradient_boosting",
        "keras",
    }
    assert all("artist_popularity" not in e.features for e in cfg.experiments)


@pytest.mark.parametrize(
    ("value", "experiments", "workers"),
    [("1", 5, 1), ("2", 5, 2), ("8", 3, 3), (None, 1, 1), (None, 5, 3), (None, 2, 2)],
)
def test_training_workers_are_one_per_experiment_at_most(
    monkeypatch: pytest.MonkeyPatch, value: str | None, experiments: int, workers: int
) -> None:
    """By default one more than the cores (2 here), at most one per experiment."""
    from python_ml.tracks import train
    from python_ml.tracks.train import training_workers

    monkeypatch.setattr(train, "_cores", lambda: 2)
    if value is None:
        monkeypatch.delenv("MUSIC_TRAIN_WORKERS", raising=False)
    else:
        monkeypatch.setenv("MUSIC_TRAIN_WORKERS", value)
    assert training_workers(experiments) == workers


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_training_workers_value_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from python_ml.tracks.train import training_workers

    monkeypatch.setenv("MUSIC_TRAIN_WORKERS", value)
    with pytest.raises(config_module.ConfigError, match=f"MUSIC_TRAIN_WORKERS='{value}'"):
        training_workers(5)
