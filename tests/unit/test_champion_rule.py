"""The champion rule (python_ml/tracks/champion.py): the simplest model within the bootstrap
noise of the best wins; a clearly better model wins over a simpler one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from python_ml.tracks.champion import (
    Candidate,
    Current,
    NotComparable,
    NotRecorded,
    choose,
    choose_beside,
)


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


def _reader(*candidates):
    """A reader of the champion's run: its candidate, as as_candidate gives it."""
    by_id = {c.run_id: c for c in candidates}

    def read(run, metric, rows):
        assert rows == len(Y)
        return by_id.get(run.run_id) or NotRecorded("no calls")

    return read


def _outside(candidate):
    """The champion as rule 3. finds it."""
    return Current(candidate.label, candidate.score, candidate.run_id, FOLD)


def test_a_training_of_some_experiments_chooses_as_the_full_training_would():
    """`train --only hist_gradient_boosting/full` promoted it over the champion, a logistic
    regression the full training had chosen as the simpler model within its noise (its raw
    figure was lower), and the next full `run` put the logistic regression back: the champion
    is weighed beside the training's runs by the same rule."""
    boosting = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.81, 1), Y
    )
    linear = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.80, 2), Y)
    linear.run_id = "old"
    assert linear.score < boosting.score
    full, _ = choose([boosting, linear], Y, 3, "accuracy", seed=0)
    assert full is linear  # what the full training chooses
    current = _outside(linear)
    chosen, rule, why = choose_beside(
        [boosting], current, FOLD, Y, 3, "accuracy", 0, read=_reader(linear)
    )
    assert chosen is linear and why == "weighed by the same rule beside this training's runs"
    assert rule.startswith("simplest model within the bootstrap noise")
    assert rule.endswith(
        "; with earlier runs not fitted by this training: logistic_regression/full (run old)"
    )
    # A clearly better run replaces it.
    strong = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.97, 3), Y
    )
    chosen, rule, why = choose_beside(
        [strong], current, FOLD, Y, 3, "accuracy", 0, read=_reader(linear)
    )
    assert chosen is strong and why is None and rule.startswith("best validation accuracy")


def test_the_left_out_experiments_set_the_bar_as_in_the_full_training():
    """With the champion alone weighed, `train --only logistic_regression/full` promoted the
    logistic regression (0.800) as within the noise of the champion's gradient boosting
    (0.842), while the full training had kept the gradient boosting: the network's 0.870 set
    the bar there, and the logistic regression was outside its noise (found by a review). The
    runs a full training would reuse of the experiments left out are weighed."""
    network = _candidate("neural_network/full", "keras", _noisy(Y, 0.86, 1), Y)
    boosting = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.83, 1001), Y
    )
    linear = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.80, 2001), Y)
    boosting.run_id, network.run_id = "champion", "network"
    assert choose([network, boosting, linear], Y, 3, "accuracy", seed=0)[0] is boosting
    assert choose([linear, boosting], Y, 3, "accuracy", seed=0)[0] is linear  # without it

    def never(*args):
        raise AssertionError("the champion's run is among the left-out runs: not read again")

    chosen, rule, why = choose_beside(
        [linear], _outside(boosting), FOLD, Y, 3, "accuracy", 0, [network, boosting], never
    )
    assert chosen is boosting and why == "weighed by the same rule beside this training's runs"
    assert rule.endswith(
        "; with earlier runs not fitted by this training: neural_network/full (run network), "
        "hist_gradient_boosting/full (run champion)"
    )


def test_a_left_out_run_that_the_rule_chooses_is_promoted():
    """A new run of a stronger model raises the bar, and a simpler run the training left out
    is within its noise: the full training would promote that earlier run, and so does this
    one (it was looked for among this training's runs alone, and `train` stopped)."""
    network = _candidate("neural_network/full", "keras", _noisy(Y, 0.86, 1), Y)
    boosting = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.83, 1001), Y
    )
    boosting.run_id = "earlier"
    majority = Current("majority/full", 0.4, "champion", FOLD)
    chosen, rule, why = choose_beside(
        [network], majority, FOLD, Y, 3, "accuracy", 0, [boosting], _reader()
    )
    assert chosen is boosting and why is None
    assert rule.startswith("simplest model within the bootstrap noise")


def test_the_champion_is_weighed_only_on_the_same_fold_from_outside_the_training():
    """A champion validated on another fold (a training with seed 7, say) was kept by a
    default training because its 0.676 on that fold beat 0.548 on the default one; a champion
    whose experiment was in the training (reused, or fitted again by --force) was kept against
    the rule's choice of a simpler model within the noise."""
    chosen = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.55, 4), Y)
    champion = _candidate(
        "hist_gradient_boosting/full", "hist_gradient_boosting", _noisy(Y, 0.9, 5), Y
    )
    champion.run_id = "old"
    strong = _outside(champion)
    # Its recorded calls on the same rows are weighed, not its figure alone.
    assert choose_beside([chosen], strong, FOLD, Y, 3, "macro_f1", 0, read=_reader(champion))[
        2
    ] == ("weighed by the same rule beside this training's runs")

    def never(*args):
        raise AssertionError("not to be weighed")

    def promoted(current, candidates=(chosen,), reader=never):
        return choose_beside(list(candidates), current, FOLD, Y, 3, "macro_f1", 0, read=reader)

    assert promoted(replace(strong, fold=("7", "0.1")))[::2] == (chosen, None)
    assert promoted(replace(strong, fold=None))[::2] == (chosen, None)
    assert promoted(None)[::2] == (chosen, None)
    # Its experiment in the training, its run reused or not (a refit has another run id).
    refit = replace(chosen, label="hist_gradient_boosting/full", run_id="new")
    assert promoted(strong, (chosen, refit))[2] is None
    # The rule chose the champion's own run, reused.
    again = replace(strong, run_id=chosen.run_id, label=chosen.label)
    assert promoted(again)[2] == "the rule chose it again"
    # Its calls not recorded (a run from before they were kept): its figure alone, on the same
    # fold, as before (a majority baseline replaced it in `train --only majority`).
    unread = promoted(strong, reader=lambda *args: NotRecorded("no calls"))
    assert unread[0] is chosen and unread[2] == (
        "its calls on the validation rows are not recorded, and its validation macro_f1 "
        f"{champion.score:.4f} >= {chosen.score:.4f} of logistic_regression/full, on the same fold"
    )
    assert promoted(replace(strong, score=0.1), reader=lambda *a: NotRecorded("x"))[::2] == (
        chosen,
        None,
    )
    # Its calls of other rows or classes: not compared, whatever its figure.
    assert promoted(strong, reader=lambda *args: NotComparable("other rows"))[::2] == (
        chosen,
        None,
    )


def test_a_run_is_read_as_a_candidate_only_with_the_trainings_classes_in_order(monkeypatch):
    """A weighed run's calls are class indexes: a seed with the classes in another order
    would have them read as other classes (the data's fingerprint holds the names only)."""
    from types import SimpleNamespace

    import mlflow

    from python_ml.tracks.champion import as_candidate

    run = SimpleNamespace(
        info=SimpleNamespace(artifact_uri="file:///runs/old"),
        data=SimpleNamespace(
            tags={"model_type": "logistic_regression"}, params={"features": "a,b"}
        ),
    )
    saved = {
        "result.json": {
            "validation_pred": Y.tolist(),
            "seconds": 2.5,
            "metrics": {"validation": {"macro_f1": 0.61}},
        },
        "decision_rule.json": {"class_names": ["ice_cold", "lukewarm", "blazing_hot"]},
    }
    monkeypatch.setattr(mlflow, "MlflowClient", lambda: SimpleNamespace(get_run=lambda _: run))
    monkeypatch.setattr(mlflow.artifacts, "load_dict", lambda uri: saved[uri.rsplit("/", 1)[1]])
    current = Current("logistic_regression/full", 0.61, "old", FOLD)
    classes = ["ice_cold", "lukewarm", "blazing_hot"]
    candidate = as_candidate(current, "macro_f1", len(Y), classes)
    assert (candidate.model_type, candidate.n_features, candidate.score) == (
        "logistic_regression",
        2,
        0.61,
    )
    assert (candidate.validation_pred == Y).all()
    assert isinstance(as_candidate(current, "macro_f1", len(Y), classes[::-1]), NotComparable)
    assert isinstance(as_candidate(current, "macro_f1", len(Y) - 1, classes), NotComparable)
    del saved["result.json"]["validation_pred"]  # a run from before the calls were kept
    assert isinstance(as_candidate(current, "macro_f1", len(Y), classes), NotRecorded)


def test_the_champion_is_not_read_when_a_run_of_its_experiment_is_weighed():
    """A left-out experiment's run a full training would reuse stands for it (a refit with
    the same inputs has another run id): the champion's own run is not weighed beside it."""
    linear = _candidate("logistic_regression/full", "logistic_regression", _noisy(Y, 0.8, 2), Y)
    linear.run_id = "refit"
    majority = _candidate("majority/full", "majority", np.zeros_like(Y), Y)

    def never(*args):
        raise AssertionError("not to be read")

    current = Current("logistic_regression/full", 0.8, "champion", FOLD)
    chosen, rule, why = choose_beside(
        [majority], current, FOLD, Y, 3, "accuracy", 0, [linear], never
    )
    assert chosen is linear and why is None  # the refit is promoted, as in a full training
    assert rule.endswith(
        "with earlier runs not fitted by this training: logistic_regression/full (run refit)"
    )
