"""The champion rule (python_ml/tracks/champion.py): the simplest model within the bootstrap
noise of the best wins; a clearly better model wins over a simpler one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from python_ml.tracks.champion import Candidate, Current, choose, choose_beside


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


FOLD = ("42", "0.1")


def _weighed(label, model_type, pred, score=None):
    """A reader of the current champion's run that gives it as this candidate."""
    candidate = _candidate(label, model_type, pred, Y)
    candidate.run_id = "old"
    if score is not None:
        candidate.score = score
    return lambda current, metric, rows: candidate if rows == len(Y) else None


def test_a_training_of_some_experiments_chooses_as_the_full_training_would():
    """`train --only hist_gradient_boosting/full` promoted it over the champion, a logistic
    regression the full training had chosen as the simpler model within its noise (its raw
    figure was lower), and the next full `run` put the logistic regression back: the champion
    is weighed beside the training's runs by the same rule."""
    boosting = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.81, 1), Y
    )
    linear_pred = _noisy(Y, 0.80, 2)
    current = Current("logistic_regression/full", float((linear_pred == Y).mean()), "old", FOLD)
    assert current.score < boosting.score
    read = _weighed("logistic_regression/full", "logistic_regression", linear_pred)
    full, _ = choose([boosting, read(current, "accuracy", len(Y))], Y, 3, "accuracy", seed=0)
    assert full.label == "logistic_regression/full"  # what the full training chooses
    chosen, rule, why = choose_beside([boosting], current, FOLD, Y, 3, "accuracy", 0, read)
    assert chosen.run_id == "old" and why == (
        "weighed by the same rule beside this training's runs"
    )
    assert rule.startswith("simplest model within the bootstrap noise")
    # A clearly better run replaces it, and the rule names what it was weighed against.
    strong = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.97, 3), Y
    )
    chosen, rule, why = choose_beside([strong], current, FOLD, Y, 3, "accuracy", 0, read)
    assert chosen is strong and why is None and rule.startswith("best validation accuracy")


def test_the_champion_is_weighed_only_on_the_same_fold_from_outside_the_training():
    """A champion validated on another fold (a training with seed 7, say) was kept by a
    default training because its 0.676 on that fold beat 0.548 on the default one; a champion
    whose experiment was in the training (reused, or fitted again by --force) was kept against
    the rule's choice of a simpler model within the noise."""
    chosen = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.55, 4), Y)
    strong = Current("hist_gradient_boosting/full", 0.9, "old", FOLD)
    # Its recorded calls on the same rows are weighed, not its figure alone.
    read = _weighed("hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.9, 5))
    assert choose_beside([chosen], strong, FOLD, Y, 3, "macro_f1", 0, read)[2] == (
        "weighed by the same rule beside this training's runs"
    )

    def never(*args):
        raise AssertionError("not to be weighed")

    def promoted(current, candidates=(chosen,), reader=never):
        return choose_beside(list(candidates), current, FOLD, Y, 3, "macro_f1", 0, reader)

    assert promoted(replace(strong, fold=("7", "0.1")))[::2] == (chosen, None)
    assert promoted(replace(strong, fold=None))[::2] == (chosen, None)
    assert promoted(None)[::2] == (chosen, None)
    # Its experiment in the training, its run reused or not (a refit has another run id).
    refit = replace(chosen, label="hist_gradient_boosting/full", run_id="new")
    assert promoted(strong, (chosen, refit))[2] is None
    # The rule chose the champion's own run, reused.
    again = replace(strong, run_id=chosen.run_id, label=chosen.label)
    assert promoted(again)[2] == "the rule chose it again"
    # Its calls not recorded (a run from before they were kept): the rule's choice replaces it.
    assert promoted(strong, reader=lambda *args: None)[::2] == (chosen, None)
