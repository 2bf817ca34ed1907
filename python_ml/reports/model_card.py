"""The champion's model card: what it was trained on, what it is for and not for, how well it
does (with 95% bootstrap intervals, per class, per decade, forward in time, on new artists),
how calibrated it is, what its decision rule does, why it calls what it calls, and its limits.

Written from the marts by the report step into ``reports/model_card.md`` and ``.html``; the same
text is an artifact of the champion's MLflow run and the description of its registered version
(which also gets tags: data origin, fingerprint, holdout figures).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from python_ml.reports.classes import read_classes
from python_ml.reports.confidence import TOO_SURE_CHANCE, as_count, too_sure
from python_ml.reports.tables import is_number_column
from python_ml.settings import Settings
from python_ml.tracking.champion_files import ChampionUnavailable
from python_ml.tracks.confident import CONFIDENT_PROBABILITY
from python_ml.tracks.evaluate import (
    CALIBRATION_MIN_GAIN,
    bootstrap_interval,
    confusion,
    metric_from_confusion,
)
from python_ml.warehouse import catalog

log = logging.getLogger(__name__)

MD_FILE = "model_card.md"
HTML_FILE = "model_card.html"
BOOTSTRAP_RESAMPLES = 1000


# Within this much macro-F1 of the validation split, a held-out check is "about the same".
SAME_F1 = 0.01


def held_out_comparison(
    validation_f1: float | None, new_artist_f1: float | None, time_split_f1: float | None
) -> str:
    """How the champion does on artists unseen in training and forward in time against the
    random validation split, worded from the figures (the model card and the report say it
    the same way)."""

    def known(value: float | None) -> bool:
        return value is not None and value == value  # not NaN

    if not known(validation_f1):
        return "The champion's validation macro-F1 is not recorded."
    said = []
    for label, value in (
        ("on artists unseen in training", new_artist_f1),
        ("on newer releases (forward in time)", time_split_f1),
    ):
        if not known(value):
            said.append(f"{label}: not measured")
            continue
        gap = value - validation_f1
        word = "about the same" if abs(gap) < SAME_F1 else "lower" if gap < 0 else "higher"
        said.append(f"{label} {value:.3f} ({word})")
    text = f"Macro-F1 against the random validation split's ({validation_f1:.3f}): " + (
        "; ".join(said) + "."
    )
    if any(s.endswith("(lower)") for s in said):
        text += " For a lower one, the random split overstates how well it is predicted."
    return text


def _f(value: Any, digits: int = 3) -> str:
    """A figure to ``digits`` places; one that is not zero is never written as zero (3 true
    hits of a decade's 9,594 tracks read "0.000", as none): "<0.001"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    shown = f"{float(value):.{digits}f}"
    if float(value) != 0 and float(shown) == 0:
        return f"{'<' if value > 0 else '>-'}{10**-digits:.{digits}f}"
    return shown


def _table(frame: pd.DataFrame) -> list[str]:
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    # Numbers line up on the right, words on the left (in the Markdown and the HTML page).
    rule = "|" + "|".join("---:" if is_number_column(frame[c]) else ":---" for c in frame) + "|"
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, bool | np.bool_):
                cells.append("yes" if value else "")
            elif isinstance(value, float | np.floating):
                cells.append(_f(value))
            elif isinstance(value, int | np.integer):
                cells.append(f"{int(value):,}")
            else:
                cells.append(str(value))
        rows.append("| " + " | ".join(cells) + " |")
    return [head, rule, *rows]


def card_markdown(con: Any) -> tuple[str, dict[str, Any]]:
    """The card's Markdown and the champion's facts it was made of (run id, version, ...)."""
    from python_ml.raw.origin import (
        GENERATED_NOTICE,
        generated_artists,
        is_generated,
        is_partly_generated,
        partly_generated_notice,
    )

    champion = con.execute(
        f"""
        select b.*, r.features, r.params_json, r.data_fingerprint, r.n_validation,
               r.registered_version, r.metrics_json, r.reused_at
        from {catalog.RPT_MODEL_LEADERBOARD} as b
        inner join {catalog.MODEL_RUNS} as r on b.run_id = r.run_id
        where b.is_champion
        order by b.finished_at desc limit 1
        """
    ).df()
    if champion.empty:
        raise ChampionUnavailable(
            "no champion in the warehouse: train first (`python -m python_ml train`)"
        )
    c = champion.iloc[0].to_dict()
    seed = read_classes(con)
    classes = seed.names
    weights = json.loads(c["decision_weights"]) if c.get("decision_weights") else None
    holdout = json.loads(c["metrics_json"] or "{}").get("holdout", {})
    predictions = con.execute(
        f"select predicted_class, true_class, release_year, is_predicted_hit, hit_probability, "
        f"true_class = ? as is_true_hit, run_id from {catalog.FCT_TRACK_PREDICTIONS} "
        "where true_class is not null",
        [classes[-1]],
    ).df()
    predictions = predictions[predictions["run_id"] == c["run_id"]]
    index = {name: i for i, name in enumerate(classes)}
    y_true = predictions["true_class"].map(index).to_numpy()
    y_pred = predictions["predicted_class"].map(index).to_numpy()
    origin = str(c.get("data_origin") or "unknown")
    # The training split, as the champion saw it (its fingerprint binds it to this table): the
    # fit, calibration and validation folds add up to it.
    split, last_year = con.execute(
        f"select count(*), max(release_year) from {catalog.TRAIN_TRACKS}"
    ).fetchone()
    split = int(split)
    n_validation = int(c["n_validation"] or 0)
    calibration = split - int(c["n_train"]) - n_validation
    lines = [
        f"# Model card: {c['model_label']} (version {c.get('registered_version') or '?'})",
        "",
    ]
    if is_generated(origin):
        lines += [f"> **Generated data.** {GENERATED_NOTICE}", ""]
    elif is_partly_generated(origin):
        lines += [f"> **Generated data in part.** {partly_generated_notice(origin)}", ""]
    lines += [
        "## The model",
        f"- Predicts a track's popularity class, one of {seed.described()} "
        "(seeds/popularity_classes.csv), from the features below.",
        f"- Kind: `{c['model_type']}`, feature set `{c['feature_set']}`: "
        f"{str(c['features']).replace(',', ', ')}.",
        f"- Parameters: `{c['params_json']}`.",
        f"- MLflow run `{c['run_id']}`, finished {pd.Timestamp(c['finished_at']):%Y-%m-%d %H:%M} "
        "UTC"
        + (
            f" (not fitted again since: reused by the training of "
            f"{pd.Timestamp(c['reused_at']):%Y-%m-%d %H:%M} UTC)"
            if pd.notna(c.get("reused_at"))
            else ""
        )
        + ".",
        f"- Chosen because: {c['selection_rule']}.",
        "",
        "## The data",
        f"- Origin: **{origin}**.",
        f"- The training split's {split:,} tracks: fitted on {int(c['n_train']):,}; "
        + (
            f"{calibration:,} for the probability calibration (and the network's early stopping); "
            if calibration > 0
            else ""
        )
        + f"the decision rule and the champion were chosen on {n_validation:,} validation "
        f"tracks. The figures below are on the {len(predictions):,} tracks of the predict split "
        f"(the {catalog.built_predict_share(con)} held out by dbt"
        + (f" with split seed {c['split_seed']}" if pd.notna(c.get("split_seed")) else "")
        + ", never seen in training).",
        f"- Training table fingerprint `{c['data_fingerprint']}` (of its row count and each "
        "row: the track's id, class, first artist and feature values): the registry's champion "
        "alias is bound to it, so this model never scores other data as its champion.",
    ]
    counts = con.execute(
        f"select source_table, any_value(rows_read), any_value(rows_kept), "
        f"any_value(rows_rejected) from {catalog.RPT_SOURCE_ROW_COUNTS} group by 1 order by 1"
    ).fetchall()
    for table, read, kept, rejected in counts:
        lines.append(
            f"- `{table}`: {int(read):,} rows read, {int(kept):,} kept, {int(rejected):,} rejected "
            "(marts.rpt_rejected_rows says why)."
        )
    lines += [
        "",
        "## Intended use",
        "- Ranking and triage of catalogue tracks by likely popularity class, read as "
        "probabilities with the figures below beside them; comparing groups of tracks (by "
        "year, artist) in the prediction marts.",
        "",
        "## Not for",
        "- Decisions about a single artist's pay, contracts or promotion on the class alone.",
        "- Tracks unlike the training data: check marts.rpt_feature_drift (and `predict`'s drift "
        "warnings) before trusting the figures on a new batch.",
        "- Predicting streams: popularity is Spotify's relative index at the time of the dump.",
    ]
    if is_generated(origin) or is_partly_generated(origin):
        lines.append(
            "- Anything about real songs: this champion was trained on generated data"
            + (" in part." if is_partly_generated(origin) else ".")
        )
    lines += ["", "## How well it does (predict split)"]
    if len(predictions):
        metric_rows = []
        for name, metric in (("accuracy", "accuracy"), ("macro-F1", "macro_f1")):
            value = metric_from_confusion(confusion(y_true, y_pred, len(classes)), metric)
            low, high = bootstrap_interval(
                y_true, y_pred, len(classes), metric, BOOTSTRAP_RESAMPLES
            )
            metric_rows.append((name, value, f"{low:.3f} - {high:.3f}"))
        frame = pd.DataFrame(metric_rows, columns=["metric", "value", "95% bootstrap interval"])
        lines += _table(frame)
    lines += [
        "",
        f"With the decision rule (below); plain argmax gives accuracy "
        f"{_f(holdout.get('argmax_accuracy'))}, macro-F1 {_f(holdout.get('argmax_macro_f1'))}. "
        f"Log loss {_f(c['holdout_log_loss'])}, Brier {_f(c['holdout_brier'])}.",
        "",
        "Validation (the fold that chose it): accuracy "
        f"{_f(c['validation_accuracy'])}, macro-F1 {_f(c['validation_macro_f1'])}. "
        "Forward in time (trained on releases up to the cutoff, tested on later ones): "
        + (
            f"accuracy {_f(c['time_split_accuracy'])}, macro-F1 {_f(c['time_split_macro_f1'])}. "
            if c.get("time_split_macro_f1") == c.get("time_split_macro_f1")
            and c.get("time_split_macro_f1") is not None
            else "not measured (too few tracks of a class on one side of the cutoff). "
        )
        + "New artists (artists held out with all their tracks): accuracy "
        f"{_f(c['new_artist_accuracy'])}, macro-F1 {_f(c['new_artist_macro_f1'])}.",
        "",
        "### Per class",
    ]
    per_class = con.execute(
        f'select class_name as class, support as "true tracks", predicted_count as called, '
        f"class_precision as precision, class_recall as recall, f1 as F1 "
        f"from {catalog.RPT_CLASS_METRICS} order by class_index"
    ).df()
    per_class["class"] = per_class["class"].map(lambda n: seed.labels.get(n, n))
    per_class = with_class_intervals(per_class)
    lines += _table(per_class)
    lines += ["", "### Per decade"]
    if len(predictions):
        decades = predictions.assign(
            decade=(predictions["release_year"] // 10 * 10).astype("Int64").astype(str) + "s",
            correct=predictions["predicted_class"] == predictions["true_class"],
        )
        per_decade = (
            decades.groupby("decade")
            .agg(
                tracks=("correct", "size"),
                accuracy=("correct", "mean"),
                called_hits=("is_predicted_hit", "mean"),
                expected_hits=("hit_probability", "mean"),
                true_hits=("is_true_hit", "mean"),
            )
            .reset_index()
            .rename(
                columns={
                    "called_hits": "called hit share",
                    "expected_hits": "expected hit share",
                    "true_hits": "true hit share",
                }
            )
        )
        lines += _table(per_decade)
        lines += [
            "",
            f"Called: the share the decision rule calls {seed.short[classes[-1]]} (tuned to "
            "find them, not "
            "to match their share). Expected: the mean calibrated probability, the estimate of "
            "how many there are.",
        ]
    lines += [
        "",
        "## Calibration",
        f"- Temperature {_f(c['temperature'])} (temperature scaling, fitted on the calibration "
        f"fold, is kept only when it lowers the validation fold's log loss by more than "
        f"{CALIBRATION_MIN_GAIN:g}; 1 = not applied). "
        f"Expected calibration error {_f(c['holdout_ece'])} on the predict split, "
        f"{_f(c['validation_ece'])} on validation: the mean gap between a probability and how "
        "often the class is the true one, weighted by tracks. marts.rpt_calibration has the "
        "bins.",
        confident_errors_line(con, c),
        "- "
        + calibration_gaps(
            con.execute(
                f"select class_name, bin_lower, bin_upper, track_count, mean_probability, "
                f"observed_share from {catalog.RPT_CALIBRATION} "
                "order by class_index, probability_bin"
            ).df(),
            seed.labels,
        ),
        "",
        "## The decision rule",
    ]
    if weights:
        pairs = ", ".join(
            f"{seed.short[n]} x{w:.2f}" for n, w in zip(classes, weights, strict=True)
        )
        lines += [
            f"- The class called is the largest of probability x weight: {pairs}. Tuned on "
            "validation for macro-F1, giving up at most a little of argmax's accuracy, so that "
            "rare classes are called when they are likely enough, not only when most likely. A "
            "track can therefore be called a class that is not its most probable one; its "
            "probabilities stay calibrated and are in the marts beside the class.",
        ]
    else:
        lines.append("- Plain argmax of the probabilities.")
    lines += ["", "## Why it calls what it calls"]
    importance = con.execute(
        f"select feature, avg(abs(contribution)) as mean_abs, avg(contribution) as mean "
        f"from {catalog.FCT_TRACK_PREDICTION_EXPLANATIONS} group by feature "
        "order by mean_abs desc limit 5"
    ).df()
    from python_ml.tracks.kinds import KINDS

    kind = KINDS.get(str(c["model_type"]))
    method = kind.explanation if kind else "unknown method"
    lines.append(
        f"- Per track, each feature's contribution to the called class's score over the "
        f"runner-up's (the class the decision rule ranks next; {method}) is in "
        "marts.fct_track_prediction_explanations, the top three in fct_track_predictions."
        "reasons."
    )
    # Beside the user's tracks, the artist features are the generated artists.csv's: each
    # feature named is marked when its values are generated (tracks/feature_origin.py).
    from python_ml.tracks.feature_origin import ARTIST_FEATURES, feature_label

    made_up = ARTIST_FEATURES if generated_artists(origin) else ()
    if not importance.empty:
        lines.append(
            "- Largest on average (mean |contribution|): "
            + ", ".join(
                f"{feature_label(r.feature, origin)} {r.mean_abs:.2f}"
                for r in importance.itertuples()
            )
            + "."
        )
    drift = con.execute(
        f"select feature, psi, drift_status from {catalog.RPT_FEATURE_DRIFT} "
        "where is_current order by psi desc"
    ).df()
    lines += ["", "## Drift"]
    if drift.empty:
        lines.append("- Not measured yet.")
    else:
        lines.append(drift_line(drift, origin, catalog.built_predict_share(con)))
    lines += [
        "",
        "## Limits",
        "- Popularity is Spotify's index at the dump's date: it rises with recency and with the "
        "artist's reach, so release year and followers dominate; audio features alone say "
        "little.",
    ]
    if made_up:
        lines.append("- " + generated_artists_limit(made_up, c.get("new_artist_macro_f1")))
    lines += [
        "- " + rare_class_limit(per_class),
        "- "
        + held_out_comparison(
            c.get("validation_macro_f1"), c.get("new_artist_macro_f1"), c.get("time_split_macro_f1")
        ),
        f"- Releases after the training data's last year ({last_year}) are extrapolation.",
    ]
    facts = {
        "run_id": c["run_id"],
        "registered_version": c.get("registered_version"),
        "data_origin": origin,
        "data_fingerprint": c["data_fingerprint"],
        "holdout_accuracy": c["holdout_accuracy"],
        "holdout_macro_f1": c["holdout_macro_f1"],
    }
    return "\n".join(lines) + "\n", facts


def generated_artists_limit(features: Sequence[str], unseen_macro_f1: float | None) -> str:
    """The limit of artist features from the built-in artists.csv made for the user's tracks:
    random per artist, they carry no reach but name the artist as an id would. On the real
    1922-1935 file with classes 0 / 1-9 / 10-100, followers were the champion's first feature
    (holdout macro-F1 0.733) and on artists it had not seen it fell to 0.279, below the
    audio-only model's 0.355: the card's "the new-artist figures show what is left without
    them" did not say how much the split's figures owed to knowing the artist."""
    return (
        f"The artist features ({', '.join(features)}) are the built-in generated "
        "artists.csv's, drawn at random for each artist, not the artists' real followers and "
        "genres: they say nothing of an artist's reach (the line above does not hold for "
        "them), but they tell which artist a track is by, as an id would, so the champion can "
        "learn an artist's popularity from their other tracks in the train split. "
        + (
            f"On artists it has not seen (the new-artist check) its macro-F1 is "
            f"{unseen_macro_f1:.3f}: what holds for a new artist's tracks."
            if unseen_macro_f1 is not None and unseen_macro_f1 == unseen_macro_f1
            else "The new-artist check (artists it has not seen) did not run: how it does on "
            "a new artist's tracks is not known."
        )
    )


def confident_errors_line(con: Any, c: dict[str, Any]) -> str:
    """The champion's confident calls (python_ml/tracks/confident.py: the most likely class at a
    probability of 0.999 or more), how many were wrong and how many calibrated probabilities
    would get wrong, on the predict split and on validation; and every other current model
    too sure on validation. The ECE, a mean over bins, hides a handful of such tracks."""

    def counted(fold: str, where: str) -> str | None:
        calls = as_count(c.get(f"{fold}_confident_calls"))
        wrong = as_count(c.get(f"{fold}_confident_errors"))
        expected = c.get(f"{fold}_confident_expected_errors")
        if calls is None or wrong is None or expected is None or expected != expected:
            return None
        verdict = " (too sure)" if too_sure(wrong, expected) else ""
        return f"{calls:,} on {where}, {wrong:,} wrong against {expected:.1f} expected{verdict}"

    line = (
        f"- Confident calls (the most likely class at a probability of "
        f"{CONFIDENT_PROBABILITY:g} or more) and how many were wrong, against how many "
        "calibrated probabilities would get wrong (the sum of 1 - probability): "
    )
    parts = [
        part
        for part in (counted("holdout", "the predict split"), counted("validation", "validation"))
        if part
    ]
    if not parts:
        return line + "not counted for this run (trained before they were counted)."
    line += "; ".join(parts) + "."
    others = con.execute(
        "select model_label, validation_confident_calls, validation_confident_errors, "
        f"validation_confident_expected_errors from {catalog.RPT_MODEL_LEADERBOARD} "
        "where is_current and not is_champion and validation_confident_errors > 0 "
        "order by model_label"
    ).fetchall()
    sure = [row for row in others if too_sure(row[2], row[3])]
    if sure:
        line += " Too sure on validation: " + ", ".join(
            f"{label} ({wrong:,} wrong of {calls:,}, {expected:.1f} expected)"
            for label, calls, wrong, expected in sure
        )
        line += f" (fewer than {TOO_SURE_CHANCE:g} chance under calibration)."
    return line


def _wilson(successes: int, trials: int) -> str:
    """A 95% Wilson interval of a proportion, ``low - high``; "-" without trials."""
    from scipy.stats import binomtest

    if trials <= 0:
        return "-"
    interval = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    return f"{interval.low:.3f} - {interval.high:.3f}"


CALIBRATION_GAPS_SHOWN = 3
CALIBRATION_UPPER_FROM = 0.3  # where a class's calls are made: one-sided bins from here are said


def _share_interval(share: float, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    interval = binomtest(int(round(share * n)), n).proportion_ci(0.95, method="wilson")
    return interval.low, interval.high


def calibration_gaps(bins: pd.DataFrame, labels: dict[str, str]) -> str:
    """Where the probabilities are least right, from the rows of marts.rpt_calibration
    (class_name, bin_lower, bin_upper, track_count, mean_probability, observed_share): the
    largest gaps between a bin's mean probability and its observed share (bins of
    ``catalog.CALIBRATION_MIN_BIN_TRACKS``+ tracks), each with the share's 95% Wilson interval; then
    each class whose probabilities from :data:`CALIBRATION_UPPER_FROM` up lie on one side of
    the observed share in every bin (3 or more, the small ones too, named as such), pooled: a
    lean no single bin shows."""
    if bins.empty:
        return "The calibration bins are not measured yet."
    least = catalog.CALIBRATION_MIN_BIN_TRACKS
    counted = bins[bins["track_count"] >= least]
    order = (counted["mean_probability"] - counted["observed_share"]).abs()
    parts = []
    for _, b in (
        counted.loc[order.sort_values(ascending=False).index]
        .head(CALIBRATION_GAPS_SHOWN)
        .iterrows()
    ):
        n = int(b["track_count"])
        low, high = _share_interval(b["observed_share"], n)
        noise = low <= b["mean_probability"] <= high
        parts.append(
            f"{labels.get(b['class_name'], b['class_name'])} {b['bin_lower']:.1f}-"
            f"{b['bin_upper']:.1f}, probability {b['mean_probability']:.3f} against "
            f"{b['observed_share']:.3f} observed in {n:,} tracks (95% interval {low:.3f} - "
            f"{high:.3f}: {'within it, noise could explain it' if noise else 'outside it'})"
        )
    text = (
        f"The largest gaps in bins of {least}+ tracks: " + "; ".join(parts) + "."
        if parts
        else f"No bin holds {least}+ tracks."
    )
    upper = bins[(bins["bin_lower"] >= CALIBRATION_UPPER_FROM - 1e-9) & (bins["track_count"] > 0)]
    for name, group in upper.groupby("class_name", sort=False):
        above = group["mean_probability"] > group["observed_share"]
        if len(group) < 3 or above.nunique() > 1:
            continue
        n = int(group["track_count"].sum())
        predicted = float((group["mean_probability"] * group["track_count"]).sum() / n)
        observed = float((group["observed_share"] * group["track_count"]).sum() / n)
        low, high = _share_interval(observed, n)
        side, lean = ("above", "over") if above.iloc[0] else ("below", "under")
        # The charts draw only bins of `least`+ tracks: the smaller ones pooled here are named,
        # so that a reader counting the chart's points finds the bins said.
        small = int((group["track_count"] < least).sum())
        under = f" ({small} of them under {least} tracks, not drawn in the charts)" if small else ""
        # Called over- or underconfident only when the pooled gap is more than noise: inside
        # the observed share's interval it is a lean noise could explain.
        inside = low <= predicted <= high
        said = "a lean noise could explain" if inside else f"{lean}confident there"
        text += (
            f" {labels.get(name, name)} from {CALIBRATION_UPPER_FROM:.1f} up: the probability is "
            f"{side} the observed share in all {len(group)} bins{under}; pooled, {predicted:.3f} "
            f"against {observed:.3f} in {n:,} tracks (95% interval {low:.3f} - {high:.3f}: "
            + ("within it" if inside else "outside it")
            + f"): {said}."
        )
    return text


def with_class_intervals(per_class: pd.DataFrame) -> pd.DataFrame:
    """The per-class table with 95% intervals of precision (of the tracks called the class)
    and recall (of its true tracks), Wilson's, from the counts the table holds."""
    out = per_class.copy()
    hits = [
        int(round(r)) if r == r else 0
        for r in (per_class["recall"] * per_class["true tracks"]).tolist()
    ]
    out.insert(
        out.columns.get_loc("precision") + 1,
        "precision 95% interval",
        [_wilson(h, int(n)) for h, n in zip(hits, per_class["called"], strict=True)],
    )
    out.insert(
        out.columns.get_loc("recall") + 1,
        "recall 95% interval",
        [_wilson(h, int(n)) for h, n in zip(hits, per_class["true tracks"], strict=True)],
    )
    return out


def rare_class_limit(per_class: pd.DataFrame) -> str:
    """The Limits line on the class with the fewest true tracks, its intervals named."""
    if per_class.empty:
        return "The per-class figures are not measured yet."
    rare = per_class.loc[per_class["true tracks"].idxmin()]
    return (
        f"The rarest class, {rare['class']}, has {int(rare['true tracks']):,} true tracks of "
        f"{int(per_class['true tracks'].sum()):,}: its precision and recall above are the "
        f"least certain (95% intervals {rare['precision 95% interval']} and "
        f"{rare['recall 95% interval']})."
    )


def card_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    title = html.escape(markdown.splitlines()[0].lstrip("# "))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;"
        "padding:.3em .6em}"
        "th{background:#f4f4f4}blockquote{background:#fff4e5;border:1px solid #f0b35a;"
        "margin:0;padding:.5em 1em}code{background:#f4f4f4;padding:0 .3em}</style></head>"
        f"<body>{body}</body></html>"
    )


def write_model_card(settings: Settings, con: Any, out_dir: Path) -> dict[str, Any]:
    """Write the card beside the report; put it on the champion's registered version
    (description and tags) when the MLflow store is this project's. The facts it states, and
    ``mlflow_run_page``: the champion run's page in MLflow's UI (its path after the address),
    or None without the store."""
    markdown, facts = card_markdown(con)
    (out_dir / MD_FILE).write_text(markdown, encoding="utf-8")
    (out_dir / HTML_FILE).write_text(card_html(markdown), encoding="utf-8")
    log.info("model card: %s", settings.reports_dir / MD_FILE)  # out_dir: moved there
    facts["mlflow_run_page"] = _to_mlflow(settings, markdown, facts)
    return facts


FORMER_VERSION_NOTE = "> **Not the champion now.**"  # heads a replaced version's description


def _to_mlflow(settings: Settings, markdown: str, facts: dict[str, Any]) -> str | None:
    """The card as the champion's version description, and its facts as version tags; each
    earlier version of the same data says first that it is no longer the champion (its card
    was written when it was, and read as current). The card itself reaches the run with the
    report (``report/model_card.md``, charts._log_to_champion_run): it was logged twice."""
    if not (settings.mlflow_dir / "mlflow.db").exists() or not facts["registered_version"]:
        return None
    import mlflow

    from python_ml.tracking.registry import TRACK_MODEL_NAME, TRACKS_EXPERIMENT, setup_mlflow

    experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    version = str(int(facts["registered_version"]))
    try:
        client.update_model_version(TRACK_MODEL_NAME, version, description=markdown)
        for key in ("data_origin", "data_fingerprint", "holdout_accuracy", "holdout_macro_f1"):
            value = facts[key]
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            client.set_model_version_tag(TRACK_MODEL_NAME, version, key, text)
        same_data = client.search_model_versions(
            f"name = '{TRACK_MODEL_NAME}' and tags.data_fingerprint = '{facts['data_fingerprint']}'"
        )
        for other in same_data:
            told = other.description or ""
            if str(other.version) != version and not told.startswith(FORMER_VERSION_NOTE):
                client.update_model_version(
                    TRACK_MODEL_NAME,
                    other.version,
                    description=f"{FORMER_VERSION_NOTE} Version {version} (run "
                    f"`{facts['run_id']}`) took its place as this data's champion; the card "
                    f"below is as it was written while this version was.\n\n{told}",
                )
    except mlflow.exceptions.MlflowException as exc:
        log.warning("the model card was not put on MLflow's version %s: %s", version, exc)
    return f"#/experiments/{experiment_id}/runs/{facts['run_id']}"


def drift_line(drift: pd.DataFrame, origin: str, predict_share: str) -> str:
    """The card's drift line from rpt_feature_drift's current rows (``feature``, ``psi``,
    ``drift_status``, largest PSI first): what is above the threshold, the largest PSI of a
    feature, and the mix of classes called apart (it is not a feature: it was given as the
    largest one's PSI)."""
    from python_ml.tracks.drift import CLASS_MIX, drift_subject
    from python_ml.tracks.feature_origin import feature_label

    drifted = drift[drift["drift_status"] == "drift"]
    features = drift[drift["feature"] != CLASS_MIX]
    mix = drift[drift["feature"] == CLASS_MIX]
    above = ", ".join(
        f"{feature_label(r.feature, origin, drift_subject(r.feature))} ({r.psi:.2f})"
        for r in drifted.itertuples()
    )
    largest = (
        f"; largest PSI of a feature {features['psi'].iloc[0]:.3f} "
        f"({feature_label(features['feature'].iloc[0], origin)})"
        if not features.empty
        else ""
    )
    class_mix = f"; the mix of classes called {mix['psi'].iloc[0]:.3f}" if not mix.empty else ""
    return (
        "- The predict split this champion scored, against the training split (population "
        f"stability index): above the threshold: {above or 'none'}{largest}{class_mix}. The "
        f"predict split is a random {predict_share} of the same data, so this is near 0 by "
        "design; it says nothing of new tracks, which `predict` measures batch by batch."
    )
