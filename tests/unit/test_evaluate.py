"""The decision rule, calibration figures and temperature scaling, on arrays made here."""

from __future__ import annotations

import numpy as np
import pytest

from python_ml.tracks import evaluate


def test_decide_is_argmax_of_probability_times_weight():
    proba = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.2, 0.7, 0.1]])
    assert evaluate.decide(proba).tolist() == [0, 0, 1]
    # Weighting the rare third class calls it where p x w wins: 0.3 x 2 > 0.5 x 1.
    assert evaluate.decide(proba, [1.0, 1.0, 2.0]).tolist() == [0, 2, 1]


def test_confusion_and_macro_f1():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    matrix = evaluate.confusion(y_true, y_pred, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert evaluate.metric_from_confusion(matrix, "accuracy") == pytest.approx(4 / 6)
    # F1 per class: 0.5, 0.8, 2/3.
    assert evaluate.metric_from_confusion(matrix, "macro_f1") == pytest.approx(
        (0.5 + 0.8 + 2 / 3) / 3
    )


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_not():
    # 10 rows at confidence 0.8, 8 of them right: calibrated.
    proba = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert evaluate.expected_calibration_error(y, proba) == pytest.approx(0.0, abs=1e-12)
    # The same confidence, every row wrong: the gap is the whole confidence.
    assert evaluate.expected_calibration_error(np.ones(10, int), proba) == pytest.approx(0.8)


def test_brier_score():
    proba = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert evaluate.brier_score(np.array([0, 0]), proba) == pytest.approx((0 + 0.5) / 2)


def test_tuned_weights_call_a_rare_class_within_the_accuracy_budget():
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.choice(3, n, p=[0.6, 0.35, 0.05])
    # Probabilities that know the rare class a little but never make it the argmax.
    proba = np.full((n, 3), 0.0)
    proba[:, 0] = np.where(y == 0, 0.55, 0.45)
    proba[:, 2] = np.where(y == 2, 0.2, 0.05)
    proba[:, 1] = 1 - proba[:, 0] - proba[:, 2]
    plain = evaluate.decide(proba)
    assert (plain == 2).sum() == 0
    weights = evaluate.tune_decision_weights(y, proba, "macro_f1", max_accuracy_loss=0.01)
    called = evaluate.decide(proba, weights)
    acc = lambda p: evaluate.metric_from_confusion(evaluate.confusion(y, p, 3), "accuracy")  # noqa: E731
    f1 = lambda p: evaluate.metric_from_confusion(evaluate.confusion(y, p, 3), "macro_f1")  # noqa: E731
    assert weights[0] == 1.0
    assert f1(called) > f1(plain)
    assert acc(called) >= acc(plain) - 0.01 - 1e-12
    assert (called == 2).sum() > 0


def test_weights_stay_one_when_the_rule_cannot_help():
    y = np.array([0, 1, 2] * 10)
    proba = np.eye(3)[y] * 0.9 + 0.1 / 3
    assert evaluate.tune_decision_weights(y, proba, "macro_f1") == [1.0, 1.0, 1.0]
    assert evaluate.tune_decision_weights(y, proba, "accuracy") == [1.0, 1.0, 1.0]


def test_temperature_softens_overconfident_probabilities():
    rng = np.random.default_rng(1)
    n = 2000
    y = rng.integers(0, 2, n)
    right = rng.random(n) < 0.7  # 70% right, but claimed at 0.99
    top = np.where(right, y, 1 - y)
    proba = np.where(np.eye(2)[top] == 1, 0.99, 0.01)
    temperature = evaluate.fit_temperature(y, proba)
    assert temperature > 1.5
    scaled = evaluate.apply_temperature(proba, temperature)
    assert np.allclose(scaled.sum(axis=1), 1.0)
    assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()  # classes unchanged
    assert evaluate.expected_calibration_error(y, scaled) < evaluate.expected_calibration_error(
        y, proba
    )
    assert evaluate.apply_temperature(proba, 1.0) is proba


def test_bootstrap_interval_is_reproducible_and_brackets_the_difference():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 500)
    a = np.where(rng.random(500) < 0.8, y, (y + 1) % 3)
    b = np.where(rng.random(500) < 0.6, y, (y + 1) % 3)
    first = evaluate.bootstrap_difference(y, a, b, 3, "accuracy", seed=5)
    assert first == evaluate.bootstrap_difference(y, a, b, 3, "accuracy", seed=5)
    low, high = first
    assert 0 < low < high  # a is clearly better
    same = evaluate.bootstrap_difference(y, a, a, 3, "accuracy")
    assert same == (0.0, 0.0)


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_the_rule_search_counts_what_argmax_of_the_weighted_probabilities_calls(n_classes):
    # The rule search's counting (rows grouped by true class, comparisons) gives the matrix
    # of confusion(decide(...)) to the count, ties included (rounded probabilities, a
    # column scaled by 1 against an equal one).
    rng = np.random.default_rng(n_classes)
    proba = np.round(rng.dirichlet(np.ones(n_classes), 2000), 2)
    proba[:100] = proba[0]
    y = rng.integers(0, n_classes, 2000)
    counts = evaluate._RuleCounts(y, proba)
    for weights in [np.ones(n_classes), *rng.choice(evaluate.WEIGHT_GRID, (20, n_classes))]:
        weights[0] = 1.0
        expected = evaluate.confusion(y, evaluate.decide(proba, weights), n_classes)
        assert counts(weights).tolist() == expected.tolist()
