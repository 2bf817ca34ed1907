"""Charts: PNG files and an HTML page in the reports folder, read from the marts by SQL only."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from python_ml import warehouse  # noqa: E402
from python_ml.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)

CLASS_COLORS = {"ice_cold": "#4c9be8", "lukewarm": "#f2b134", "blazing_hot": "#e8554e"}
CLASS_LABELS = {
    "ice_cold": "ice-cold (0-30)",
    "lukewarm": "lukewarm (31-69)",
    "blazing_hot": "blazing-hot (70-100)",
}


@dataclass
class Chart:
    file: str
    title: str
    caption: str


class ChartError(RuntimeError):
    """The marts hold nothing to draw; the message says which step to run."""


def _read(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def class_distribution(con, out: Path) -> str:
    frame = _read(con, "select * from marts.rpt_class_distribution order by class_index")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(len(frame))
    ax.bar(x - 0.2, frame["true_count"], 0.4, label="true class", color="#777777")
    ax.bar(
        x + 0.2,
        frame["predicted_count"],
        0.4,
        label="predicted class",
        color=[CLASS_COLORS.get(c, "#333") for c in frame["class_name"]],
    )
    for i, row in frame.iterrows():
        ax.annotate(
            f"{row['true_share']:.1%}",
            (i - 0.2, row["true_count"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
        ax.annotate(
            f"{row['predicted_share']:.1%}",
            (i + 0.2, row["predicted_count"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_xticks(x, [CLASS_LABELS.get(c, c) for c in frame["class_name"]])
    ax.set_ylabel("tracks in the predict split")
    ax.set_title("Popularity classes: true vs predicted")
    ax.legend()
    _save(fig, out)
    return (
        "How many predict-split tracks truly fall in each class, and how many the model puts there."
    )


def danceability_energy(con, out: Path) -> str:
    frame = _read(
        con,
        """
        select danceability, energy, true_class
        from marts.fct_track_predictions
        using sample reservoir(6000 rows) repeatable (42)
    """,
    )
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for cls in CLASS_COLORS:
        part = frame[frame["true_class"] == cls]
        ax.scatter(
            part["danceability"],
            part["energy"],
            s=6 if cls != "blazing_hot" else 14,
            alpha=0.45 if cls != "blazing_hot" else 0.9,
            color=CLASS_COLORS[cls],
            label=f"{CLASS_LABELS[cls]} ({len(part):,})",
        )
    ax.set_xlabel("danceability")
    ax.set_ylabel("energy")
    ax.set_title("Danceability vs energy, by popularity class")
    ax.legend(markerscale=2, loc="lower left")
    _save(fig, out)
    return (
        "A sample of 6,000 predict-split tracks: audio features alone separate the classes "
        "only loosely."
    )


def blazing_hot_wordcloud(con, out: Path) -> str:
    from wordcloud import WordCloud

    titles = _read(
        con,
        """
        select track_name from marts.fct_track_predictions
        where true_class = 'blazing_hot' and track_name != ''
    """,
    )["track_name"]
    if titles.empty:
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.text(0.5, 0.5, "no blazing-hot tracks in the predict split", ha="center")
        ax.axis("off")
        _save(fig, out)
        return "No blazing-hot track in the predict split."
    cloud = WordCloud(
        width=1000,
        height=500,
        background_color="white",
        random_state=42,
        colormap="Dark2",
        collocations=False,
    ).generate(" ".join(titles))
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.imshow(cloud, interpolation="bilinear")
    ax.axis("off")
    ax.set_title(f"Words in the titles of {len(titles):,} blazing-hot tracks")
    _save(fig, out)
    return "The most frequent words in the titles of the predict split's blazing-hot tracks."


def confusion_heatmap(con, out: Path) -> str:
    frame = _read(con, "select * from marts.rpt_confusion_matrix")
    counts = frame.pivot(index="true_index", columns="predicted_index", values="track_count")
    shares = frame.pivot(
        index="true_index", columns="predicted_index", values="share_of_true_class"
    )
    names = frame.drop_duplicates("true_index").sort_values("true_index")["true_class"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            share = shares.iat[i, j]
            ax.text(
                j,
                i,
                f"{counts.iat[i, j]:,}\n{share:.0%}",
                ha="center",
                va="center",
                color="white" if share > 0.6 else "black",
                fontsize=10,
            )
    labels = [CLASS_LABELS.get(n, n).split(" ")[0] for n in names]
    ax.set_xticks(range(len(names)), labels)
    ax.set_yticks(range(len(names)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Holdout confusion matrix (share of each true class)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    _save(fig, out)
    return "Rows are true classes, columns predicted ones; each cell shows tracks and row share."


def model_comparison(con, out: Path) -> str:
    frame = _read(
        con,
        """
        select model_label, validation_macro_f1, holdout_macro_f1, time_split_macro_f1,
               is_champion
        from marts.rpt_model_leaderboard
        qualify row_number() over (partition by model_label order by finished_at desc) = 1
        order by validation_macro_f1
    """,
    )
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(frame) + 1.8))
    y = np.arange(len(frame))
    ax.barh(y + 0.27, frame["validation_macro_f1"], 0.27, label="validation", color="#4c72b0")
    ax.barh(y, frame["holdout_macro_f1"], 0.27, label="holdout (predict split)", color="#55a868")
    ax.barh(
        y - 0.27,
        frame["time_split_macro_f1"].fillna(0),
        0.27,
        label="forward in time (newer releases)",
        color="#c44e52",
    )
    ax.set_yticks(
        y,
        [
            f"{m}{'  (champion)' if c else ''}"
            for m, c in zip(frame["model_label"], frame["is_champion"], strict=True)
        ],
    )
    ax.set_xlabel("macro-F1")
    ax.set_xlim(0, 1)
    ax.set_title("Model comparison (latest run of each model and feature set)")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, out)
    return (
        "Macro-F1 of each model and feature set on the validation fold, the holdout and the "
        "forward-in-time check; random-split figures overstate new-release performance."
    )


def feature_correlations(con, out: Path) -> str:
    frame = _read(con, "select * from marts.rpt_feature_correlations")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, (dataset, target) in zip(
        axes, [("tracks", "popularity"), ("songs_2023", "log streams")], strict=True
    ):
        part = frame[frame["dataset"] == dataset].sort_values("correlation")
        colors = ["#c44e52" if v < 0 else "#4c72b0" for v in part["correlation"]]
        ax.barh(part["feature"], part["correlation"], color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel(f"correlation with {target}")
        ax.set_title(f"{dataset}: features vs {target}")
    _save(fig, out)
    return "Pearson correlation of each feature with popularity (tracks) and log streams (2023)."


def songs_predicted_vs_actual(con, out: Path) -> str:
    frame = _read(
        con,
        """
        select feature_set, model_type, actual_log_streams, predicted_log_streams
        from marts.fct_song_stream_predictions
        where model_type = 'random_forest'
    """,
    )
    sets = sorted(frame["feature_set"].unique())
    if not sets:
        raise ChartError(
            "marts.fct_song_stream_predictions is empty: run "
            "`python -m python_ml songs` and `dbt build -s tag:ml_outputs`."
        )
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 5), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        part = frame[frame["feature_set"] == name]
        ax.scatter(part["actual_log_streams"], part["predicted_log_streams"], s=8, alpha=0.5)
        low = min(part["actual_log_streams"].min(), part["predicted_log_streams"].min())
        high = max(part["actual_log_streams"].max(), part["predicted_log_streams"].max())
        ax.plot([low, high], [low, high], color="black", linewidth=0.8, label="perfect")
        residual = part["predicted_log_streams"] - part["actual_log_streams"]
        r2 = (
            1
            - (residual**2).sum()
            / ((part["actual_log_streams"] - part["actual_log_streams"].mean()) ** 2).sum()
        )
        ax.set_title(f"random forest, {name}: R² {r2:.2f} (5-fold CV)")
        ax.set_xlabel("actual log(streams + 1)")
        ax.set_ylabel("predicted log(streams + 1)")
        ax.legend(loc="upper left")
    _save(fig, out)
    return (
        "2023 songs, out-of-fold: audio features alone barely predict streams; playlist and "
        "chart counts (measured with the streams) describe a hit rather than forecast one."
    )


CHARTS = [
    ("class_distribution.png", "Class distribution", class_distribution),
    ("danceability_energy.png", "Danceability vs energy", danceability_energy),
    ("blazing_hot_wordcloud.png", "Blazing-hot titles", blazing_hot_wordcloud),
    ("confusion_matrix.png", "Confusion matrix", confusion_heatmap),
    ("model_comparison.png", "Model comparison", model_comparison),
    ("feature_correlations.png", "Feature correlations", feature_correlations),
    (
        "songs_predicted_vs_actual.png",
        "2023 songs: predicted vs actual streams",
        songs_predicted_vs_actual,
    ),
]


def draw_all(settings: Settings) -> list[Chart]:
    out_dir = settings.reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(settings.warehouse) as con:
        warehouse.require_tables(con, "marts.fct_track_predictions", "marts.rpt_confusion_matrix")
        scored = con.execute(
            "select count(*), any_value(run_id), any_value(model_label), max(scored_at) "
            "from marts.fct_track_predictions"
        ).fetchone()
        if not scored[0]:
            raise ChartError(
                "marts.fct_track_predictions is empty: run `python -m python_ml "
                "score`, then `dbt build --select tag:ml_outputs`."
            )
        charts = []
        for file, title, draw in CHARTS:
            caption = draw(con, out_dir / file)
            charts.append(Chart(file, title, caption))
            log.info("chart: %s", out_dir / file)
    _write_html(
        out_dir / "index.html", charts, run_id=scored[1], model=scored[2], scored_at=scored[3]
    )
    return charts


def _write_html(path: Path, charts: list[Chart], run_id: str, model: str, scored_at) -> None:
    figures = "\n".join(
        f'<figure><h2>{html.escape(c.title)}</h2><img src="{c.file}" alt="{html.escape(c.title)}">'
        f"<figcaption>{html.escape(c.caption)}</figcaption></figure>"
        for c in charts
    )
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>music-popularity report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
figure{{margin:2em 0;border-bottom:1px solid #ddd;padding-bottom:1em}}img{{max-width:100%}}
figcaption{{color:#555}}code{{background:#f4f4f4;padding:0 .3em}}</style></head><body>
<h1>music-popularity: how popular will a track be?</h1>
<p>Predictions of run <code>{html.escape(str(run_id))}</code> ({html.escape(str(model))}),
scored {html.escape(str(scored_at))}; charts drawn {made} from the dbt marts.</p>
{figures}
</body></html>
""",
        encoding="utf-8",
    )
