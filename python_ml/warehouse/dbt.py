"""Running dbt from python_ml: a subprocess with the project's profiles and absolute paths.

A subprocess (not the in-process dbtRunner) guarantees dbt has released the warehouse file
when it returns, so python_ml can open it next.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

from python_ml.errors import DISK_FULL, UserError
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.warehouse import db
from python_ml.warehouse.db import RunLock

log = logging.getLogger(__name__)


# The two halves of the project: the ML inputs (staging to split, quality and exploration
# reports) are built before training; the prediction marts after scoring.
PREDICTION_MARTS = ("tag:ml_outputs", "staging.ml")


class DbtError(UserError, RuntimeError):
    """dbt exited non-zero."""


def check_target_dir(settings: Settings) -> None:
    """dbt's target folder (``$DBT_TARGET_PATH``) can take files: dbt itself failed on one
    that is a file or cannot be made with a stack trace after parsing, which python_ml then
    said was the output "naming the model or test" (and predict, after compiling for 20 s)."""
    from python_ml.settings import folder_problem

    problem = folder_problem(settings.target_dir)
    if problem:
        raise DbtError(
            f"dbt's target folder {settings.target_dir} {problem}: dbt writes its manifest and "
            "compiled SQL there. Set DBT_TARGET_PATH to a folder you can write (default: "
            "target, in the project), or fix its permissions."
        )


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise DbtError("dbt is not installed in this environment. Run `make install`.")
    return found


# A dbt for callers that start it themselves (dagster-dbt): it sets the parent-death signal,
# then becomes dbt (the setting survives exec), so a `kill -9` of python_ml stops it too.
LAUNCHER = """import ctypes, os, signal, sys
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except OSError:
    pass
os.execv({dbt!r}, [{dbt!r}, *sys.argv[1:]])
"""


def dbt_stopping_with_parent(folder: Path) -> str:
    """The path of a dbt launcher in ``folder`` that dies with the process that starts it
    (Linux; elsewhere plain dbt)."""
    dbt = dbt_executable()
    if not sys.platform.startswith("linux") or " " in sys.executable:
        return dbt
    launcher = folder / "dbt-stopping-with-parent"
    text = f"#!{sys.executable}\n" + LAUNCHER.format(dbt=dbt)
    if not launcher.exists() or launcher.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        launcher.write_text(text, encoding="utf-8")
        launcher.chmod(0o755)
    return str(launcher)


def _stop_with_parent() -> None:
    """In the dbt child, before it starts: the kernel sends it SIGTERM when python_ml dies,
    even by `kill -9` (Linux), so no dbt is left holding the warehouse."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def run_dbt(
    settings: Settings,
    *args: str,
    capture: bool = False,
    scratch: Path | None = None,
    autoload_raw: bool = False,
) -> str:
    """Run dbt on the project; returns its output when ``capture``. ``scratch`` keeps dbt's
    target and log folders there (a run beside the project's own, e.g. ``predict``).
    python_ml's steps load the raw files themselves (`load`), so dbt does not
    (warehouse/dbt_plugin.py) unless ``autoload_raw``.

    Stopping python_ml (Ctrl-C, SIGTERM) stops dbt too: no dbt is left holding the warehouse.
    """
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(settings.project_root),
        "--profiles-dir",
        str(settings.profiles_dir),
    ]
    if scratch is not None:
        command += ["--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")]
    else:
        check_target_dir(settings)
    log.info("dbt %s", " ".join(args))
    if args[:1] != ("parse",):  # opens no warehouse (dbt_plugin.OPENS_NO_WAREHOUSE): no folder
        settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = settings.dbt_env()
    env["MUSIC_AUTOLOAD_RAW"] = "true" if autoload_raw else "false"
    process = subprocess.Popen(
        command,
        env=env,
        preexec_fn=_stop_with_parent,
        cwd=settings.project_root,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
    )
    try:
        output, _ = process.communicate()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    if process.returncode != 0:
        on_duckdb = "spark" not in args  # (--target spark: the DuckDB file is not dbt's)
        held = _lock_holder(output) if output and on_duckdb else None
        if held:  # not the project's fault: another process had the warehouse open
            raise DbtError(
                f"`dbt {' '.join(args)}` stopped: DuckDB could not open the warehouse "
                f"{settings.warehouse}, which {held} held open (a DuckDB shell, a notebook, or "
                "another dbt). Close it and run the step again: what dbt built before it is kept."
            )
        where = "its output above names" if not capture else "its output names"
        detail = f"\n{_errors(output)}" if capture and output else ""
        # Its output went to the terminal: whoever holds the warehouse now, should it say
        # "Could not set lock" (then the model is not at fault).
        holder = db.held_open_by(settings.warehouse) if not capture and on_duckdb else None
        if holder:
            detail += (
                f" The warehouse is held open by {holder} now: if the output says `Could not "
                "set lock`, close that program and run the step again."
            )
        if capture and output and any(t in output for t in DISK_FULL):  # not the model
            raise DbtError(
                f"`dbt {' '.join(args)}` failed (exit {process.returncode}): the disk holding "
                f"{settings.warehouse.parent} is full (`No space left on device`). Free space "
                "there and run the step again: what dbt built before is kept."
            )
        raise DbtError(
            f"`dbt {' '.join(args)}` failed (exit {process.returncode}); {where} "
            f"the model, test or var at fault. Fix it and run the step again.{detail}"
            f"{low_disk(settings) if not capture else ''}"
        )
    return output or ""


# Below this much free space, a failed dbt command whose output went to the terminal is said
# to have perhaps filled the disk.
LOW_DISK_BYTES = 64 * 1024 * 1024


def low_disk(settings: Settings) -> str:
    """What to add to a failed dbt command's message when the warehouse's disk is nearly full
    now (its output, which went to the terminal, says whether that was the cause), or ''."""
    import shutil

    folder = settings.warehouse.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    if free >= LOW_DISK_BYTES:
        return ""
    return (
        f" The disk holding {folder} has {free / 1024 / 1024:.0f} MB free: if the output says "
        "`No space left on device`, free space there instead (what dbt built before is kept)."
    )


def _lock_holder(output: str) -> str | None:
    """The process DuckDB named as holding the warehouse when dbt could not open it ("Could
    not set lock on file ...: Conflicting lock is held in <program> (PID 704)"), or None."""
    if "Could not set lock on file" not in output:
        return None
    found = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", output)
    return f"process {found.group(2)} ({found.group(1)})" if found else "another process"


def _errors(output: str) -> str:
    lines = [line for line in output.splitlines() if "error" in line.lower()]
    return "\n".join(lines[-10:]) or "\n".join(output.splitlines()[-10:])


def _target(engine: str) -> list[str]:
    return ["--target", "spark"] if engine == "spark" else []


def build_ml_inputs(settings: Settings, engine: str = "duckdb", *dbt_args: str) -> None:
    """The `build` step's dbt half: staging, cleaning, quality and exploration reports and the
    split (everything but the prediction marts), on DuckDB or Spark (where dbt loads the new or
    changed raw files itself, as a user's plain `dbt build --target spark` does)."""
    with RunLock(settings.warehouse), step(f"dbt build (staging, cleaning, split) on {engine}"):
        run_dbt(
            settings,
            "build",
            *_target(engine),
            "--exclude",
            *PREDICTION_MARTS,
            *dbt_args,
            autoload_raw=engine == "spark",
        )
    if engine == "duckdb":
        if not dbt_args:  # the whole half: its manifest describes the split it made
            from python_ml.orchestration.dbt_state import keep_train_build_manifest

            keep_train_build_manifest(settings, settings.target_dir / "manifest.json")
        log_source_counts(settings)
        log_build_warnings(settings)


def log_source_counts(settings: Settings) -> dict[str, tuple[int, int, int]]:
    """After dbt's validation: per raw source, rows read, kept and rejected (the loader's
    quarantine and dbt's rules together) with the main reasons; a warning for a source with
    no rows. Returns {source: (read, kept, rejected)}."""
    from python_ml.warehouse import catalog, db

    with db.connect(settings.warehouse) as con:
        try:
            db.require_tables(con, catalog.RPT_SOURCE_ROW_COUNTS)
        except db.WarehouseError:  # a partial build that did not make the report: no figures
            return {}
        rows = con.execute(
            f"select source_table, outcome, row_count, rows_read, rows_kept, rows_rejected "
            f"from {catalog.RPT_SOURCE_ROW_COUNTS} order by source_table, row_count desc"
        ).fetchall()
    counts: dict[str, tuple[int, int, int]] = {}
    reasons: dict[str, list[str]] = {}
    for source, outcome, n, read, kept, rejected in rows:
        counts[source] = (read, kept, rejected)
        if outcome != "(kept)":
            reasons.setdefault(source, []).append(f"{outcome} {n:,}")
    for source in catalog.RAW_SOURCE_TABLES:
        read, kept, rejected = counts.get(source, (0, 0, 0))
        if read == 0:
            log.warning(
                "%s has no rows: its raw file holds a header and nothing else. Check the file "
                "in $MUSIC_RAW_DIR, or download it again (`python -m python_ml extract --force`)",
                source,
            )
            continue
        # Every reason (a few kinds at most): the counts add up to the rows rejected.
        why = (
            f" ({', '.join(reasons[source])}; marts.rpt_rejected_rows lists each)"
            if rejected
            else ""
        )
        log.info(
            "%s: %s rows read, %s kept, %s rejected%s",
            source,
            f"{read:,}",
            f"{kept:,}",
            f"{rejected:,}",
            why,
        )
    return counts


def log_build_warnings(settings: Settings) -> list[str]:
    """The hints of the warn-severity tests that warned at the last build (their rows, kept by
    dbt in the audit schema), one warning line each: dbt's own line says only "Got 1 result,
    configured to warn if != 0". Returns them."""
    from python_ml.warehouse import catalog, db

    hints: list[str] = []
    with db.connect(settings.warehouse) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and starts_with(table_name, 'warn_') order by table_name",
            [catalog.AUDIT_SCHEMA],
        ).fetchall()
        for (table,) in tables:
            rows = con.execute(
                f'select hint from {catalog.AUDIT_SCHEMA}."{table}" where hint is not null'
            ).fetchall()
            hints += [f"{table}: {hint}" for (hint,) in rows]
    for hint in hints:
        log.warning("dbt test %s", hint)
    return hints


def build_prediction_marts(settings: Settings, engine: str = "duckdb") -> None:
    """The `marts` step: the prediction marts over the `ml` source. On DuckDB, a warehouse
    without the ML inputs they read stops first with what to run (dbt's own errors named
    tables and schemas the user never made)."""
    if engine == "duckdb":
        from python_ml.warehouse import catalog, db

        with db.connect(settings.warehouse) as con:
            db.require_tables(con, catalog.PREDICT_TRACKS, catalog.POPULARITY_CLASSES)
    with RunLock(settings.warehouse), step(f"dbt build of the prediction marts on {engine}"):
        run_dbt(settings, "build", *_target(engine), "--select", *PREDICTION_MARTS)
    if engine == "duckdb":
        log_scoring_drift(settings)


def log_scoring_drift(settings: Settings) -> None:
    """After the prediction marts: the current scoring run's drift (marts.rpt_feature_drift,
    the same macros as `predict`'s batches), one warning per drifted feature."""
    from python_ml.tracks.drift import log_drift
    from python_ml.warehouse import catalog, db

    with db.connect(settings.warehouse) as con:
        if not db.has_table(con, catalog.RPT_FEATURE_DRIFT):
            return
        drift = con.execute(
            f"select feature, psi, psi_threshold, drift_status, batch_tracks "
            f"from {catalog.RPT_FEATURE_DRIFT} where is_current order by psi desc"
        ).df()
    if drift.empty:
        return
    log_drift(drift, f"the scored predict split ({int(drift['batch_tracks'].max()):,} tracks)")


def generate_docs(settings: Settings, *dbt_args: str) -> Path:
    """The `docs` step: ``dbt docs generate`` (with ``dbt_args``: `run --vars`); returns the
    page that opens as a file.

    ``--static`` adds ``static_index.html``, the site with its manifest and catalog inside:
    ``index.html`` fetches them, which a browser refuses for a page opened from a file (it
    stays on "loading"), so that one needs ``make docs-serve``."""
    with RunLock(settings.warehouse), step("dbt docs generate"):
        run_dbt(settings, "docs", "generate", "--static", *dbt_args)
    link_reports(settings)
    site = docs_page(settings)
    log.info("docs site: %s (or serve it with `make docs-serve`)", site)
    return site


def link_reports(settings: Settings) -> None:
    """``<target>/reports``: the reports folder, linked beside the docs site, where the
    exposures' links (models/exposures.yml: ``reports/model_card.html``, ...) point from it,
    served (`make docs-serve`) or opened as a file; the live folder, so a report drawn after
    the docs is the one they open. A folder of that name already there is left as it is."""
    link = settings.target_dir / "reports"
    target = settings.reports_dir.resolve()
    if link.is_symlink():
        if link.resolve() == target:
            return
        link.unlink()
    elif link.exists():
        return
    try:
        link.symlink_to(target, target_is_directory=True)
    except OSError as exc:  # a file system without links: the exposures' links stay dead
        log.warning("the docs' links to the reports will not open: %s not linked (%s)", link, exc)


def docs_page(settings: Settings) -> Path:
    """The dbt docs site as one file a browser opens from disk (``dbt docs generate --static``)."""
    return settings.target_dir / "static_index.html"
