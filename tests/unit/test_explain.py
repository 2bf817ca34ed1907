"""Per-track explanations: why the class called won over the runner-up (the class the decision
rule ranks next). The contributions and the baseline add up to the called class's score minus the
runner-up's for every kind (exactly for the linear model and the trees, by construction for the
sampled Shapley values of the network), and the reasons name the largest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from python_ml.tracks.evaluate import classification_metrics
from python_ml.tracks.explain import explain, permutation_importance, reasons_text
from python_ml.tracks.kinds import KINDS
from python_ml.tracks.kinds.base import sampled_shapley
from python_ml.tracks.models import FittedModel, make_preprocessor

FEATURES = ["danceability", "release_year", "artist_followers", "duration_ms"]


def _fitted(kind: str = "logistic_regression") -> tuple[FittedModel, pd.DataFrame]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "danceability": rng.uniform(0, 1, 400),
            "release_year": rng.integers(1950, 2021, 400).astype(float),
            "artist_followers": rng.lognormal(8, 2, 400),
            "duration_ms": rng.normal(220_000, 40_000, 400),
        }
    )
    frame.loc[::17, "artist_followers"] = np.nan  # imputed, as a missing artist is
    y = np.digitize(frame["release_year"] + rng.normal(0, 15, 400), [1980, 2005])
    preprocessor = make_preprocessor(FEATURES).fit(frame)
    x = preprocessor.transform(frame).astype(np.float32)
    if kind == "logistic_regression":
        estimator = LogisticRegression(max_iter=500).fit(x, y)
    else:
        estimator = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y)
    classes = ["ice_cold", "lukewarm", "blazing_hot"]
    return FittedModel(kind, FEATURES, classes, preprocessor, estimator), frame


def _rows(model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
    """The rows the model sees: preprocessed, float32 as when it scores."""
    return model.preprocessor.transform(frame[model.features]).astype(np.float32)


def _runner_up(model: FittedModel, frame: pd.DataFrame, called: np.ndarray) -> np.ndarray:
    weighted = model.predict_proba(frame) * np.asarray(model.decision_weights or [1.0] * 3)
    weighted[np.arange(len(frame)), called] = -1.0
    return weighted.argmax(axis=1)


def test_linear_contributions_and_baseline_add_up_to_the_logit_over_the_runner_up() -> None:
    model, frame = _fitted()
    model.decision_weights = [1.0, 1.3, 4.0]  # a rule that calls a rarer class sooner
    called = model.decide(model.predict_proba(frame))
    baseline, contributions, score, over = model.explain(frame, called)
    assert list(contributions.columns) == FEATURES
    assert (over == _runner_up(model, frame, called)).all() and (over != called).all()
    logits = model.estimator.decision_function(_rows(model, frame))
    rows = np.arange(len(frame))
    expected = logits[rows, called] - logits[rows, over]
    assert np.abs(score - expected).max() < 1e-6  # the model's own logits (float32 rows)
    assert np.abs(baseline + contributions.sum(axis=1).to_numpy() - expected).max() < 1e-6
    # Each part is the coefficient difference times the standardised value.
    x = _rows(model, frame).astype(np.float64)
    coef = model.estimator.coef_
    exact = (coef[called] - coef[over]) * x
    assert np.abs(contributions.to_numpy() - exact).max() < 1e-6


def test_the_explained_difference_is_the_lead_of_the_class_called() -> None:
    """Against its own score, 95% of the lukewarm calls had a negative first reason (release
    year lowered the lukewarm logit, and the others' more), read as 'against lukewarm'. Over
    the runner-up, baseline plus contributions are how far the class called led: positive
    wherever the rule called the most probable class, and the reasons name that runner-up."""
    model, frame = _fitted()
    proba = model.predict_proba(frame)
    called = model.decide(proba)
    explanation = explain(model, frame, called, proba=proba)
    assert (explanation.score > 0).all()  # no decision weights here: argmax
    assert {*explanation.over} <= set(model.class_names)
    assert (explanation.over != np.asarray(model.class_names, dtype=object)[called]).all()
    why = explain(model, frame, called).top()
    assert [entries[0]["over"] for entries in why] == explanation.over.tolist()


def test_reasons_name_the_largest_contributions_first() -> None:
    model, frame = _fitted()
    called = model.decide(model.predict_proba(frame))
    why = explain(model, frame, called).top()
    _, contributions, _, _ = model.explain(frame, called)
    assert len(why) == len(frame)
    for entries, (_, row) in zip(why, contributions.iterrows(), strict=True):
        assert [e["feature"] for e in entries] == list(
            row.abs().sort_values(ascending=False).index[:3]
        )
    # Release year drives these classes: it is the first reason of most tracks.
    assert np.mean([entries[0]["feature"] == "release_year" for entries in why]) > 0.5
    text = reasons_text(why[0])
    assert text.startswith(f"over {why[0][0]['over']}: ")
    assert text.count(",") == 2 and ("+" in text or "-" in text)


def test_tree_contributions_are_treeshap_and_add_up_to_the_raw_score() -> None:
    model, frame = _fitted("hist_gradient_boosting")
    called = model.decide(model.predict_proba(frame))
    explanation = explain(model, frame, called)
    raw = model.estimator._raw_predict(_rows(model, frame))  # the trees' sum per class
    over = _runner_up(model, frame, called)
    names = np.asarray(model.class_names, dtype=object)
    assert (explanation.over == names[over]).all()
    rows = np.arange(len(frame))
    expected = raw[rows, called] - raw[rows, over]
    assert np.abs(explanation.score - expected).max() < 1e-9  # the model's own raw score
    rebuilt = explanation.baseline + explanation.contributions.to_numpy().sum(axis=1)
    assert np.abs(rebuilt - expected).max() < 1e-6
    assert explanation.contributions.abs().to_numpy().max() > 0.1  # the trees use features


def test_sampled_shapley_adds_up_for_any_model_and_is_reproducible() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] * x[:, 1] + x[:, 2] > 0).astype(int) + (x[:, 3] > 1)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=0).fit(x, y)

    def score(rows: np.ndarray) -> np.ndarray:
        return np.log(mlp.predict_proba(rows))

    baseline, parts = sampled_shapley(score, x[:50], chunk_rows=16)
    assert parts.shape == (50, 5, 3)
    assert np.abs(baseline + parts.sum(axis=1) - score(x[:50].astype(np.float32))).max() < 1e-6
    assert np.allclose(baseline, score(np.zeros((1, 5)))[0])
    again = sampled_shapley(score, x[:50])[1]
    assert np.array_equal(parts, again)  # the same orders every time, whatever the chunking
    # The network's kind uses it: the majority baseline's log probabilities never move.
    _, flat = KINDS["majority"].contributions(DummyClassifier().fit(x, y), x[:10])
    assert np.abs(flat).max() < 1e-12


def test_sampled_shapley_is_exact_for_an_additive_score() -> None:
    """For a score that is a sum of one function per feature, every order gives each feature
    exactly f_j(x_j) - f_j(0): a wrong feature-to-order mapping would show here."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 6))
    weights = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0], [-1.0, 1.0], [2.0, 2.0], [0.0, 0.0]])

    def score(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64)
        return np.sin(rows) @ weights + (rows**2) @ np.abs(weights)

    baseline, parts = sampled_shapley(score, x)
    expected = np.sin(x)[:, :, None] * weights[None] + (x**2)[:, :, None] * np.abs(weights)[None]
    assert np.abs(parts - expected).max() < 1e-5  # float32 rows: about 1e-7 per value
    assert np.allclose(baseline, 0.0)


def test_ranks_and_long_table() -> None:
    model, frame = _fitted()
    called = model.decide(model.predict_proba(frame))
    explanation = explain(model, frame.head(7), called[:7])
    ranks = explanation.ranks()
    assert sorted(ranks[0]) == [1, 2, 3, 4]
    first = explanation.contributions.abs().to_numpy().argmax(axis=1)
    assert (ranks[np.arange(7), first] == 1).all()
    table = explanation.long_table([f"t{i}" for i in range(7)], "run", pd.Timestamp("2026-01-01"))
    assert table.num_rows == 28
    assert table.column("track_id").to_pylist()[:5] == ["t0"] * 4 + ["t1"]
    missing = frame.head(7)["artist_followers"].isna().to_numpy()
    values = table.to_pandas().query("feature == 'artist_followers'")["feature_value"]
    assert values.isna().to_numpy().tolist() == missing.tolist()  # a missing value stays NULL


def test_a_model_of_one_class_names_no_runner_up() -> None:
    """Its reasons read 'over ice_cold' for an ice_cold call: the class over itself."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f: rng.uniform(0, 1, 50) for f in FEATURES})
    preprocessor = make_preprocessor(FEATURES).fit(frame)
    x = preprocessor.transform(frame).astype(np.float32)
    estimator = DummyClassifier().fit(x, np.zeros(50, dtype=int))
    model = FittedModel("majority", FEATURES, ["ice_cold"], preprocessor, estimator)
    called = model.decide(model.predict_proba(frame))
    explanation = explain(model, frame, called)
    assert explanation.over.tolist() == [None] * 50
    text = reasons_text(explanation.top()[0])
    assert text is not None and not text.startswith("over ")


def test_the_lead_is_said_with_where_it_comes_from() -> None:
    """Every listed reason can be against the class called while the baseline carries it (16%
    of the lukewarm calls at 1x): the score page said only 'against: ...'."""
    from python_ml.reports.app_data import lead_in_words

    carried = lead_in_words("lukewarm", "blazing-hot", 2.3, 6.2)
    assert carried.startswith("lukewarm's score led blazing-hot's by 2.30 (before calibration)")
    assert "+6.20 from the baseline" in carried and "-3.90 from this track's features" in carried
    assert carried.endswith("The features held lukewarm back; the baseline carried it.")
    pushed = lead_in_words("ice-cold", "lukewarm", 1.5, -0.5)
    assert "held" not in pushed and "+2.00 from this track's features" in pushed
    behind = lead_in_words("blazing-hot", "lukewarm", -0.4, -2.0)
    assert behind.startswith("blazing-hot's score trailed lukewarm's by 0.40")
    assert "called although behind: the decision rule's weights" in behind


def test_permutation_importance_shuffles_the_preprocessed_column_as_if_the_values_were() -> None:
    # It preprocesses the rows once and shuffles a feature's column there: the figures are
    # those of preprocessing the rows with the feature's values shuffled, to the bit.
    for kind in ("logistic_regression", "hist_gradient_boosting"):
        model, frame = _fitted(kind)
        model.temperature = 1.3
        y = np.digitize(frame["release_year"], [1980, 2005])
        rng = np.random.default_rng(11)

        def loss(rows: pd.DataFrame, model: FittedModel = model, y: np.ndarray = y) -> float:
            proba = model.predict_proba(rows)
            return classification_metrics(y, proba, model.class_names)["log_loss"]

        base = loss(frame[FEATURES])
        expected = {}
        for feature in FEATURES:
            rises = []
            for _ in range(3):
                shuffled = frame[FEATURES].copy()
                shuffled[feature] = rng.permutation(shuffled[feature].to_numpy())
                rises.append(loss(shuffled) - base)
            expected[feature] = {"mean": float(np.mean(rises)), "std": float(np.std(rises))}
        found = permutation_importance(model, frame, y, 11)
        assert found["baseline"] == base
        assert found["features"] == expected


def test_reasons_are_each_rows_largest_contributions_with_missing_values_none() -> None:
    """top() picks whole arrays at once: the same entries as one row at a time, each value a
    float or None (missing: imputed), each contribution as computed."""
    model, frame = _fitted()
    frame.loc[1, "danceability"] = np.nan
    called = model.decide(model.predict_proba(frame))
    explanation = explain(model, frame, called)
    expected = []
    for (_, parts), (_, values), over in zip(
        explanation.contributions.iterrows(), frame.iterrows(), explanation.over, strict=True
    ):
        order = np.argsort(-np.abs(parts.to_numpy()), kind="stable")[:3]
        expected.append(
            [
                {
                    "feature": parts.index[i],
                    "value": None
                    if np.isnan(values[parts.index[i]])
                    else float(values[parts.index[i]]),
                    "contribution": float(parts.iloc[i]),
                    "over": over,
                }
                for i in order
            ]
        )
    assert repr(explanation.top()) == repr(expected)
    assert any(e["value"] is None for e in explanation.top()[0] + explanation.top()[1])
    assert explanation.top(0) == [[] for _ in range(len(frame))]


def test_the_scored_reasons_mark_a_generated_feature_beside_the_users_tracks() -> None:
    """What `score` writes into ml.track_predictions.reasons (DuckDB and Spark): the user's
    tracks beside a generated artists.csv name "artist followers (generated)", never
    generated followers as the artist's; real and wholly generated data are not marked."""
    from datetime import datetime

    from python_ml.tracks.batch import prediction_batch

    model, frame = _fitted()
    frame.insert(0, "track_id", [f"t{i}" for i in range(len(frame))])
    when = datetime(2026, 12, 6)
    mixed = "artists.csv: generated, tracks.csv: user files"
    plain, _ = prediction_batch(model, frame, "run", when, "user files")
    marked, _ = prediction_batch(model, frame, "run", when, mixed)
    generated, _ = prediction_batch(model, frame, "run", when, "generated")
    plain, marked = plain["reasons"].to_pylist(), marked["reasons"].to_pylist()
    assert generated["reasons"].to_pylist() == plain
    with_followers = [i for i, r in enumerate(plain) if "artist followers" in r]
    assert with_followers and len(with_followers) < len(plain)
    for i, (before, after) in enumerate(zip(plain, marked, strict=True)):
        if i in with_followers:
            assert after == before.replace("artist followers", "artist followers (generated)")
        else:
            assert after == before


def test_the_reasons_in_words_round_each_contribution_once() -> None:
    """2.445099 is +2.45, as the explanations mart's value rounds: rounded to three decimals
    first (2.445), the reasons said +2.44 (found by an analyst's audit: 16% of the tracks had
    a reason 0.01 off)."""
    from python_ml.tracks.explain import Explanation

    contributions = pd.DataFrame({"release_year": [2.445099], "tempo": [-1.775280]})
    explanation = Explanation(
        baseline=np.array([0.1]),
        contributions=contributions,
        values=pd.DataFrame({"release_year": [2019.0], "tempo": [120.0]}),
        score=np.array([0.1 + 2.445099 - 1.775280]),
        over=np.array(["lukewarm"], dtype=object),
    )
    assert explanation.text() == ["over lukewarm: release year +2.45, tempo -1.78"]
