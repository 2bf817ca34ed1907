"""Only what is stale runs, measured: `python -m python_ml run` on built-in data in a copy of the
project, first on a fresh folder, then again with nothing changed, then after each kind of
change (one experiment's hyper-parameter, one chart's code, one dbt model, one macro, 300 new
raw tracks, a `kill -9` during training). Each row names what the run recomputed, read from its
records (the Dagster run's materializations without the ``up_to_date`` mark, and the
experiments it fitted), not guessed from its time.

The first two cases run at every scale given (default 1x and 10x); the changes at the first
scale only. Prints the table and writes it into BENCHMARKS.md (section ``stale``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from python_ml.raw.schemas import REAL_TRACK_ROWS
from python_ml.settings import PROJECT_ROOT

# Not copied: what the project makes or installs.
NOT_COPIED = {".git", ".venv", "data", "reports", "target", "logs", "dbt_packages", "mlruns"}
# Each run reports these (train reports its runs and their importance, reused or not).
ALWAYS_RECORDED = {"raw_files", "champion_model", "ml/model_runs", "ml/feature_importance"}


@dataclass
class Ran:
    seconds: float  # the command, wall clock
    main_job: float | None  # what the run printed as the main job's time
    assets: set[str]  # materialized, not up to date
    fitted: set[str]  # experiments fitted (not reused)
    champion: str | None
    predictions: str | None  # a digest of ml.track_predictions' latest scoring


class Project:
    """A copy of the project (what the cases change) and its main job folder."""

    def __init__(self, root: Path, job: Path, rows: int) -> None:
        self.root, self.job, self.rows = root, job, rows

    @classmethod
    def fresh(cls, folder: Path, rows: int) -> Project:
        if folder.exists():
            shutil.rmtree(folder)
        root = folder / "project"
        root.mkdir(parents=True)
        for entry in PROJECT_ROOT.iterdir():
            if entry.name in NOT_COPIED or entry.name.endswith(".egg-info"):
                continue
            if entry.is_dir():
                shutil.copytree(
                    entry, root / entry.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(entry, root / entry.name)
        return cls(root, folder / "job", rows)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.root),
            "MUSIC_RAW_DIR": str(self.job / "raw"),
            "MUSIC_WAREHOUSE": str(self.job / "warehouse.duckdb"),
            "MUSIC_MLFLOW_DIR": str(self.job / "mlflow"),
            "MUSIC_REPORTS_DIR": str(self.job / "reports"),
            "DAGSTER_HOME": str(self.job / "dagster"),
        }

    def command(self) -> list[str]:
        return [sys.executable, "-m", "python_ml", "run", "--offline", "--rows", str(self.rows)]

    def edit(self, relpath: str, old: str, new: str) -> None:
        path = self.root / relpath
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise SystemExit(f"{relpath} no longer has {old!r}: pick another line to change")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def run(self, kill_after: str | None = None) -> Ran | None:
        """`python -m python_ml run` in the copy; with ``kill_after``, SIGKILL it (and what it
        started) as soon as a log line matches that pattern."""
        started = time.perf_counter()
        process = subprocess.Popen(
            self.command(),
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        lines = []
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if kill_after and re.search(kill_after, line):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return None
        process.wait()
        seconds = time.perf_counter() - started
        log = "".join(lines)
        if process.returncode != 0:
            raise SystemExit(f"the run failed:\n{log[-4000:]}")
        found = re.findall(r"main job finished in ([0-9.]+) s", log)
        return Ran(seconds, float(found[-1]) if found else None, *self._records())

    def _records(self) -> tuple[set[str], set[str], str | None, str | None]:
        import dagster as dg
        import duckdb
        from dagster._core.instance.ref import InstanceRef

        ref = InstanceRef.from_dir(str(self.job / "dagster"))
        with dg.DagsterInstance.from_ref(ref) as instance:
            run_id = instance.get_runs(limit=1)[0].run_id
            records = instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            events = [r.event_log_entry.asset_materialization for r in records]
        assets = {
            e.asset_key.to_user_string()
            for e in events
            if "up_to_date" not in e.metadata
            and e.asset_key.to_user_string() not in ALWAYS_RECORDED
        }
        fitted = {
            label
            for e in events
            if e.asset_key.to_user_string() == "ml/model_runs"
            for label in e.metadata["fitted"].value
        }
        with duckdb.connect(str(self.job / "warehouse.duckdb"), read_only=True) as con:
            champion = con.execute(
                "select run_id from ml.model_runs where task = 'tracks' and is_champion "
                "order by finished_at desc limit 1"
            ).fetchone()
            digest = con.execute(
                "select md5(string_agg(track_id || predicted_class || "
                "cast(class_probabilities as varchar), ',' order by track_id)) "
                "from ml.track_predictions where scored_at = "
                "(select max(scored_at) from ml.track_predictions)"
            ).fetchone()
        return assets, fitted, champion and champion[0], digest and digest[0]


def first_run_steps(job: Path) -> str:
    """The first run's time per step (Dagster's step records), longest first."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(job / "dagster"))) as instance:
        first = instance.get_runs()[-1]
        stats = [s for s in instance.get_run_step_stats(first.run_id) if s.end_time]
    stats.sort(key=lambda s: s.end_time - s.start_time, reverse=True)
    return ", ".join(f"{s.step_key} {s.end_time - s.start_time:.1f} s" for s in stats)


def _describe(ran: Ran) -> str:
    dbt = sorted(a for a in ran.assets if "/" in a and not a.startswith("ml/"))
    other = sorted(a for a in ran.assets if a not in dbt)
    parts = []
    if ran.fitted:
        parts.append("fitted " + ", ".join(sorted(ran.fitted)))
    if other:
        parts.append(", ".join(other))
    if dbt:
        parts.append(f"{len(dbt)} dbt nodes")
    return "; ".join(parts) or "nothing"


def bench(
    scales: list[float], root: Path, steps: dict[str, str]
) -> list[tuple[str, str, Ran, str]]:
    """The cases; ``steps`` gets each scale's first-run time per step."""
    rows: list[tuple[str, str, Ran, str]] = []

    def record(case: str, scale: str, ran: Ran, note: str = "") -> None:
        rows.append((case, scale, ran, note))
        what = "; ".join(filter(None, [_describe(ran), note]))
        print(f"{case} ({scale}): {ran.seconds:.1f} s; {what}", flush=True)

    for scale in scales:
        label = f"{scale:g}x"
        project = Project.fresh(root / f"stale_{label}", round(REAL_TRACK_ROWS * scale))
        first = project.run()
        record("first run, fresh folder", label, first)
        steps[label] = first_run_steps(project.job)
        second = project.run()
        same = (
            "same champion, same predictions"
            if (second.champion, second.predictions) == (first.champion, first.predictions)
            else "CHAMPION OR PREDICTIONS CHANGED"
        )
        record("second run, nothing changed", label, second, same)
        if scale != 1.0:  # the change cases run at 1x only
            continue
        project.edit("python_ml/configs/tracks.yml", "C: 1.0", "C: 0.5")
        record("one experiment's hyper-parameter changed", label, project.run())
        project.edit("python_ml/reports/charts.py", '"""', '"""A changed line.\n\n')
        record("one chart's code changed", label, project.run())
        project.edit(
            "models/staging/loader/stg_loader__load_rejects.sql", "select", "/* changed */ select"
        )
        record("one dbt model changed", label, project.run())
        project.edit("macros/prediction_rates.sql", "as accuracy", "as accuracy -- changed")
        record("one macro changed", label, project.run())
        tracks = project.job / "raw" / "spotify_600k" / "tracks.csv"
        with tracks.open(encoding="utf-8") as f:
            tail = f.readlines()[-300:]
        with tracks.open("a", encoding="utf-8") as f:
            f.writelines(f"new{i:019d}{line[22:]}" for i, line in enumerate(tail))
        record("300 new rows in tracks.csv", label, project.run())
        # Two experiments stale; killed once the first of them has finished.
        project.edit("python_ml/configs/tracks.yml", "max_iter: 60", "max_iter: 61")
        project.run(kill_after=r"hist_gradient_boosting/audio: validation accuracy")
        record(
            "`kill -9` during training, then `run`",
            label,
            project.run(),
            "hist_gradient_boosting/audio finished before the kill: reused",
        )
    return rows


def table(
    rows: list[tuple[str, str, Ran, str]],
    started: datetime,
    steps: dict[str, str],
    host: str | None = None,
) -> str:
    lines = [
        "## Only what is stale runs (`python -m benchmarks.bench_stale`)",
        "",
        f"Measured on {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: "
        "`python -m python_ml run --offline` in a copy of the project, one case after another "
        "on the same folder. What ran is read from the run's records (Dagster "
        "materializations not marked up to date; the experiments fitted).",
        *([f"The {host}."] if host else []),
        "",
        "| case | scale | command (s) | main job (s) | what ran |",
        "|---|---|---|---|---|",
    ]
    for case, scale, ran, note in rows:
        main = "-" if ran.main_job is None else f"{ran.main_job:.1f}"
        what = "; ".join(filter(None, [_describe(ran), note]))
        lines.append(f"| {case} | {scale} | {ran.seconds:.1f} | {main} | {what} |")
    lines.append("")
    for scale, text in steps.items():
        lines.append(f"- **First run at {scale}, per step**: {text}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stale", description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--root", default=str(PROJECT_ROOT / "data" / "bench"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    steps: dict[str, str] = {}
    from benchmarks.host import reference

    host = reference().text()
    print(host, flush=True)
    text = table(bench(args.scales, Path(args.root), steps), started, steps, host)
    print(text)
    from benchmarks.bench import write_section

    write_section(Path(args.out), "stale", text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
