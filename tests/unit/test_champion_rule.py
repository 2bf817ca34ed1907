"""The champion rule (python_ml/tracks/champion.py): the simplest model within the bootstrap
noise of the best wins; a clearly better model wins over a simpler one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from python_ml.tracks.champion import Candidate, Current, choose, stays


def _candidate(label, model_type, pred, y, n_features=15, seconds=1.0):
    score = float((pred == y).mean())
    return Candidate(label, label, model_type, n_features, seconds, score, pred)


def _noisy(y, accuracy, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(y)) < accuracy, y, (y + 1) % 3)


Y = np.random.default_rng(0).integers(0, 3, 600)


def test_the_simplest_model_within_the_noise_wins():
    network = _candidate("keras/full", "keras", _noisy(Y, 0.81, 1), Y)
    linear = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.80, 2), Y)
    chosen, rule = choose([network, linear], Y, 3, "accuracy", seed=0)
    assert chosen is linear
    assert rule.startswith("simplest model within the bootstrap noise")


def test_a_clearly_better_model_wins():
    network = _candidate("keras/full", "keras", _noisy(Y, 0.95, 1), Y)
    majority = _candidate("majority/full", "majority", np.zeros_like(Y), Y)
    chosen, rule = choose([majority, network], Y, 3, "accuracy", seed=0)
    assert chosen is network
    assert rule.startswith("best validation accuracy")


def test_the_rule_names_the_models_as_good_but_not_simpler():
    network = _candidate("keras/full", "keras", _noisy(Y, 0.80, 1), Y)
    other = _candidate("keras/audio", "keras", _noisy(Y, 0.79, 2), Y, n_features=20)
    chosen, rule = choose([network, other], Y, 3, "macro_f1", seed=0)
    assert chosen is network
    assert rule == (
        f"best validation macro-F1 ({network.score:.4f}); keras/audio is within its bootstrap "
        "noise but not simpler than it"
    )


def test_fewer_features_break_a_tie_of_kind():
    pred = _noisy(Y, 0.8, 3)
    full = _candidate("hgb/full", "hist_gradient_boosting", pred, Y, n_features=15)
    audio = _candidate("hgb/audio", "hist_gradient_boosting", pred, Y, n_features=11)
    chosen, _ = choose([full, audio], Y, 3, "accuracy", seed=0)
    assert chosen is audio


def test_the_champion_stays_only_against_a_figure_of_the_same_fold_from_outside_the_training():
    """A champion validated on another fold (a training with seed 7, say) was kept by a
    default training because its 0.676 on that fold beat 0.548 on the default one; a champion
    whose experiment was in the training (reused, or fitted again by --force) was kept against
    the rule's choice of a simpler model within the noise."""
    chosen = _candidate("logistic_regression/full", "logistic_regression", Y, Y)
    chosen.score = 0.55
    fold = ("42", "0.1")
    labels = {"logistic_regression/full", "majority/full"}  # a training of some experiments
    strong = Current("hist_gradient_boosting/full", 0.676, "old", fold)
    assert stays(strong, chosen, labels, fold, "macro_f1") == (
        "its validation macro_f1 0.6760 >= 0.5500 of logistic_regression/full, on the same fold"
    )
    assert stays(replace(strong, run_id=chosen.run_id), chosen, labels, fold) == (
        "the rule chose it again"
    )
    assert stays(replace(strong, fold=("7", "0.1")), chosen, labels, fold) is None
    assert stays(replace(strong, fold=None), chosen, labels, fold) is None
    # Its experiment in the training, its run reused or not (a refit has another run id).
    assert stays(strong, chosen, {*labels, "hist_gradient_boosting/full"}, fold) is None
    assert stays(replace(strong, score=0.5), chosen, labels, fold) is None
    assert stays(None, chosen, labels, fold) is None
