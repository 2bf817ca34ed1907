"""The Dagster asset graph (python_ml/orchestration): the one definition of the main job."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from conftest import PROJECT_ROOT, SMALL_ROWS, main_job_env, table_counts
from dagster._core.instance.ref import InstanceRef

from python_ml.orchestration import automation, runner
from python_ml.orchestration.assets import raw as raw_assets

ML_TABLES = ("ml.model_runs", "ml.track_predictions", "ml.song_predictions")


def test_run_logs_one_timed_line_per_step(main_job_dir: Path) -> None:
    log = (main_job_dir / "stderr.log").read_text()
    for title in (
        "extract raw data",
        "load the raw files",
        "dbt build (staging, cleaning, split)",
        "train the tracks models",
        "score the predict split",
        "2023 songs study",
        "dbt build of the prediction marts",
        "charts into",
        "dbt docs generate",
    ):
        assert f"<== {title}" in log, title
    assert "main job finished in" in log
    assert "Traceback" not in log
    # The report links the docs site as one file that opens from disk: its data inside.
    import re

    page = main_job_dir / "reports" / "index.html"
    (link,) = re.findall(r'href="([^"]*)">dbt docs site', page.read_text())
    assert not link.startswith(("/", "file:"))  # relative: it holds when the folder moves
    docs = (page.parent / link).resolve()
    assert docs.name == "static_index.html" and '"nodes"' in docs.read_text()
    # Names in the captions are code, not backticks shown as such.
    assert "<code>predict</code> measures new batches" in page.read_text()
    assert "`" not in "".join(re.findall(r"<figcaption>(.*?)</figcaption>", page.read_text()))


def test_the_main_job_is_recorded_with_the_metadata_a_user_looks_for(
    main_job_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m python_ml run` is the asset graph: its run is in the instance the UI shows,
    every asset materialized, with row counts and the champion's MLflow link; then part of the
    graph (only the charts) runs on a copy of the same folder, from the marts already built."""
    import shutil

    from python_ml.settings import load_settings

    tables = table_counts(main_job_dir / "warehouse.duckdb")
    for table in ML_TABLES:
        assert tables[table] > 0, table
    with dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(main_job_dir / "dagster"))
    ) as instance:
        runs = instance.get_runs()
        assert [r.status.value for r in runs] == ["SUCCESS"]
        materialized = {
            key.to_user_string()
            for key in instance.get_asset_keys()
            if instance.get_latest_materialization_event(key) is not None
        }
        for key in ("raw_files", "spotify_600k/tracks", "champion_model", "ml/track_predictions"):
            assert key in materialized
        assert {"report", "dbt_docs", "marts/fct_track_predictions"} <= materialized
        event = instance.get_latest_materialization_event(dg.AssetKey("champion_model"))
        metadata = event.asset_materialization.metadata
        assert metadata["mlflow_run"].value.endswith(
            f"/runs/{metadata['champion_run_id'].value}?workflowType=machine_learning"
        )
        assert metadata["data_origin"].value == "generated"  # what the champion learnt from
        # Every ml source is made by a step of the graph (none is an orphan with no upstream).
        assert {"ml/feature_importance", "ml/track_explanations"} <= materialized
        tracks = instance.get_latest_materialization_event(
            dg.AssetKey(["spotify_600k", "tracks"])
        ).asset_materialization.metadata
        assert tracks["rows_read"].value == SMALL_ROWS
        assert tracks["rows_rejected"].value == 0
        mart = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "fct_track_predictions"])
        ).asset_materialization.metadata
        assert mart["dagster/row_count"].value == tables["marts.fct_track_predictions"]

    # Part of the graph: only the charts, on a copy of the folder (models are found relative
    # to the MLflow folder, so the copy scores and draws as the original does).
    copy = tmp_path / "copy"
    shutil.copytree(main_job_dir, copy)
    for key, value in main_job_env(copy).items():
        monkeypatch.setenv(key, value)
    page = copy / "reports" / "index.html"
    page.unlink()
    partial = runner.materialize(load_settings(), selection=["report"])
    assert {e.asset_key.to_user_string() for e in partial.get_asset_materialization_events()} == {
        "report"
    }
    assert page.is_file()
    assert table_counts(copy / "warehouse.duckdb") == tables


def test_a_failing_asset_stops_what_depends_on_it(
    small_raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from python_ml.settings import load_settings
    from python_ml.steps import StepFailed

    for key, value in main_job_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    shutil.copytree(small_raw_dir, tmp_path / "raw")
    tracks = tmp_path / "raw" / "spotify_600k" / "tracks.csv"
    lines = tracks.read_text().splitlines()
    # Every row has a field too many: all are quarantined, far above the 1% allowed.
    tracks.write_text("\n".join([lines[0], *(line + ",extra" for line in lines[1:])]) + "\n")

    with pytest.raises(StepFailed) as failure:
        runner.materialize(load_settings())
    message = str(failure.value)
    assert message.startswith("the main job stopped: raw_tables:")
    assert "tracks.csv" in message and "do not parse" in message
    assert "not run:" in message and "train" in message and "report" in message
    assert not (tmp_path / "reports").exists()
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "dagster"))) as instance:
        assert [r.status.value for r in instance.get_runs()] == ["FAILURE"]

    # The command line says the same in one line and exits 1.
    env = {**os.environ, **main_job_env(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "python_ml", "run", "--offline"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "the main job stopped: raw_tables:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_sensor_asks_for_a_run_only_when_raw_files_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("MUSIC_RAW_DIR", str(tmp_path))
    assert automation.new_raw_files.default_status.value == "STOPPED"
    assert automation.daily.default_status.value == "STOPPED"

    def evaluate(cursor: str | None):
        context = dg.build_sensor_context(cursor=cursor)
        return list(automation.new_raw_files(context)), context.cursor

    events, cursor = evaluate(None)
    assert isinstance(events[0], dg.SkipReason)  # no files yet
    (tmp_path / "spotify_2023").mkdir()
    song = tmp_path / "spotify_2023" / "spotify-2023.csv"
    song.write_text("a\n1\n")
    events, cursor = evaluate(None)
    assert isinstance(events[0], dg.RunRequest)
    # Turned on: the first look has nothing to compare with, and says so (it named every
    # file as changed).
    assert (
        events[0]
        .tags["music/changed_files"]
        .startswith("first look: the sensor had no record of the 1 raw file(s)")
    )
    events, cursor_again = evaluate(cursor)
    assert isinstance(events[0], dg.SkipReason)
    song.write_text("a\n1\n2\n")
    (tmp_path / "spotify_2023" / "extra.csv").write_text("a\n")
    events, cursor = evaluate(cursor)
    assert isinstance(events[0], dg.RunRequest)
    assert (
        events[0].tags["music/changed_files"]
        == "spotify_2023/extra.csv, spotify_2023/spotify-2023.csv"
    )
    song.unlink()
    events, _ = evaluate(cursor)
    assert events[0].tags["music/changed_files"] == "spotify_2023/spotify-2023.csv (removed)"


def test_the_raw_download_is_retried_but_a_bad_file_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed download reaches the asset's retry policy as it is; a bad file fails the run
    at once (a dg.Failure that allows no retry): the same file would fail the same way."""
    from python_ml.orchestration.resources import ProjectSettings
    from python_ml.raw import extract, generate

    policy = raw_assets.raw_files.op.retry_policy
    assert policy is not None and policy.max_retries >= 2
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    (raw / "spotify_2023" / "spotify-2023.csv").write_bytes(b"")
    monkeypatch.setenv("MUSIC_RAW_DIR", str(raw))
    config = raw_assets.ExtractRunConfig(offline=True)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [raw_assets.raw_files],
            resources={"paths": ProjectSettings()},
            run_config=dg.RunConfig(ops={"raw_files": config}),
            instance=instance,
            raise_on_error=False,
        )
        events = [e.event_type_value for e in result.all_events]
        assert events.count("STEP_START") == 1 and "STEP_UP_FOR_RETRY" not in events
        failure = result.failure_data_for_node("raw_files")
        assert failure.user_failure_data is not None  # the dg.Failure, not the error itself
        assert "spotify-2023.csv is empty" in failure.error.message

        def unreachable(*args, **kwargs):
            raise extract.DownloadError("Kaggle could not be reached (no network?)")

        monkeypatch.setattr(extract, "extract_step", unreachable)
        resources = {"paths": ProjectSettings()}
        with dg.build_asset_context(instance=instance, resources=resources) as context:
            with pytest.raises(extract.DownloadError):  # as it is, for the retry policy
                raw_assets.raw_files(context, config=config)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_webserver_lists_the_assets_from_raw_files_to_charts(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, **main_job_env(tmp_path)}
    (tmp_path / "dagster").mkdir()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-m",
            "python_ml.orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        query = json.dumps(
            {"query": "{ assetNodes { assetKey { path } dependencyKeys { path } } }"}
        )
        nodes = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=query.encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.loads(response.read())
                nodes = body["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert nodes, server.stderr.read() if server.poll() is not None else "no answer"
        keys = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        for key in (
            "raw_files",
            "spotify_600k/tracks",
            "marts/fct_train_tracks",
            "champion_model",
            "ml/track_predictions",
            "marts/fct_track_predictions",
            "report",
        ):
            assert key in keys, key
        parents = {k: {"/".join(d["path"]) for d in n["dependencyKeys"]} for k, n in keys.items()}
        assert "raw_files" in parents["spotify_600k/tracks"]
        assert "champion_model" in parents["ml/track_predictions"]
        assert "champion_model" in parents["ml/track_explanations"]
        assert "marts/fct_train_tracks" in parents["ml/feature_importance"]
        assert "ml/track_predictions" in parents["staging/stg_ml__track_predictions"]
        assert "marts/fct_track_predictions" in parents["report"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _step_runs(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("select step, run_id from pipeline.step_versions").fetchall())


def _tracks_runs(warehouse: Path) -> list[tuple]:
    """The tracks models' runs (the songs study records its own in ml.model_runs too)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select run_id, status from ml.model_runs where task = 'tracks' order by run_id"
        ).fetchall()


def test_only_what_is_stale_runs(main_job_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """A changed songs config reruns the study and only what reads it; every other step keeps
    the run that last computed it. Asserted from the steps' records, not by timing. (A second
    run with nothing new, which recomputes nothing and records nothing twice: test_stale.py's
    settled run.)"""
    from python_ml.settings import load_settings

    for key, value in main_job_env(main_job_dir).items():
        monkeypatch.setenv(key, value)
    warehouse = main_job_dir / "warehouse.duckdb"
    first = _step_runs(warehouse)
    assert set(first) == {
        "dbt_ml_inputs",
        "songs",
        "train",
        "score",
        "dbt_prediction_marts",
        "report",
        "dbt_docs",
    }
    before = table_counts(warehouse), _tracks_runs(warehouse)
    songs_config = yaml.safe_load((PROJECT_ROOT / "python_ml/configs/songs_2023.yml").read_text())
    assert songs_config["repeats"] > 1
    songs_config["repeats"] = 1  # a changed config, and the cheapest study (no worker processes)
    changed = tmp_path / "songs.yml"
    changed.write_text(yaml.safe_dump(songs_config))
    offline = {"raw_files": {"config": {"offline": True, "rows": SMALL_ROWS}}}
    ops = {**offline, "songs": {"config": {"config": str(changed)}}}
    autoload = os.environ.get("MUSIC_AUTOLOAD_RAW")
    again = runner.materialize(load_settings(), run_config={"ops": ops})
    assert again.success
    # The job set the dbt environment only while dbt started: this process's is as it was.
    assert os.environ.get("MUSIC_AUTOLOAD_RAW") == autoload
    steps = _step_runs(warehouse)
    rerun = {step for step, run_id in steps.items() if run_id == again.run_id}
    assert rerun == {"songs", "dbt_prediction_marts", "report", "dbt_docs"}
    assert {s: steps[s] for s in ("dbt_ml_inputs", "train", "score")} == {
        s: first[s] for s in ("dbt_ml_inputs", "train", "score")
    }
    # Nothing trained or scored again: the tracks' runs, predictions and explanations as they were.
    after = table_counts(warehouse), _tracks_runs(warehouse)
    assert after[1] == before[1]
    for table in ("ml.track_predictions", "ml.track_explanations"):
        assert after[0][table] == before[0][table], table


def test_every_dbt_check_says_what_it_asserts() -> None:
    """Dagster's UI said "No description provided" for every dbt test's check: each now says
    what its test asserts (from the generic test's arguments, or a singular test's comment)."""
    from python_ml.orchestration.definitions import build_definitions

    specs = {
        spec.key.to_user_string(): spec
        for assets_def in build_definitions().assets or []
        for spec in getattr(assets_def, "check_specs", [])
    }
    assert len(specs) > 100
    undescribed = sorted(k for k, spec in specs.items() if not spec.description)
    assert undescribed == []
    said = {k.split(":")[-1]: spec.description for k, spec in specs.items()}
    assert said["not_null_fct_track_predictions_track_id"] == "`track_id` is never null."
    assert said["assert_no_track_on_both_sides_of_split"].startswith(
        "A returned row is a track that is in both the train and the predict table"
    )
    # A singular test's dbt description (its leading comment), and that it only warns.
    artists = said["warn_tracks_find_their_artists"]
    assert artists.startswith("Warns (the build goes on) when fewer than half of the clean")
    assert artists.endswith("and python_ml's build logs its hint. (warns, does not fail)")
    (drift,) = [d for k, d in said.items() if k.startswith("accepted_range_rpt_feature_drift_psi")]
    assert drift == (
        "`psi` is at most the var drift_psi_threshold (nulls pass), in the rows where is_current "
        "and drift_status != 'too few tracks'. (warns, does not fail)"
    )


def test_every_table_python_ml_writes_says_what_it_holds() -> None:
    """The raw tables and the ml tables each showed their step's text in Dagster's UI (five
    raw tables alike): each now shows its dbt source's description, the one in dbt docs."""
    import json

    from python_ml.orchestration.definitions import build_definitions
    from python_ml.settings import load_settings

    definitions = build_definitions()  # parses the manifest first when there is none
    manifest = json.loads((load_settings().target_dir / "manifest.json").read_text("utf-8"))
    said = {
        f"{s['source_name']}/{s['name']}": " ".join(s["description"].split())
        for s in manifest["sources"].values()
    }
    specs = {
        "/".join(spec.key.path): spec
        for assets_def in definitions.assets or []
        for spec in getattr(assets_def, "specs", [])
        if spec.group_name in ("raw", "ml")
    }
    described = {key: spec.description for key, spec in specs.items() if key.count("/") == 1}
    assert len(described) >= 10
    for key, description in described.items():
        assert description == said[key], key
    assert len(set(described.values())) == len(described)  # no two alike


def test_the_run_is_on_the_jobs_page_and_the_timeline_of_the_ui(main_job_dir: Path) -> None:
    """`python -m python_ml run` was on Dagster's Runs page, but main_job's own page (which
    filters on the code location's hidden repository tag) said "No runs found", and the
    Overview's timeline (which draws only runs with a code location origin) was empty."""
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.storage.dagster_run import RunsFilter
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(main_job_dir / "dagster"))) as inst:
        runs = inst.get_runs(
            filters=RunsFilter(
                job_name="main_job",
                tags={REPOSITORY_LABEL_TAG: "__repository__@python_ml.orchestration.definitions"},
            )
        )
        # Every asset with figures says whether they come from generated data (only the
        # champion did).
        origins = {
            key: inst.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
            .asset_materialization.metadata["data_origin"]
            .value
            for key in ("champion_model", "ml/track_predictions", "ml/song_predictions", "report")
        }
    assert len(runs) >= 1 and runs[0].tags["music/launched_by"] == "python -m python_ml run"
    origin = runs[0].remote_job_origin
    assert origin is not None and origin.job_name == "main_job"
    assert origin.repository_origin.repository_name == "__repository__"
    assert origin.location_name == "python_ml.orchestration.definitions"  # `make dagster`'s
    assert set(origins.values()) == {"generated"}, origins


def test_the_report_the_app_and_the_service_read_what_their_exposures_say() -> None:
    """The dbt exposure popularity_charts and the report's Dagster asset both name what the
    report reads (catalog.REPORT_READS): they left out the data-quality table and the train
    split the model card reads, and each had a different list."""
    import re

    import yaml

    from python_ml.orchestration.definitions import build_definitions
    from python_ml.warehouse import catalog

    exposures = yaml.safe_load((PROJECT_ROOT / "models" / "exposures.yml").read_text())
    sources = {"ml.": "ml.", "raw.load_log": "loader.load_log"}  # the schema, as a source

    def named(exposure: str) -> set[str]:
        (found,) = [e for e in exposures["exposures"] if e["name"] == exposure]
        names = set()
        for dep in found["depends_on"]:
            ref = re.fullmatch(r"ref\('(\w+)'\)", dep)
            source = re.fullmatch(r"source\('(\w+)', '(\w+)'\)", dep)
            names.add(ref.group(1) if ref else f"{source.group(1)}.{source.group(2)}")
        return names

    def as_nodes(tables: tuple[str, ...]) -> set[str]:
        return {
            next((to + t.removeprefix(k) for k, to in sources.items() if t.startswith(k)), None)
            or t.split(".")[1]
            for t in tables
        }

    # (The app and the service read what scoring reads too: exposures popularity_app and
    # scoring_service, which the dbt docs' lineage lacked.)
    for exposure, tables in (
        ("popularity_charts", catalog.REPORT_READS),
        ("popularity_app", catalog.APP_READS),
        ("scoring_service", catalog.SCORING_READS),
    ):
        assert named(exposure) == as_nodes(tables), exposure
    (report,) = [a for a in build_definitions().assets or [] if dg.AssetKey("report") in a.keys]
    upstream = {k.to_user_string() for k in report.asset_deps[dg.AssetKey("report")]}
    assert {"marts/rpt_source_row_counts", "marts/fct_train_tracks", "ml/model_runs"} <= upstream
    assert "marts/rpt_hit_rate_by_artist" in upstream  # `run` redraws it when any mart changes


def test_the_report_logged_to_mlflow_shows_its_charts(main_job_dir: Path) -> None:
    """MLflow shows an HTML artifact on its own: the report's charts beside it showed as their
    alt text. Its copy has them inside; the reports folder's page keeps its PNG files."""
    import re

    (logged,) = main_job_dir.glob("mlflow/**/artifacts/report/index.html")
    text = logged.read_text()
    images = re.findall(r'<img src="([^"]*)"', text)
    assert len(images) >= 8 and all(i.startswith("data:image/png;base64,") for i in images)
    assert (logged.parent / "confusion_matrix.png").exists()  # also downloadable alone
    local = re.findall(r'<img src="([^"]*)"', (main_job_dir / "reports" / "index.html").read_text())
    assert local and all(i.endswith(".png") for i in local)
    # The registered model's own page says what it is (only its versions did).
    import mlflow

    from python_ml.tracking.registry import TRACK_MODEL_NAME

    store = f"sqlite:///{main_job_dir / 'mlflow' / 'mlflow.db'}"  # the registry's too (above)
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    description = client.get_registered_model(TRACK_MODEL_NAME).description
    assert description.startswith("The popularity class of a Spotify track")
    assert "one of ice-cold (0-30), lukewarm (31-69), blazing-hot (70-100)," in description


def test_every_run_executes_its_steps_one_after_another_in_its_process() -> None:
    """With Dagster's default executor (a process per step) the UI's *Materialize all* started
    train and songs at once, and train failed on the warehouse's lock: the UI's runs, its asset
    selections and `run` all execute as `run` does."""
    from python_ml.orchestration.definitions import build_definitions

    defs = build_definitions()
    assert defs.resolve_job_def("main_job").executor_def is dg.in_process_executor
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
