"""Charts: PNG files and an HTML page in the reports folder, read from the marts by SQL only."""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from python_ml.errors import UserError
from python_ml.settings import Settings, ui_address  # noqa: E402
from python_ml.songs import (  # noqa: E402
    RESULTS_FILE,
    repeats_of,
    study_results,
    write_results_file,
)
from python_ml.steps import step
from python_ml.warehouse import catalog, db  # noqa: E402

log = logging.getLogger(__name__)

# Colours by class position, coldest first (names and labels come from the seed).
from python_ml.reports.classes import Classes, read_classes  # noqa: E402
from python_ml.reports.tables import (  # noqa: E402
    is_number_column,
    percentage_text,
    percentages,
)


@dataclass
class Chart:
    file: str
    title: str
    caption: str


class ChartError(UserError, RuntimeError):
    """The marts hold nothing to draw; the message says which step to run."""


def _read(con, sql: str) -> pd.DataFrame:
    import duckdb

    try:
        return con.execute(sql).df()
    except duckdb.BinderException as exc:
        # A mart built by an older version of the project lacks a column this code reads.
        raise ChartError(
            f"the marts lack what the charts read ({str(exc).splitlines()[0]}): they were "
            "built by an older version of the project. Run `python -m python_ml build` (or "
            "`dbt build`) and draw the charts again."
        ) from None


# What the chart being drawn says in its corner about its data, when any of it is generated
# (draw_all sets it per chart): a PNG leaves the page, into MLflow or a slide, on its own.
_ORIGIN_MARK: str | None = None
# The parts of the data a chart draws, where it is not the tracks as the champion saw them
# ("tracks": tracks.csv and artists.csv, the champion's data): "tracks.csv" is the tracks' own
# columns alone (audio features, titles, true classes), which a generated artists.csv beside
# the user's tracks does not touch. None: the chart says which of its data is generated itself
# (the correlations: each bar's origin, as the mart records it).
CHART_DATA: dict[str, tuple[str, ...] | None] = {
    "danceability_energy.png": ("tracks.csv",),
    "hit_wordcloud.png": ("tracks.csv",),
    "songs_predicted_vs_actual.png": ("2023 songs",),
    "feature_correlations.png": None,
}


def chart_marks(origins: dict[str, str]) -> dict[str, str | None]:
    """Each chart's corner note (None: none of what it draws is generated, or it says so
    itself), from the origin of each part of the data (``tracks``, ``2023 songs``; the
    ``tracks.csv`` part is taken out of the tracks' origin)."""
    from python_ml.raw.origin import files_origin

    parts = dict(origins)
    if "tracks" in parts:
        parts.setdefault("tracks.csv", files_origin(parts["tracks"], ("tracks.csv",)))
    marks = {}
    for file, _, _ in CHARTS:
        drawn = CHART_DATA.get(file, ("tracks",))
        marks[file] = None if drawn is None else origin_mark(parts, drawn)
    return marks


def origin_mark(origins: dict[str, str], parts: tuple[str, ...]) -> str | None:
    """The corner note of a chart drawn from these parts of the data (None: none generated)."""
    from python_ml.raw.origin import is_generated, is_partly_generated

    drawn = [p for p in parts if p in origins]
    generated = [p for p in drawn if is_generated(origins[p])]
    partly = [p for p in drawn if is_partly_generated(origins[p])]
    if not generated and not partly:
        return None
    if len(generated) == len(drawn):
        return "Built-in generated data: not real songs"
    named = [*generated, *(_generated_part(p, origins[p]) for p in partly)]
    # Generated artists beside real tracks are not "songs": the user's songs are real.
    return f"{' and '.join(named)}: built-in generated data, not real" + (
        "" if partly else " songs"
    )


def _generated_part(part: str, origin: str) -> str:
    """The generated files of a part whose other files are the user's, by name: "artists.csv
    of the tracks" (not "tracks (in part)", which reads as if the user's tracks were)."""
    from python_ml.raw.origin import generated_files

    return f"{', '.join(generated_files(origin))} of the {part}"


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    if _ORIGIN_MARK:
        fig.text(0.995, 0.005, _ORIGIN_MARK, ha="right", va="bottom", fontsize=8, color="#b45f06")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def class_distribution(con, out: Path, classes: Classes) -> str:
    frame = _read(con, f"select * from {catalog.RPT_CLASS_DISTRIBUTION} order by class_index")
    fig, ax = plt.subplots(figsize=(7.5, 5))
    x = np.arange(len(frame))
    ax.bar(x - 0.2, frame["true_count"], 0.4, label="true class", color="#777777")
    ax.bar(
        x + 0.2,
        frame["predicted_count"],
        0.4,
        label="predicted class",
        color=[classes.color(c) for c in frame["class_name"]],
    )
    # Each side's labels add to 100% (rounded one by one, three shares can read 100.1%).
    true_shown = percentages(frame["true_share"])
    predicted_shown = percentages(frame["predicted_share"])
    for i, row in frame.iterrows():
        ax.annotate(
            percentage_text(row["true_share"], true_shown[i]),
            (i - 0.2, row["true_count"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
        ax.annotate(
            percentage_text(row["predicted_share"], predicted_shown[i]),
            (i + 0.2, row["predicted_count"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    # The counts under each class: a small class's over-call (691 true, 771 called: +11.6%)
    # read 1.2% against 1.3% above its bars.
    ax.set_xticks(
        x,
        [
            f"{classes.labels.get(c, c)}\n{true:,} true\n{called:,} called"
            + (f" ({(called - true) / true:+.1%})" if true else "")
            for c, true, called in zip(
                frame["class_name"],
                frame["true_count"].astype(int),
                frame["predicted_count"].astype(int),
                strict=True,
            )
        ],
        fontsize=9,
    )
    ax.set_ylabel("tracks in the predict split")
    ax.set_title("Popularity classes: true vs predicted")
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="#777777", label="true class (grey, left)"),
            Patch(facecolor="white", edgecolor="#333333", label="predicted (class colour, right)"),
        ]
    )
    _save(fig, out)
    return (
        "How many predict-split tracks truly fall in each class, and how many the model puts "
        "there (under each class: both counts, and how many more or fewer it calls)."
    )


SCATTER_SAMPLE = 6000  # the most tracks the danceability-energy chart draws


def danceability_energy(con, out: Path, classes: Classes) -> str:
    frame = _read(
        con,
        f"""
        select danceability, energy, true_class
        from {catalog.FCT_TRACK_PREDICTIONS}
        using sample reservoir({SCATTER_SAMPLE} rows) repeatable (42)
    """,
    )
    scored = con.execute(f"select count(*) from {catalog.FCT_TRACK_PREDICTIONS}").fetchone()[0]
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for cls in classes.names:
        part = frame[frame["true_class"] == cls]
        ax.scatter(
            part["danceability"],
            part["energy"],
            s=6 if cls != classes.hit else 14,
            alpha=0.45 if cls != classes.hit else 0.9,
            color=classes.color(cls),
            label=f"{classes.labels[cls]} ({len(part):,})",
        )
    ax.set_xlabel("danceability")
    ax.set_ylabel("energy")
    ax.set_title("Danceability vs energy, by popularity class")
    ax.legend(markerscale=2, loc="lower left")
    _save(fig, out)
    # What is drawn: all the predict split's tracks when it holds no more than the sample.
    drawn = (
        f"All {scored:,} predict-split tracks"
        if len(frame) == scored
        else f"A sample of {len(frame):,} of the {scored:,} predict-split tracks"
    )
    return f"{drawn}: audio features alone separate the classes only loosely."


WORD_PATTERN = r"[a-zà-ÿ']{3,}"
MIN_WORD_HITS = 3  # a word must be in at least this many hit titles to be drawn


def title_word_lift(hit_titles: pd.Series, other_titles: pd.Series) -> pd.Series:
    """Per word, how much more often it appears in hit titles than in the other titles
    (share of hit titles with it / share of other titles with it, the latter smoothed);
    words in fewer than MIN_WORD_HITS hit titles are left out. Largest first."""

    def shares(titles: pd.Series) -> pd.Series:
        words = titles.str.lower().str.findall(WORD_PATTERN).map(set).explode().dropna()
        return words.value_counts()

    hits, others = shares(hit_titles), shares(other_titles)
    hits = hits[hits >= MIN_WORD_HITS]
    lift = (hits / len(hit_titles)) / (
        (others.reindex(hits.index).fillna(0) + 1) / (len(other_titles) + 1)
    )
    return lift.sort_values(ascending=False)


CLOUD_WORDS = 80  # the most words the cloud draws (those of highest lift)


def _no_words(out: Path, said: str) -> str:
    """The word cloud's place when there are no words to draw: the reason, as the picture and
    as its caption."""
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.text(0.5, 0.5, said, ha="center")
    ax.axis("off")
    _save(fig, out)
    return said


def hit_wordcloud(con, out: Path, classes: Classes) -> str:
    from wordcloud import WordCloud

    titles = con.execute(
        f"select track_name, true_class = ? as is_hit from {catalog.FCT_TRACK_PREDICTIONS} "
        "where true_class is not null and track_name != ''",
        [classes.hit],
    ).df()
    hit = classes.short[classes.hit]
    lift = title_word_lift(
        titles.loc[titles["is_hit"], "track_name"], titles.loc[~titles["is_hit"], "track_name"]
    )
    if lift.empty:
        return _no_words(out, f"Too few {hit} tracks in the predict split for their titles' words.")
    # Only the over-represented words: one no more frequent in hit titles than in the others
    # (a lift of 1 or less) says nothing about hits, however common.
    lift = lift[lift > 1]
    if lift.empty:
        return _no_words(out, f"No word is more frequent in {hit} titles than in the others.")
    cloud = WordCloud(
        width=1000,
        height=500,
        # Sizes in proportion to the lift (x1.4 is 1.4 times x1.0), not to its rank.
        relative_scaling=1.0,
        background_color="white",
        random_state=42,
        colormap="Dark2",
    ).generate_from_frequencies(lift.head(CLOUD_WORDS).to_dict())
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.imshow(cloud, interpolation="bilinear")
    ax.axis("off")
    n_hits = int(titles["is_hit"].sum())
    ax.set_title(
        f"Words over-represented in {n_hits:,} {hit} titles against {len(titles) - n_hits:,} others"
    )
    _save(fig, out)
    top = ", ".join(f"{w} x{v:.1f}" for w, v in lift.head(3).items())
    return (
        f"Word size: how much more often a word is in {hit} titles than in the other "
        f"predict-split titles (words in {MIN_WORD_HITS}+ {hit} titles; empty titles left "
        f"out); {len(lift)} words are more frequent there, and only they are drawn "
        f"({'all' if len(lift) <= CLOUD_WORDS else f'the {CLOUD_WORDS} of highest lift'}). "
        f"Top: {top}."
    )


def confusion_heatmap(con, out: Path, classes: Classes) -> str:
    frame = _read(con, f"select * from {catalog.RPT_CONFUSION_MATRIX}")
    counts = frame.pivot(index="true_index", columns="predicted_index", values="track_count")
    shares = frame.pivot(
        index="true_index", columns="predicted_index", values="share_of_true_class"
    )
    names = frame.drop_duplicates("true_index").sort_values("true_index")["true_class"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(shares.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            share = shares.iat[i, j]
            # A true class without tracks has no shares (NULL in the mart): its cells say so.
            known = pd.notna(share)
            ax.text(
                j,
                i,
                f"{counts.iat[i, j]:,}\n{share:.0%}"
                if known
                else f"{counts.iat[i, j]:,}\nno tracks",
                ha="center",
                va="center",
                color="white" if known and share > 0.6 else "black",
                fontsize=10,
            )
    labels = [classes.short.get(n, n) for n in names]
    ax.set_xticks(range(len(names)), labels)
    ax.set_yticks(range(len(names)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Holdout confusion matrix, decision rule (share of each true class)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    _save(fig, out)
    return "Rows are true classes, columns predicted ones; each cell shows tracks and row share."


def model_comparison(con, out: Path, classes: Classes) -> str:
    frame = _read(
        con,
        f"""
        select model_label, validation_macro_f1, validation_macro_f1_low,
               validation_macro_f1_high, new_artist_macro_f1, time_split_macro_f1,
               holdout_macro_f1, is_champion
        from {catalog.RPT_MODEL_LEADERBOARD}
        where is_current
        order by validation_macro_f1
    """,
    )
    fig, ax = plt.subplots(figsize=(8.5, 0.7 * len(frame) + 1.8))
    y = np.arange(len(frame))
    bars = [
        ("validation_macro_f1", "validation (random split)", "#4c72b0"),
        ("new_artist_macro_f1", "new artists (grouped split)", "#dd8452"),
        ("time_split_macro_f1", "forward in time (newer releases)", "#c44e52"),
        ("holdout_macro_f1", "holdout (champion only)", "#55a868"),
    ]
    height = 0.8 / len(bars)
    for i, (column, label, color) in enumerate(bars):
        positions = y + (1.5 - i) * height
        ax.barh(positions, frame[column].fillna(0), height, label=label, color=color)
        ends = frame[column].copy()
        if column == "validation_macro_f1":  # its 95% bootstrap interval as a whisker
            low, high = frame["validation_macro_f1_low"], frame["validation_macro_f1_high"]
            known = low.notna() & high.notna()
            middle = frame.loc[known, column]
            ax.errorbar(
                middle,
                positions[known.to_numpy()],
                xerr=[middle - low[known], high[known] - middle],
                fmt="none",
                ecolor="#222222",
                elinewidth=1,
                capsize=2,
                label="95% bootstrap interval (validation)",
            )
            ends = high.where(known, ends)
        for position, value, end in zip(positions, frame[column], ends, strict=True):
            if pd.notna(value):
                ax.text(end + 0.005, position, f"{value:.3f}", va="center", fontsize=7)
    ax.set_yticks(
        y,
        [
            f"{m}{'  (champion)' if c else ''}"
            for m, c in zip(frame["model_label"], frame["is_champion"], strict=True)
        ],
    )
    ax.set_xlabel("macro-F1 (each model's decision rule)")
    ax.set_xlim(0, 1)
    ax.set_title("Model comparison (the champion; the latest run of each other model on its data)")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, out)
    from python_ml.reports.model_card import held_out_comparison

    champion = frame[frame["is_champion"]]
    compared = (
        held_out_comparison(
            *(
                float(champion[c].iloc[0])
                for c in ("validation_macro_f1", "new_artist_macro_f1", "time_split_macro_f1")
            )
        )
        if len(champion)
        else ""
    )
    return (
        "Macro-F1 on the validation fold (with its 95% bootstrap interval), on artists held out "
        "of fitting and forward in time; "
        f"the holdout (predict split) is scored for the champion only. {compared} The champion "
        "rule prefers the simplest model whose validation macro-F1 is within the "
        "paired-bootstrap noise of the best (the model card gives its reason)."
    )


def reliability(con, out: Path, classes: Classes) -> str:
    frame = _read(
        con, f"select * from {catalog.RPT_CALIBRATION} order by class_index, probability_bin"
    )
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle="--", label="calibrated")
    for name in classes.names:
        part = frame[
            (frame["class_name"] == name)
            & (frame["track_count"] >= catalog.CALIBRATION_MIN_BIN_TRACKS)
        ]
        ax.plot(
            part["mean_probability"],
            part["observed_share"],
            marker="o",
            color=classes.color(name),
            label=classes.labels[name],
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability (mean in bin)")
    ax.set_ylabel("share of tracks truly in the class")
    ax.set_title("Reliability of the champion's probabilities (holdout)")
    ax.legend(loc="upper left", fontsize=8)
    _save(fig, out)
    return (
        f"Per class and tenth of probability (bins with {catalog.CALIBRATION_MIN_BIN_TRACKS}+ "
        "tracks): on the diagonal, a "
        "probability of 0.3 means 3 in 10 such tracks are truly in the class."
    )


CORRELATION_PANELS = {"tracks": "popularity", "songs_2023": "ln(streams + 1)"}
PANEL_NAMES = {"tracks": "tracks", "songs_2023": "2023 songs"}


def correlation_marks(frame: pd.DataFrame) -> tuple[list[str], set[str], str | None]:
    """What the correlations chart says of its generated data, from each bar's origin (its
    row's data_origin: the tracks' own columns carry tracks.csv's, ln(artist followers) that
    of tracks.csv and artists.csv, the 2023 songs theirs): each bar's label (marked when its
    data is generated beside bars whose data is not), the panels whose every bar is generated
    (said once, in their title), and the corner note (None: nothing drawn is generated)."""
    from python_ml.raw.origin import draws_on_generated, generated_files, is_generated
    from python_ml.tracks.feature_origin import GENERATED_MARK

    if frame.empty:
        return [], set(), None
    origins = frame["data_origin"].fillna("unknown").astype(str)
    if origins.map(is_generated).all():
        return frame["feature"].tolist(), set(), "Built-in generated data: not real songs"
    whole = {
        dataset
        for dataset, part in origins.groupby(frame["dataset"])
        if part.map(is_generated).all()
    }
    apart = origins.map(draws_on_generated) & ~frame["dataset"].isin(whole)
    labels = [
        f"{feature} {GENERATED_MARK}" if marked else feature
        for feature, marked in zip(frame["feature"], apart, strict=True)
    ]
    said = [f"{PANEL_NAMES.get(d, d)}: built-in generated data, not real songs" for d in whole]
    if apart.any():
        files = sorted({f for o in origins[apart] for f in generated_files(o)}) or ["data"]
        bars = ", ".join(frame.loc[apart, "feature"])
        said.append(f"{bars}: from the built-in generated {', '.join(files)}, not real")
    return labels, whole, "; ".join(said) or None


def feature_correlations(con, out: Path, classes: Classes) -> str:
    frame = _read(con, f"select * from {catalog.RPT_FEATURE_CORRELATIONS}")
    labels, whole, mark = correlation_marks(frame)
    frame = frame.assign(label=labels)
    global _ORIGIN_MARK
    _ORIGIN_MARK = mark  # what each bar read, as the mart records it (draw_all resets it)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, (dataset, target) in zip(axes, CORRELATION_PANELS.items(), strict=True):
        part = frame[frame["dataset"] == dataset].sort_values("correlation")
        colors = ["#c44e52" if v < 0 else "#4c72b0" for v in part["correlation"]]
        ax.barh(part["label"], part["correlation"], color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel(f"correlation with {target}")
        generated = " (generated data)" if dataset in whole else ""
        ax.set_title(f"{dataset}: features vs {target}{generated}")
    _save(fig, out)
    return (
        "Pearson correlation of each feature with popularity (tracks) and ln(streams + 1) (2023)."
    )


def songs_predicted_vs_actual(con, out: Path, classes: Classes) -> str:
    frame = _read(
        con,
        f"""
        select p.feature_set, p.model_type, p.fold, p.actual_log_streams,
            p.predicted_log_streams, runs.split_kind
        from {catalog.FCT_SONG_STREAM_PREDICTIONS} as p
        left join {catalog.MODEL_RUNS} as runs on p.run_id = runs.run_id
        where p.model_type = 'random_forest'
    """,
    )

    def cross_validation(part: pd.DataFrame) -> str:
        """How these out-of-fold predictions were made: the study's folds (those drawn) and
        its repeats, as its run recorded them ("5x 5-fold cv"; the first repeat is drawn)."""
        repeats = repeats_of(part["split_kind"].iloc[0])
        return f"{part['fold'].nunique()}-fold CV" + (
            f", the first of {repeats} repeats" if repeats > 1 else ""
        )

    def r2_of(part: pd.DataFrame) -> float:
        residual = part["predicted_log_streams"] - part["actual_log_streams"]
        spread = ((part["actual_log_streams"] - part["actual_log_streams"].mean()) ** 2).sum()
        return float(1 - (residual**2).sum() / spread)

    scores = {name: r2_of(part) for name, part in frame.groupby("feature_set")}
    sets = sorted(scores, key=scores.get)  # the least informative feature set first
    if not sets:
        raise ChartError(
            f"{catalog.FCT_SONG_STREAM_PREDICTIONS} is empty: run "
            "`python -m python_ml songs`, then `python -m python_ml marts`."
        )
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 5), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        part = frame[frame["feature_set"] == name]
        ax.scatter(part["actual_log_streams"], part["predicted_log_streams"], s=8, alpha=0.5)
        low = min(part["actual_log_streams"].min(), part["predicted_log_streams"].min())
        high = max(part["actual_log_streams"].max(), part["predicted_log_streams"].max())
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, label="perfect")
        ax.set_title(f"random forest, {name}: R² {scores[name]:.2f}\n{cross_validation(part)}")
        ax.set_xlabel("actual ln(streams + 1)")
        ax.set_ylabel("predicted ln(streams + 1)")
        ax.legend(loc="upper left")
    _save(fig, out)
    return (
        "2023 songs, out-of-fold: audio features alone barely predict streams; playlist and "
        "chart counts (measured with the streams) describe a hit rather than forecast one."
    )


def _feature_labels(frame: pd.DataFrame) -> list[str]:
    """Each row's feature as a chart names it: marked generated when its values are (the
    artist features of a generated artists.csv beside the user's tracks), by the row's
    data_origin (tracks/feature_origin.py)."""
    from python_ml.tracks.feature_origin import feature_label

    return [
        feature_label(feature, str(origin or ""))
        for feature, origin in zip(frame["feature"], frame["data_origin"], strict=True)
    ]


def feature_importance(con, out: Path, classes: Classes) -> str:
    importance = _read(
        con,
        f"""
        select feature, importance_mean, importance_std, data_origin
        from {catalog.RPT_FEATURE_IMPORTANCE}
        where run_id = (select any_value(run_id) from {catalog.FCT_TRACK_PREDICTIONS})
        order by importance_mean
    """,
    )
    contributions = _read(
        con,
        f"""
        select feature, avg(abs(contribution)) as mean_abs, any_value(data_origin) as data_origin
        from {catalog.FCT_TRACK_PREDICTION_EXPLANATIONS}
        group by feature order by mean_abs
    """,
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.3 * max(len(importance), 5) + 2))
    left, right = axes
    if importance.empty:
        left.text(0.5, 0.5, "no permutation importance for this run", ha="center")
        left.axis("off")
    else:
        left.barh(
            _feature_labels(importance),
            importance["importance_mean"],
            xerr=importance["importance_std"],
            color="#4c72b0",
        )
        left.axvline(0, color="black", linewidth=0.8)
        left.set_xlabel("rise of validation log loss when shuffled")
        left.set_title("What the champion relies on (permutation)")
    if contributions.empty:
        right.text(0.5, 0.5, "no explanations for these predictions", ha="center")
        right.axis("off")
    else:
        right.barh(_feature_labels(contributions), contributions["mean_abs"], color="#dd8452")
        right.set_xlabel("mean |contribution| to the called class's lead")
        right.set_title("What moved its calls (per-track explanations)")
    _save(fig, out)
    return (
        "Left: how much worse the champion's validation log loss gets when a feature's values "
        "are shuffled (bars: mean, lines: spread over 3 shuffles). Right: the mean size of "
        "each feature's contribution to the called class's score over the runner-up's, over "
        "the scored tracks (marts.fct_track_prediction_explanations)."
    )


def feature_drift(con, out: Path, classes: Classes) -> str:
    frame = _read(
        con,
        f"""
        select feature, psi, psi_threshold, drift_status, batch_tracks, scored_at, data_origin
        from {catalog.RPT_FEATURE_DRIFT} where is_current order by psi
    """,
    )
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(frame), 5) + 1.8))
    if frame.empty:
        ax.text(0.5, 0.5, "no scoring run to measure", ha="center")
        ax.axis("off")
        _save(fig, out)
        return "No scoring run yet."
    colors = ["#e8554e" if s == "drift" else "#4c72b0" for s in frame["drift_status"]]
    labels = _feature_labels(frame)
    ax.barh(labels, frame["psi"], color=colors)
    threshold = float(frame["psi_threshold"].iloc[0])
    ax.axvline(
        threshold, color="#e8554e", linewidth=1, linestyle="--", label=f"drift above {threshold:g}"
    )
    ax.set_xlabel("population stability index against the training split")
    ax.set_title(f"Drift of the scored predict split ({int(frame['batch_tracks'].max()):,} tracks)")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, out)
    drifted = [f for f, d in zip(labels, frame["drift_status"], strict=True) if d == "drift"]
    return (
        "PSI of each feature of the scored predict split against the training split's deciles, "
        "and of the called-class mix (predicted_class) against the training classes: below 0.1 "
        f"little change, above {threshold:g} (red) drift. The predict split is a random "
        f"{catalog.built_predict_share(con)} of the same data, so this is near 0 unless the "
        "data changed; `predict` measures new batches. "
        + (f"Drifted: {', '.join(drifted)}." if drifted else "No feature has drifted.")
    )


CHARTS = [
    ("class_distribution.png", "Class distribution", class_distribution),
    ("danceability_energy.png", "Danceability vs energy", danceability_energy),
    ("hit_wordcloud.png", "Titles of the hits", hit_wordcloud),
    ("confusion_matrix.png", "Confusion matrix", confusion_heatmap),
    ("model_comparison.png", "Model comparison", model_comparison),
    ("reliability.png", "Calibration (reliability)", reliability),
    ("feature_importance.png", "Why: feature importance and contributions", feature_importance),
    ("feature_drift.png", "Drift of the scored tracks", feature_drift),
    ("feature_correlations.png", "Feature correlations", feature_correlations),
    (
        "songs_predicted_vs_actual.png",
        "2023 songs: predicted vs actual streams",
        songs_predicted_vs_actual,
    ),
]


def _check_writable(folder: Path) -> None:
    from python_ml.settings import folder_problem

    problem = folder_problem(folder)
    if problem:
        raise ChartError(
            f"The reports folder {folder} {problem}: the charts cannot be written. Set "
            "MUSIC_REPORTS_DIR to a folder you can write, or fix its permissions."
        )


def _champion_of_this_data(settings: Settings) -> str | None:
    """The champion's run id, when it was trained on the data the warehouse holds now: the
    report and the model card describe it as this data's model (as `score` and `predict`
    refuse one of other data, so does the report). None without the tables to say: the
    report's own checks name what is missing."""
    from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion

    try:
        return warehouse_champion(settings)["run_id"]
    except db.WarehouseError:
        return None
    except ChampionUnavailable as exc:
        raise ChartError(f"{exc} The report was not drawn.") from None


def draw_all(settings: Settings) -> list[Chart]:
    """Every chart, the model card and the page, drawn into a folder of their own inside the
    reports folder and moved into it only once all are drawn (the page last): a failure
    part-way leaves the last report whole, never charts of one run under another's page."""
    import shutil
    import tempfile

    reports = settings.reports_dir
    _check_writable(reports)
    for left in reports.glob(f"{DRAWING_PREFIX}*"):  # a draw that was killed
        shutil.rmtree(left, ignore_errors=True)
    drawing = Path(tempfile.mkdtemp(prefix=DRAWING_PREFIX, dir=reports))
    try:
        charts, page, write_page = _draw_into(settings, drawing)
        drawn = sorted(drawing.iterdir(), key=lambda f: f.name == "index.html")  # the page last
        # Every place free for a file before any moves (renames in one folder do not fail
        # otherwise): a folder of a drawn file's name is named, and nothing is moved.
        taken = [reports / f.name for f in drawn if (reports / f.name).is_dir()]
        if taken:
            raise ChartError(
                f"{', '.join(map(str, taken))} is a folder where the report writes a file: "
                "move it away and draw again. The report was not changed."
            )
        for file in drawn:
            os.replace(file, reports / file.name)
    finally:
        shutil.rmtree(drawing, ignore_errors=True)
    _log_to_champion_run(settings, page.run_id, reports, write_page, [f.name for f in drawn])
    return charts


DRAWING_PREFIX = ".drawing-"  # the folder a report is drawn in, inside the reports folder


def _draw_into(
    settings: Settings, out_dir: Path
) -> tuple[list[Chart], Page, Callable[[Path], None]]:
    """The report drawn into ``out_dir``; the page's facts, and how to write the page with the
    charts inside it (for MLflow, from the reports folder)."""
    with db.connect(settings.warehouse) as con:
        db.require_tables(con, catalog.FCT_TRACK_PREDICTIONS, catalog.RPT_CONFUSION_MATRIX)
        scored = con.execute(
            "select count(*), any_value(run_id), any_value(model_label), max(scored_at), "
            f"any_value(data_origin) from {catalog.FCT_TRACK_PREDICTIONS}"
        ).fetchone()
        if not scored[0]:
            raise ChartError(
                f"{catalog.FCT_TRACK_PREDICTIONS} is empty: run `python -m python_ml "
                "score`, then `python -m python_ml marts`."
            )
        champion = _champion_of_this_data(settings)
        if champion is not None and scored[1] != champion:
            raise ChartError(
                f"{catalog.FCT_TRACK_PREDICTIONS} holds the predictions of run {scored[1]}, "
                f"not of the champion (run {champion}): run `python -m python_ml score`, then "
                "`python -m python_ml marts` (in Dagster's UI: materialize ml/track_predictions "
                "and the prediction marts, or *Materialize all*), so that the report describes "
                "the champion. The report was not drawn."
            )
        classes = read_classes(con)
        songs_origin = (
            con.execute(
                f"select any_value(data_origin) from {catalog.FCT_SONG_STREAM_PREDICTIONS}"
            ).fetchone()[0]
            if db.has_table(con, catalog.FCT_SONG_STREAM_PREDICTIONS)
            else None
        )
        origins = {"tracks": scored[4] or "unknown"}
        if songs_origin:
            origins["2023 songs"] = songs_origin
        global _ORIGIN_MARK
        charts = []
        marks = chart_marks(origins)
        try:
            for file, title, draw in CHARTS:
                _ORIGIN_MARK = marks[file]
                caption = draw(con, out_dir / file, classes)
                charts.append(Chart(file, title, caption))
                log.info("chart: %s", settings.reports_dir / file)  # where it is moved
        finally:
            _ORIGIN_MARK = None
        tables = _numbers_tables(con, classes, origins["tracks"])
        from python_ml.reports.model_card import write_model_card

        card = write_model_card(settings, con, out_dir)
        # The songs study's results page, which the page links: from the warehouse, so that a
        # new reports folder gets it without the study running again.
        study = study_results(con)
        if study is not None:
            write_results_file(out_dir, study)
    from python_ml.warehouse.dbt import docs_page

    page = Page(
        run_id=scored[1],
        model=scored[2],
        scored_at=f"{scored[3]:%Y-%m-%d %H:%M:%S} UTC" if scored[3] is not None else "?",
        data_origin=scored[4] or "unknown",
        docs_site=docs_page(settings),
        songs_data_origin=songs_origin,
        songs_results=study is not None,
        mlflow_run_page=card["mlflow_run_page"],
    )
    reports = settings.reports_dir
    _write_html(out_dir / "index.html", charts, tables, page, read_in=reports)
    return charts, page, lambda to: _write_html(to, charts, tables, page, images_from=reports)


def _log_to_champion_run(
    settings: Settings,
    run_id: str,
    out_dir: Path,
    write_page: Callable[[Path], None],
    drawn: list[str],
) -> None:
    """The charts and the page beside the champion's run in MLflow (its confusion matrix is
    there already, from scoring), when that run's artifacts live under MUSIC_MLFLOW_DIR; the
    page with the charts inside it (``write_page(path)``), which MLflow's viewer shows. Only
    the files drawn (``drawn``, in ``out_dir``): the reports folder may hold the user's own
    (they were logged to the run too)."""
    if not (settings.mlflow_dir / "mlflow.db").exists():
        return
    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow

    setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    try:
        artifact_uri = client.get_run(run_id).info.artifact_uri or ""
    except mlflow.exceptions.MlflowException:
        return
    if artifact_uri.startswith(settings.mlflow_dir.as_uri()):
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory(prefix="music-report-") as tmp:
            copy = Path(tmp) / "report"
            copy.mkdir()
            for name in drawn:
                shutil.copy2(out_dir / name, copy / name)
            write_page(copy / "index.html")
            client.log_artifacts(run_id, str(copy), "report")
        log.info("charts logged to MLflow run %s (artifacts/report)", run_id)


@dataclass
class Page:
    run_id: str
    model: str
    scored_at: object
    data_origin: str  # the tracks' (fct_track_predictions)
    docs_site: Path
    songs_data_origin: str | None = None  # the 2023 songs study's, when it has run
    songs_results: bool = False  # its results file is written beside the page (linked)
    # The champion run's page in MLflow's UI, after its address (None: no MLflow store here).
    mlflow_run_page: str | None = None

    @property
    def origins(self) -> dict[str, str]:
        """Each part of the page and the origin of its data."""
        parts = {"tracks": self.data_origin}
        if self.songs_data_origin:
            parts["2023 songs"] = self.songs_data_origin
        return parts


LEADERBOARD_COLUMNS = {
    "model_label": "model / feature set",
    "is_champion": "champion",
    "validation_accuracy": "val. accuracy",
    "validation_macro_f1": "val. macro-F1",
    "validation_argmax_macro_f1": "val. macro-F1 (argmax)",
    "validation_ece": "val. ECE",
    "validation_log_loss": "val. log loss",
    "validation_confident_errors": "val. wrong at 0.999+",
    "new_artist_macro_f1": "new-artist macro-F1",
    "time_split_macro_f1": "forward-in-time macro-F1",
    "holdout_accuracy": "holdout accuracy",
    "holdout_macro_f1": "holdout macro-F1",
    "duration_seconds": "seconds",
}


def mark_generated_values(shown: pd.DataFrame, tracks_origin: str) -> pd.DataFrame:
    """The user's tracks beside a generated artists.csv: the artist features' values (a
    "feature" column and "the track's value" as text) are marked generated, not the artist's
    real followers or genres (the report showed "artist_followers 730,611" beside a real
    track's own values)."""
    from python_ml.tracks.feature_origin import marked_features

    marked = marked_features(shown["feature"].unique(), tracks_origin)
    if not marked:
        return shown
    shown = shown.copy()
    made_up = shown["feature"].isin(marked) & (shown["the track's value"] != "")
    shown.loc[made_up, "the track's value"] += " (generated)"
    return shown


def _numbers_tables(
    con, classes: Classes, tracks_origin: str = ""
) -> list[tuple[str, pd.DataFrame]]:
    leaderboard = _read(
        con,
        f"""
        select {", ".join(LEADERBOARD_COLUMNS)}
        from {catalog.RPT_MODEL_LEADERBOARD}
        where is_current
        order by leaderboard_rank
    """,
    ).rename(columns=LEADERBOARD_COLUMNS)
    # Confident errors beside how many there are and how many calibration expects.
    from python_ml.reports.confidence import confident_errors_cell

    sure = _read(
        con,
        f"""
        select validation_confident_calls, validation_confident_errors,
               validation_confident_expected_errors
        from {catalog.RPT_MODEL_LEADERBOARD}
        where is_current
        order by leaderboard_rank
    """,
    )
    leaderboard[LEADERBOARD_COLUMNS["validation_confident_errors"]] = [
        confident_errors_cell(*row) for row in sure.itertuples(index=False)
    ]
    # A run's time to a tenth of a second (the table's 3 decimals said 17.101 s).
    seconds = LEADERBOARD_COLUMNS["duration_seconds"]
    leaderboard[seconds] = [
        "" if pd.isna(v) else f"{v:,.1f}" for v in leaderboard[seconds].astype(float)
    ]
    per_class = _read(
        con,
        f"""
        select m.class_name, m.support, m.predicted_count, m.class_precision, m.class_recall,
               m.f1
        from {catalog.RPT_CLASS_METRICS} as m order by m.class_index
    """,
    )
    per_class["class_name"] = per_class["class_name"].map(lambda n: classes.labels.get(n, n))
    per_class = per_class.rename(
        columns={
            "class_name": "class",
            "support": "true tracks",
            "predicted_count": "called",
            "class_precision": "precision",
            "class_recall": "recall",
            "f1": "F1",
        }
    )
    tables = [
        (
            "Leaderboard (the champion, and the run of each other model on its data that the "
            "latest training fitted or reused)",
            leaderboard,
        ),
        ("The champion on the holdout, per class", per_class),
    ]
    quality = _read(
        con,
        f"""
        select source_table, data_origin, outcome, row_count, rows_read
        from {catalog.RPT_SOURCE_ROW_COUNTS}
        order by source_table, outcome = '(kept)' desc, row_count desc
    """,
    ).rename(
        columns={
            "source_table": "raw file",
            "data_origin": "origin",
            "outcome": "rows (kept, or why rejected)",
            "row_count": "rows",
            "rows_read": "rows read",
        }
    )
    tables.append(
        ("Data quality: what became of every raw row (marts.rpt_rejected_rows has each)", quality)
    )
    example = _read(
        con,
        f"""
        with track as (
            select track_id, track_name, predicted_class, hit_probability, runner_up_class,
                   explanation_baseline, explained_score, is_predicted_hit
            from {catalog.FCT_TRACK_PREDICTIONS}
            order by is_predicted_hit desc, hit_probability desc, track_id limit 1
        )
        select track.track_name, track.predicted_class, track.hit_probability,
               track.is_predicted_hit, track.runner_up_class, track.explanation_baseline,
               track.explained_score,
               e.feature, e.feature_value, e.contribution, e.contribution_rank
        from track inner join {catalog.FCT_TRACK_PREDICTION_EXPLANATIONS} as e
            on track.track_id = e.track_id
        order by e.contribution_rank
    """,
    )
    if not example.empty:
        first = example.iloc[0]
        called = classes.short.get(first["predicted_class"], first["predicted_class"])
        runner_up = classes.short.get(first["runner_up_class"], first["runner_up_class"])
        # The surest hit call (the top of the page's hit list), not a typical track: said so;
        # with no hit called, the track nearest to one.
        which = (
            f"the surest {called} call"
            if first["is_predicted_hit"]
            else f"the track most likely a hit ({called}: no track is called a hit)"
        )
        title = (
            f"Why {which} got its class: \u201c{first['track_name']}\u201d "
            f"(P(hit) {first['hit_probability']:.2f}): its lead over {runner_up} is the "
            "baseline plus every feature's contribution (the five largest, then the rest)"
        )
        top = example[example["contribution_rank"] <= 5]
        rest = example[example["contribution_rank"] > 5]
        shown = top[["feature", "feature_value", "contribution"]].rename(
            columns={"feature_value": "the track's value", "contribution": "contribution"}
        )
        shown = pd.concat(
            [
                shown,
                pd.DataFrame(
                    {
                        "feature": [
                            f"the other {len(rest)} features",
                            f"baseline ({called} over {runner_up} before any feature)",
                            f"lead of {called} over {runner_up}",
                        ],
                        "the track's value": [np.nan] * 3,
                        "contribution": [
                            float(rest["contribution"].sum()),
                            float(first["explanation_baseline"]),
                            float(first["explained_score"]),
                        ],
                    }
                ),
            ],
            ignore_index=True,
        )
        # A value as the track has it: year 2019, 7 genres, acousticness 0.143 (not 2,019.000),
        # and large whole numbers with separators, as in the other tables (653,072 ms).
        shown["the track's value"] = [
            ""
            if pd.isna(v)
            else f"{v:,.0f}"
            if abs(v) >= 10_000 and float(v).is_integer()
            else f"{v:.6g}"
            for v in shown["the track's value"]
        ]
        tables.append((title, mark_generated_values(shown, tracks_origin)))
    return tables


def _with_code(text: str) -> str:
    """``text`` as HTML, its `backticked` names as <code> (they showed as backticks)."""
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _table_html(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        if isinstance(value, bool | np.bool_):
            return "yes" if value else ""
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:,.3f}"
        return html.escape(f"{value:,}" if isinstance(value, int | np.integer) else str(value))

    align = [' class="n"' if is_number_column(frame[c]) else "" for c in frame.columns]
    head = "".join(
        f"<th{a}>{html.escape(str(c))}</th>" for c, a in zip(frame.columns, align, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{a}>{cell(v)}</td>" for v, a in zip(row, align, strict=True))
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _write_html(
    path: Path,
    charts: list[Chart],
    tables: list[tuple[str, pd.DataFrame]],
    page: Page,
    images_from: Path | None = None,
    read_in: Path | None = None,
) -> None:
    """The report page; ``images_from``: the folder of the charts, put inside the page (MLflow
    shows an HTML artifact on its own: the charts beside it were only their alt text);
    ``read_in``: the folder the page is read in, when it is written elsewhere first."""
    import base64

    from python_ml.raw.origin import GENERATED_NOTICE, is_generated, is_partly_generated

    def source(chart: Chart) -> str:
        if images_from is None:
            return chart.file
        data = base64.b64encode((images_from / chart.file).read_bytes()).decode("ascii")
        return f"data:image/png;base64,{data}"

    figures = "\n".join(
        f"<figure><h2>{html.escape(c.title)}</h2>"
        f'<img src="{source(c)}" alt="{html.escape(c.title)}">'
        f"<figcaption>{_with_code(c.caption)}</figcaption></figure>"
        for c in charts
    )
    numbers = "\n".join(
        f"<h2>{html.escape(title)}</h2>{_table_html(frame)}" for title, frame in tables
    )
    origins = page.origins
    generated = [part for part, origin in origins.items() if is_generated(origin)]
    partly = [part for part, origin in origins.items() if is_partly_generated(origin)]
    each = "; ".join(
        f"{html.escape(part)}: <strong>{html.escape(origin)}</strong>"
        for part, origin in origins.items()
    )
    if generated and len(generated) == len(origins):
        banner = (
            '<p class="banner generated"><strong>Generated data.</strong> '
            + html.escape(GENERATED_NOTICE).replace("`make run`", "<code>make run</code>")
            + "</p>"
        )
    elif generated or partly:  # a reader must not take the generated part for real songs
        named = [*generated, *(_generated_part(part, origins[part]) for part in partly)]
        banner = (
            '<p class="banner generated"><strong>Generated data in part.</strong> '
            f"Data origin: {each}. Built-in generated data: {html.escape(' and '.join(named))}; "
            "the figures that draw on it show that the pipeline works, not how real songs "
            "behave.</p>"
        )
    else:
        banner = f'<p class="banner">Data origin: {each}.</p>'

    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Linked only when written: a report made before the study has run linked a missing file.
    songs_link = (
        f'<a href="{RESULTS_FILE}">the 2023 songs study\'s results</a> ·'
        if page.songs_results
        else "the 2023 songs study has not run on this warehouse ·"
    )
    # Relative to the page, so the link holds when the project folder moves or is served.
    where = read_in or path.parent
    docs = html.escape(quote(Path(os.path.relpath(page.docs_site, where)).as_posix()))
    docs_ui, mlflow_ui = ui_address("docs"), ui_address("mlflow")
    if images_from is not None:  # MLflow's copy: no docs folder beside it
        docs = html.escape(docs_ui)
    # The champion's run, where its figures, charts and model are (the experiments list
    # before, from which a reader had to find it among every run).
    mlflow_link = (
        f'<a href="{html.escape(mlflow_ui + "/" + page.mlflow_run_page)}">the champion\'s run</a>'
        if page.mlflow_run_page
        else f'<a href="{html.escape(mlflow_ui)}">{html.escape(mlflow_ui)}</a>'
    )
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>music-popularity report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
figure{{margin:2em 0;border-bottom:1px solid #ddd;padding-bottom:1em}}img{{max-width:100%}}
figcaption{{color:#555}}code{{background:#f4f4f4;padding:0 .3em}}
.banner{{padding:.8em 1em;border-radius:4px;background:#eef4fb;border:1px solid #b9d2ee}}
.banner.generated{{background:#fff4e5;border-color:#f0b35a}}
table{{border-collapse:collapse;font-size:.9em;margin:1em 0}}
th,td{{border:1px solid #ddd;padding:.3em .6em;text-align:left}}
th.n,td.n{{text-align:right}}th{{background:#f4f4f4}}</style></head><body>
<h1>music-popularity: how popular will a track be?</h1>
{banner}
<p>Predictions of run <code>{html.escape(str(page.run_id))}</code>
({html.escape(str(page.model))}), scored {html.escape(str(page.scored_at))}; drawn {made}
from the dbt marts.</p>
<p>More: <a href="model_card.html">the champion's model card</a> ·
{songs_link}
<a href="{docs}">dbt docs site</a> (or <code>make docs-serve</code>:
<a href="{html.escape(docs_ui)}">{html.escape(docs_ui)}</a>) ·
MLflow (<code>make mlflow-ui</code>, then {mlflow_link})</p>
{numbers}
{figures}
</body></html>
""",
        encoding="utf-8",
    )


def charts_step(settings: Settings) -> list[Chart]:
    """The `charts` step (the command and the ``report`` asset): every chart and the page,
    holding the run lock (a run launched in the UI too: while it reads, no command writes)."""
    with db.RunLock(settings.warehouse), step(f"charts into {settings.reports_dir}"):
        charts = draw_all(settings)
    log.info("open %s", settings.reports_dir / "index.html")
    return charts
