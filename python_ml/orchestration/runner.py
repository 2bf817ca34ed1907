"""The main job materialized in this process (``python -m python_ml run``), recorded in the
Dagster instance the UI shows (``$DAGSTER_HOME``, default ``data/dagster``)."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.repository_definition.valid_definitions import (
    SINGLETON_REPOSITORY_NAME,
)
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

from python_ml.errors import UserError, disk_full
from python_ml.orchestration.definitions import build_definitions
from python_ml.settings import Settings, folder_problem
from python_ml.steps import StepFailed

log = logging.getLogger("python_ml")


class DagsterHomeError(UserError, RuntimeError):
    """Dagster's home folder cannot hold the run history; the message names it."""


def dagster_home(settings: Settings, create: bool = True) -> Path:
    """``$DAGSTER_HOME``, or ``dagster/`` beside the warehouse (``data/dagster``), with a
    ``dagster.yaml`` that keeps Dagster's telemetry off (made unless ``create`` is false: a
    look that must not leave a folder behind). One that is a file, or cannot be made or
    written, is named (`run` failed with Python's FileExistsError, `status` said every asset
    was never materialized)."""
    home = settings.dagster_home
    problem = "is a file, not a folder" if home.is_file() else None
    if create and not problem:
        problem = folder_problem(home)
    if problem:
        raise DagsterHomeError(
            f"Dagster's home {home} {problem}: the runs are recorded there. Set DAGSTER_HOME "
            "to a folder you can write (unset: dagster/ beside the warehouse), or fix its "
            "permissions."
        )
    if not create:
        return home
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


# The code location `make dagster` (`dagster dev -m python_ml.orchestration.definitions`) shows:
# the UI lists a job's runs by this hidden tag, which only runs it launched itself carried (a
# `python -m python_ml run` was on the Runs page, but main_job's own page said "No runs found").
UI_LOCATION = build_definitions.__module__
UI_JOB_TAGS = {REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{UI_LOCATION}"}


def ui_origin(job_name: str) -> Any:
    """The origin a run of ``job_name`` launched from `make dagster` carries: its code location
    (as `dagster dev -m` names it) and repository. The Overview page's timeline draws only runs
    that have one, so `run`'s runs are given it too (``execute_in_process`` records none)."""
    import sys

    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from python_ml.settings import PROJECT_ROOT

    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=UI_LOCATION,
            working_directory=str(PROJECT_ROOT),
        ),
        location_name=UI_LOCATION,
    )
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), job_name)


@contextlib.contextmanager
def history_written_without_waiting_for_the_disk(home: Path) -> Iterator[None]:
    """While the run lasts, Dagster's SQLite files under ``home`` are written without waiting
    for the disk at each commit (``PRAGMA synchronous=OFF``). Dagster's SQLite storage opens a
    connection and commits once per event (every asset, every dbt test: some 600 a run), and
    each commit waited for the disk: with the machine's disk busy, a run with nothing to do
    took 46 s, 18 s without waiting (the same folder, one after the other). The history is
    the UI's: what is stale is decided from the step records in the warehouse. A crash of
    the process loses nothing; an operating-system crash or a power cut during a run may damage
    the history, which `status` and the UI then say: remove the Dagster folder (the next run
    makes a new one, the warehouse and models untouched)."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    folder = str(home.resolve())

    def without_waiting(connection: Any, record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            rows = connection.execute("pragma database_list").fetchall()
            if any(str(row[2]).startswith(folder) for row in rows):
                connection.execute("pragma synchronous = off")

    event.listen(Engine, "connect", without_waiting)
    try:
        yield
    finally:
        event.remove(Engine, "connect", without_waiting)


def materialize(
    settings: Settings,
    run_config: dict[str, Any] | None = None,
    selection: Sequence[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the main job (or the assets ``selection`` names, e.g. ``["report"]``)
    in this process, recorded in the Dagster instance the UI shows. Stops at the first failed
    asset and raises :class:`StepFailed` naming it."""

    home = dagster_home(settings)
    started = time.perf_counter()
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    job = build_definitions().resolve_job_def("main_job")
    config = {
        # The steps log their own timed lines; Dagster's event log is in the UI's run history.
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        **(run_config or {}),
    }
    asset_selection = (
        [dg.AssetKey.from_user_string(s) for s in selection] if selection is not None else None
    )
    # execute_in_process creates its run without an origin, and takes none: the instance it
    # runs in is given one to record (this instance only lives for this run).
    instance.create_run_for_job = functools.partial(  # type: ignore[method-assign]
        instance.create_run_for_job, remote_job_origin=ui_origin(job.name)
    )
    with instance, history_written_without_waiting_for_the_disk(home):
        try:
            result = job.execute_in_process(
                run_config=config,
                instance=instance,
                raise_on_error=False,
                asset_selection=asset_selection,
                tags={"music/launched_by": "python -m python_ml run", **UI_JOB_TAGS},
            )
        except DagsterExecutionInterruptedError:
            raise KeyboardInterrupt from None  # Ctrl-C or SIGTERM: the CLI says "interrupted"
    log.debug("asset graph run %s in %.1f s", result.run_id, time.perf_counter() - started)
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        if any(
            e.step_failure_data.error and "Interrupt" in (e.step_failure_data.error.cls_name or "")
            for e in failures
        ):
            raise KeyboardInterrupt
        ran = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
        skipped = sorted({n.name for n in result.job_def.nodes} - ran)
        messages = []
        for event in failures:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None and "Dagster" in error.cls_name:
                error = error.cause
            text = (error.message if error else "failed").strip()
            # A full disk: one line saying so (MLflow's SQLite error runs to several lines).
            text = disk_full(text) or text.split(": ", 1)[-1].strip()
            messages.append(f"{event.step_key}: {text.rstrip('.')}")
        failed = {event.step_key for event in failures}
        page = settings.reports_dir / "index.html"
        # Skipped, or failed (a champion of other data: "The report was not drawn").
        if selection is None and ("report" in skipped or "report" in failed):
            from python_ml.reports.stale import mark_not_drawn_again

            if mark_not_drawn_again(page, "; ".join(messages or ["a step failed"])):
                log.warning("%s (the report before) now says it was not drawn again", page)
        # The songs study needs no tracks champion, nor do its marts: said how to build them
        # (the app's 2023 songs page said "no predictions" after a tracks file too small to
        # train on, beside a finished study).
        songs_marts = (
            f" The 2023 songs study ran: `{SONGS_MARTS_BUILD}` (the virtualenv activated) builds "
            "its marts without a tracks champion (the app's 2023 songs page reads them)."
            if "songs" in ran - failed and "dbt_prediction_marts" in skipped
            else ""
        )
        raise StepFailed(
            "the main job stopped: "
            + "; ".join(messages or ["a step failed"])
            + (f" (not run: {', '.join(skipped)})" if skipped else "")
            + f". Run history: `make dagster`, run {result.run_id[:8]}."
            + songs_marts
        )
    return result


def _described(cause: Any, key: dg.AssetKey) -> str:
    """A stale cause as a phrase: "has a new code version", "raw_files has a new data
    version"."""
    own = cause.asset_key == key
    return cause.reason if own else f"{cause.asset_key.to_user_string()} {cause.reason}"


# The 2023 songs' marts and what they read, alone: `python -m python_ml marts` builds the
# tracks' too, whose checks fail on predictions of other data (a seed changed, training refused).
SONGS_MARTS_BUILD = (
    "dbt build --select +fct_song_stream_predictions +fct_song_top_decile_predictions"
)

DOWNSTREAM_OF_UNSYNCED = "reads "  # how unsynced() says an asset is downstream of unsynced ones


def unsynced(settings: Settings) -> dict[str, list[str]]:
    """What the next ``run`` recomputes, by Dagster's code and data versions in the instance
    ``run`` records into: the assets the UI labels *unsynced* (their code version changed, or
    data they read changed since they were materialized; or never materialized), each with
    why, and the assets downstream of them, which Dagster marks only once the unsynced one is
    materialized again. ``run`` (and the UI's *Materialize unsynced*, repeated) brings them up
    to date."""
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.definitions.temporal_context import TemporalContext
    from dagster._time import get_current_datetime

    home = dagster_home(settings, create=False)
    graph = build_definitions().resolve_asset_graph()
    assert isinstance(graph, AssetGraph)
    result: dict[str, list[str]] = {}
    if not home.is_dir() or not any(home.iterdir()):  # no run recorded: nothing made, no folder
        for key in graph.toposorted_asset_keys:
            if graph.get(key).is_materializable:
                result[key.to_user_string()] = ["never materialized"]
        return result
    now = TemporalContext(effective_dt=get_current_datetime(), last_event_id=None)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        view = AssetGraphView(temporal_context=now, instance=instance, asset_graph=graph)
        resolver = CachingStaleStatusResolver(
            instance=instance, asset_graph=graph, loading_context=view
        )
        for key in graph.toposorted_asset_keys:
            if not graph.get(key).is_materializable:
                continue
            name = key.to_user_string()
            status = resolver.get_status(key)
            if status == StaleStatus.MISSING:
                result[name] = ["never materialized"]
            elif status == StaleStatus.STALE:
                causes = resolver.get_stale_root_causes(key)
                result[name] = sorted({_described(c, key) for c in causes})
            else:
                upstream = sorted(
                    p.to_user_string()
                    for p in graph.get(key).parent_keys
                    if p.to_user_string() in result
                )
                if upstream:
                    result[name] = [
                        f"{DOWNSTREAM_OF_UNSYNCED}{', '.join(upstream)}, which will change"
                    ]
    return result
