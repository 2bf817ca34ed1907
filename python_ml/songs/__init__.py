"""songs: the 2023 songs study (study.py) and its results table, read back from the warehouse
(here: no scikit-learn, for the report)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The study's results table (Markdown), in the reports folder: the songs step and the report
# write it from the warehouse, the report page links to it.
RESULTS_FILE = "songs_2023_results.md"
# Why the top-10% task calls more songs than there are (the results file, the app's page).
TOP_DECILE_CALLS = (
    "a song is called top 10% when the model's probability is 0.5 or more, with the classes "
    "weighted to balance, which tends to call more songs than the 10% there are: precision "
    "below recall"
)
TASK_PREFIX = "songs_"  # a study run's task in ml.model_runs: songs_log_streams, ...


def repeats_of(split_kind: object) -> int:
    """How many fold seeds a study's run used, from the split_kind it recorded ("5x 5-fold
    cv": 5; 1 when it does not say). Its out-of-fold predictions are the first repeat's."""
    recorded = re.fullmatch(r"(\d+)x \d+-fold cv", str(split_kind))
    return int(recorded.group(1)) if recorded else 1


@dataclass
class StudySummary:
    results: list[dict[str, Any]]  # per run: task, model, feature_set, its metrics, seconds
    table: str  # Markdown
    data_origin: str | None


def study_results(con: Any) -> StudySummary | None:
    """The study whose out-of-fold predictions ``ml.song_predictions`` holds, from its runs in
    ``ml.model_runs`` (in the order they ran): what the results file shows. None when the study
    has not run on this warehouse."""
    from python_ml.warehouse import catalog, db

    if not db.has_table(con, catalog.SONG_PREDICTIONS) or not db.has_table(con, catalog.MODEL_RUNS):
        return None
    rows = con.execute(
        "select task, model_name, feature_set, metrics_json, duration_seconds, data_origin "
        f"from {catalog.MODEL_RUNS} where run_id in "
        f"(select distinct run_id from {catalog.SONG_PREDICTIONS}) "
        "order by started_at, run_id"
    ).fetchall()
    if not rows:
        return None
    results = [
        {
            "task": task.removeprefix(TASK_PREFIX),
            "model": model,
            "feature_set": feature_set,
            **json.loads(metrics),
            "seconds": seconds,
        }
        for task, model, feature_set, metrics, seconds, _ in rows
    ]
    return StudySummary(results, results_table(results), rows[0][5])


def results_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the study's results."""
    lines = [
        "| task | model | feature set | RMSE | R² | precision | recall | F1 | ROC AUC "
        "| share called |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [
            (f"{r[k]:.3f} ± {r[k + '_std']:.3f}" if k + "_std" in r else f"{r[k]:.3f}")
            if k in r
            else ""
            for k in ("rmse", "r2", "precision", "recall", "f1", "roc_auc", "called_share")
        ]
        lines.append(
            f"| {r['task']} | {r['model']} | {r['feature_set']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def write_results_file(folder: Path, summary: StudySummary) -> Path:
    """``folder``/RESULTS_FILE: the study's table with its data origin (whole, or not at all:
    written beside it, then moved in place)."""
    from python_ml.raw.origin import GENERATED_NOTICE, is_generated

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULTS_FILE
    origin = f"Data origin: **{summary.data_origin or 'unknown'}**."
    if summary.data_origin and is_generated(summary.data_origin):
        origin += " " + GENERATED_NOTICE
    written = folder / f".{RESULTS_FILE}.writing"
    written.write_text(
        "# 2023 songs: cross-validated results\n\n" + origin + "\n\n" + summary.table + "\n\n"
        "Mean ± standard deviation over the "
        "fold seeds of repeated k-fold cross-validation. `log_streams`: the target is "
        "ln(streams + 1), the natural log, so the RMSE is in those units (e to the RMSE is the "
        "factor a typical prediction is off by in streams, either way). `top_decile`: a song "
        f"is in the top 10% by streams; {TOP_DECILE_CALLS} (`share called`: the share of "
        "songs called, against about 0.100 in the top 10%). `forecastable` uses what is known at "
        "release (audio, release date, the artist's earlier songs); `descriptive_reach` uses "
        "playlist and chart counts measured at the same time as the streams: it describes a "
        "hit rather than forecasting one.\n",
        encoding="utf-8",
    )
    os.replace(written, path)
    return path
