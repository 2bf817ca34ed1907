"""`make bench`: wall time and peak memory of every stage at 1x and 10x the real size.

Each stage runs as its own process (the same commands a user runs), measured with
``os.wait4``: wall time and the peak resident memory of the process and its children. The
staging-to-split work is also run as one plain DuckDB SQL script (the SQL dbt compiled,
executed in dependency order in one connection), so the cost of dbt itself is visible.
Writes BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from benchmarks.host import HostSpeed, reference
from python_ml.raw.schemas import REAL_TRACK_ROWS
from python_ml.settings import PROJECT_ROOT, Settings, load_settings
from python_ml.warehouse.dbt import PREDICTION_MARTS


@dataclass
class Measurement:
    stage: str
    seconds: float
    peak_mb: float
    ok: bool


def measure(stage: str, command: list[str], env: dict[str, str], log_file: Path) -> Measurement:
    started = time.perf_counter()
    with open(log_file, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        process = subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    ok = os.waitstatus_to_exitcode(status) == 0
    result = Measurement(stage, seconds, usage.ru_maxrss / 1024, ok)
    print(
        f"  {stage:<38} {seconds:8.1f} s {result.peak_mb:9.0f} MB {'ok' if ok else 'FAILED'}",
        flush=True,
    )
    return result


def plain_sql_script(settings: Settings) -> list[str]:
    """The staging-to-split models as plain SQL, in dependency order, from dbt's manifest."""
    project_root = settings.project_root
    manifest = json.loads((settings.target_dir / "manifest.json").read_text())
    nodes = {
        k: v
        for k, v in manifest["nodes"].items()
        if v["resource_type"] in ("model", "seed")
        and "ml_outputs" not in v["tags"]
        and v["package_name"] == "music_popularity"
        and not v["original_file_path"].startswith("models/staging/ml/")
    }
    order: list[str] = []

    def visit(key: str) -> None:
        if key in order or key not in nodes:
            return
        for parent in nodes[key].get("depends_on", {}).get("nodes", []):
            visit(parent)
        order.append(key)

    for key in sorted(nodes):
        visit(key)
    statements = [
        "create schema if not exists staging",
        "create schema if not exists intermediate",
        "create schema if not exists marts",
        "create schema if not exists reference",
    ]
    for key in order:
        node = nodes[key]
        relation = f'"{node["schema"]}"."{node["alias"]}"'
        if node["resource_type"] == "seed":
            seed = project_root / node["original_file_path"]
            statements.append(
                f"create or replace table {relation} as "
                f"select * from read_csv('{seed}', header = true)"
            )
            continue
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        statements.append(f"create or replace {kind} {relation} as {node['compiled_code']}")
    return statements


def run_plain_sql(statements: list[str], warehouse: Path) -> None:
    """On a copy of the loaded warehouse: dbt's schemas dropped, the loader's `raw` kept."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        for schema in ("staging", "intermediate", "marts", "reference"):
            con.execute(f"drop schema if exists {schema} cascade")
        for statement in statements:
            con.execute(statement)


def bench_scale(scale: float, root: Path, log_file: Path) -> dict[str, Measurement]:
    rows = int(REAL_TRACK_ROWS * scale)
    folder = root / f"{scale:g}x"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        MUSIC_RAW_DIR=str(folder / "raw"),
        MUSIC_WAREHOUSE=str(folder / "warehouse.duckdb"),
        MUSIC_MLFLOW_DIR=str(folder / "mlflow"),
        MUSIC_REPORTS_DIR=str(folder / "reports"),
        TF_CPP_MIN_LOG_LEVEL="2",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    py = [sys.executable, "-m", "python_ml"]
    print(f"{scale:g}x: {rows:,} tracks in {folder}", flush=True)
    results: dict[str, Measurement] = {}

    def stage(name: str, *args: str) -> None:
        results[name] = measure(name, list(args), env, log_file)
        if not results[name].ok:
            raise RuntimeError(f"stage {name} failed at {scale:g}x; see {log_file}")

    stage("generate data", *py, "generate", "--rows", str(rows), "--overwrite")
    stage("dbt build: staging, cleaning, split", *py, "build")
    dbt = str(Path(sys.executable).with_name("dbt"))
    stage(
        "dbt run (no tests): staging to split",
        dbt,
        "run",
        "--exclude",
        *PREDICTION_MARTS,
        "--profiles-dir",
        str(PROJECT_ROOT / "profiles"),
    )
    # The same work as one plain DuckDB script, from the SQL dbt compiled.
    # Its file must also be called warehouse.duckdb: the compiled SQL names that catalog.
    plain_db = folder / "plain" / "warehouse.duckdb"
    plain_db.parent.mkdir()
    shutil.copy(env["MUSIC_WAREHOUSE"], plain_db)
    statements = plain_sql_script(load_settings())
    script = folder / "plain_sql.json"
    script.write_text(json.dumps(statements))
    stage(
        "plain DuckDB SQL: staging to split",
        sys.executable,
        "-c",
        "import json, sys; from pathlib import Path; from benchmarks.bench import run_plain_sql;"
        f" run_plain_sql(json.loads(Path({str(script)!r}).read_text()), "
        f"Path({str(plain_db)!r}))",
    )
    for model in (
        "majority/full",
        "logistic_regression/full",
        "hist_gradient_boosting/full",
        "neural_network/full",
    ):
        stage(f"train {model}", *py, "train", "--only", model)
    stage("score predict split", *py, "score")
    stage("songs 2023 study", *py, "songs")
    stage("dbt build: prediction marts", *py, "marts")
    stage("charts", *py, "charts")
    stage("app: render every page twice", sys.executable, "-m", "benchmarks.bench_app", "--json")
    if scale == 1.0:  # its own section of BENCHMARKS.md: latency, batches, soak, predict
        stage("service: latency, batches, soak", sys.executable, "-m", "benchmarks.bench_service")
    with duckdb.connect(env["MUSIC_WAREHOUSE"], read_only=True) as con:
        predict_rows = con.execute("select count(*) from marts.fct_predict_tracks").fetchone()[0]
    results["score predict split"].rows = predict_rows  # type: ignore[attr-defined]
    scored = re.findall(r"scored ([\d,]+) tracks in ([\d.]+) s", log_file.read_text())
    results["score predict split"].scoring_seconds = (  # type: ignore[attr-defined]
        float(scored[-1][1]) if scored else float("nan")
    )
    pages = re.findall(r"APP_PAGES (.*)", log_file.read_text())
    results["app: render every page twice"].pages = (  # type: ignore[attr-defined]
        json.loads(pages[-1]) if pages else {}
    )
    return results


def write_report(
    path: Path,
    scales: list[float],
    results: dict[float, dict[str, Measurement]],
    started: datetime,
    host: HostSpeed | None = None,
) -> None:
    base, top = scales[0], scales[-1]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {started:%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}. Each stage is its own "
        "process; peak memory is the largest resident set of that process or of any one of its "
        "child processes (not their sum: the songs study's two worker processes count once).",
        *([f"The {host.text()}."] if host else []),
        "",
        "| stage | "
        + " | ".join(f"{s:g}x time (s) | {s:g}x peak (MB)" for s in scales)
        + (
            f" | time {top:g}x / {base:g}x | memory {top:g}x / {base:g}x |"
            if len(scales) > 1
            else " |"
        ),
        "|---|" + "---|---|" * len(scales) + ("---|---|" if len(scales) > 1 else ""),
    ]
    for stage in results[base]:
        cells = []
        for s in scales:
            m = results[s].get(stage)
            cells += [f"{m.seconds:.1f}", f"{m.peak_mb:.0f}"] if m else ["", ""]
        if len(scales) > 1 and stage in results[top]:
            a, b = results[base][stage], results[top][stage]
            cells += [f"{b.seconds / a.seconds:.1f}", f"{b.peak_mb / a.peak_mb:.1f}"]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("")
    for s in scales:
        score = results[s]["score predict split"]
        rows = getattr(score, "rows", 0)
        dbt_run = results[s]["dbt run (no tests): staging to split"].seconds
        plain = results[s]["plain DuckDB SQL: staging to split"].seconds
        pipeline = sum(
            m.seconds
            for k, m in results[s].items()
            if not k.startswith(("dbt run", "plain", "app:"))
        )
        lines += [
            f"- **{s:g}x**: scoring {rows:,} tracks at "
            f"{rows / getattr(score, 'scoring_seconds', score.seconds):,.0f} rows/s (reading, "
            f"predicting and writing; {rows / score.seconds:,.0f} rows/s for the whole process "
            "with model load and holdout evaluation); dbt run / plain SQL = "
            f"{dbt_run:.1f} s / {plain:.1f} s = {dbt_run / plain:.1f}x; all stages of the main job "
            f"{pipeline:.0f} s; largest peak memory "
            f"{max(m.peak_mb for m in results[s].values()):,.0f} MB.",
        ]
        pages = getattr(results[s].get("app: render every page twice"), "pages", {})
        if pages:
            lines.append(
                f"- **{s:g}x app pages** (first render, reading the warehouse / cached): "
                + ", ".join(
                    f"{p} {f['first']:.2f} s / {f['cached']:.2f} s" for p, f in pages.items()
                )
                + "."
            )
    kept = kept_tail(path)  # other benchmarks' sections (e.g. bench_spark's), the notes beside
    path.write_text("\n".join(lines) + "\n" + kept, encoding="utf-8")


SECTION_START, SECTION_END = "<!-- section: {name} -->", "<!-- /section: {name} -->"


def kept_tail(path: Path) -> str:
    """What follows this benchmark's table in an existing BENCHMARKS.md, kept as it is: from the
    first marked section on, the sections other benchmarks wrote and the notes written between
    them (which only a person writes: a run of `make bench` must not delete them)."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    at = text.find("\n" + SECTION_START.split("{name}")[0])
    return text[at:] if at >= 0 else ""


def write_section(path: Path, name: str, body: str) -> None:
    """Put (or replace) a marked section at the end of BENCHMARKS.md."""
    import re

    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = SECTION_START.format(name=name), SECTION_END.format(name=name)
    block = f"\n{start}\n{body.rstrip()}\n{end}\n"
    pattern = re.compile(rf"\n{re.escape(start)}.*?{re.escape(end)}\n", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text + block
    path.write_text(text, encoding="utf-8")


PUBLISHED_SCALES = [1.0, 10.0]  # what BENCHMARKS.md reports (`make bench`)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=PUBLISHED_SCALES)
    parser.add_argument("--root", default=str(PROJECT_ROOT / "data" / "bench"))
    parser.add_argument(
        "--out",
        help="the report (default: BENCHMARKS.md for the published scales, 1 and 10; for "
        "others, BENCHMARKS.md in --root, so a quick check never replaces the published figures)",
    )
    args = parser.parse_args(argv)
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    if args.out is None:
        published = sorted(args.scales) == PUBLISHED_SCALES
        args.out = str(PROJECT_ROOT / "BENCHMARKS.md" if published else root / "BENCHMARKS.md")
    log_file = root / "bench.log"
    log_file.write_text("")
    started = datetime.now(UTC)
    host = reference()
    print(host.text(), flush=True)
    results = {s: bench_scale(s, root, log_file) for s in args.scales}
    write_report(Path(args.out), args.scales, results, started, host)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
