"""Only what is stale runs: a change to one dbt model, one macro, one chart's code or the raw
tracks reruns what depends on it and nothing else. Each case is asserted from the run's records,
not by timing: the steps that recorded this run in ``pipeline.step_versions``, the assets the
Dagster run materialized without the ``up_to_date`` mark, and the experiments it fitted.

The main job runs in a copy of the project (its files are what changes) on a copy of the test
session's main job folder, as that run left it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from conftest import SMALL_ROWS, copy_project, main_job_env, table_counts
from dagster._core.instance.ref import InstanceRef

from python_ml.orchestration.translator import Translator

# The steps of a run whose ML inputs' half rebuilt, with the same split: training looks at its
# experiments (and fits none), nothing is scored again, the marts, docs and report follow.
SPLIT_UNCHANGED = {"dbt_ml_inputs", "train", "dbt_prediction_marts", "report", "dbt_docs"}


class Project:
    """A copy of the project and of a main job folder, and the main job run in them."""

    def __init__(self, root: Path, job: Path) -> None:
        self.root, self.job = root, job

    def edit(self, relpath: str, old: str, new: str) -> None:
        path = self.root / relpath
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relpath} no longer has {old!r}: pick another line to change"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def run(self, *options: str) -> dict[str, object]:
        """`python -m python_ml run` (with ``options``) from the copy; what it recomputed."""
        env = {
            **os.environ,
            **main_job_env(self.job),
            "PYTHONPATH": str(self.root),
            "DBT_TARGET_PATH": "target",  # the copy's own, as a user's project has
        }
        result = subprocess.run(
            [
                *(sys.executable, "-m", "python_ml", "run", "--offline"),
                *("--rows", str(SMALL_ROWS), *options),
            ],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-5000:]
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.job / "dagster"))) as inst:
            run_id = inst.get_runs(limit=1)[0].run_id
            records = inst.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            events = [r.event_log_entry.asset_materialization for r in records]
            evaluations = [
                r.event_log_entry.dagster_event.event_specific_data
                for r in inst.get_records_for_run(
                    run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                ).records
            ]
            # A carried result names the run where dbt ran the test (not a run that carried it).
            real: dict[str, set[str]] = {}
            for e in evaluations:
                if "up_to_date" not in e.metadata:
                    continue
                source = e.metadata["evaluated_in_run"].value
                if source not in real:
                    real[source] = {
                        f"{r.asset_key.to_user_string()}:{r.check_name}"
                        for record in inst.get_records_for_run(
                            source, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                        ).records
                        if "up_to_date"
                        not in (
                            r := record.event_log_entry.dagster_event.event_specific_data
                        ).metadata
                    }
                name = f"{e.asset_key.to_user_string()}:{e.check_name}"
                assert source != run_id and name in real[source], (name, source)
            before: dict[str, bool] = {}  # each test's last result before this run
            for earlier in inst.get_runs()[1:]:  # newest first
                for record in inst.get_records_for_run(
                    earlier.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                ).records:
                    e = record.event_log_entry.dagster_event.event_specific_data
                    before.setdefault(f"{e.asset_key.to_user_string()}:{e.check_name}", e.passed)
        with duckdb.connect(str(self.job / "warehouse.duckdb"), read_only=True) as con:
            steps = con.execute(
                "select step from pipeline.step_versions where run_id = ?", [run_id]
            ).fetchall()
        materialized = {
            e.asset_key.to_user_string()
            for e in events
            if "up_to_date" not in e.metadata
            # Reported by every run that looks at them (train reports its runs, reused or not).
            and e.asset_key.to_user_string()
            not in ("raw_files", "champion_model", "ml/model_runs", "ml/feature_importance")
        }
        (fitted,) = [
            e.metadata["fitted"].value
            for e in events
            if e.asset_key.to_user_string() == "ml/model_runs"
        ]
        return {
            "steps": {s for (s,) in steps},
            "assets": materialized,
            # Each dbt test's result: (passed, carried over from an earlier run's evaluation).
            "checks": {
                f"{e.asset_key.to_user_string()}:{e.check_name}": (
                    e.passed,
                    "up_to_date" in e.metadata,
                )
                for e in evaluations
            },
            "checks_before": before,
            "row_counts": {
                e.asset_key.to_user_string(): e.metadata["dagster/row_count"].value
                for e in events
                if "dagster/row_count" in e.metadata
            },
            "fitted": set(fitted),
            "log": result.stderr,
        }

    def unsynced(self) -> set[str]:
        """`python -m python_ml status --json` from the copy: the assets Dagster's UI shows as
        unsynced (code or upstream data versions changed since their last materialization)."""
        return set(json.loads(self.status("--json"))["dagster_unsynced"])

    def status(self, *args: str) -> str:
        """What `python -m python_ml status` prints from the copy."""
        return self.command("status", *args)

    def command(self, *args: str) -> str:
        """What `python -m python_ml <args>` prints from the copy (it must succeed)."""
        result = self.attempt(*args)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def attempt(self, *args: str) -> subprocess.CompletedProcess:
        """`python -m python_ml <args>` from the copy, succeeding or not."""
        env = {
            **os.environ,
            **main_job_env(self.job),
            "PYTHONPATH": str(self.root),
            "DBT_TARGET_PATH": "target",  # the copy's own, as a user's project has
        }
        return subprocess.run(
            [sys.executable, "-m", "python_ml", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
        )

    def dbt_keys(self, *names: str) -> set[str]:
        """The asset keys of these dbt models and every model or seed built from them."""
        manifest = json.loads((self.root / "target" / "manifest.json").read_text())
        ids = {u for u, n in manifest["nodes"].items() if n["name"] in names}
        todo = list(ids)
        while todo:
            for child in manifest["child_map"].get(todo.pop(), []):
                if child.startswith(("model.", "seed.")) and child not in ids:
                    ids.add(child)
                    todo.append(child)
        translator = Translator()
        return {translator.get_asset_key(manifest["nodes"][u]).to_user_string() for u in ids}


@pytest.fixture(scope="module")
def project(main_job_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = copy_project(tmp_path_factory.mktemp("project_copy"))
    job = tmp_path_factory.mktemp("job_copy") / "job"
    shutil.copytree(main_job_dir.parent / f"{main_job_dir.name}_as_run", job)
    copy = Project(root, job)
    # A second run with nothing new: the raw files are at a new path with the content the
    # warehouse loaded, so nothing is loaded, fitted, scored or recorded again. The copy's dbt
    # target folder is new: only its docs site is made.
    before = table_counts(job / "warehouse.duckdb")
    settled = copy.run()
    assert "has the content loaded from" in settled["log"], settled["log"][-3000:]
    assert settled["assets"] == {"dbt_docs"}, settled["log"][-3000:]
    assert settled["steps"] == {"dbt_docs"}
    assert settled["fitted"] == set()
    assert table_counts(job / "warehouse.duckdb") == before  # no run or prediction recorded twice
    with duckdb.connect(str(job / "warehouse.duckdb"), read_only=True) as con:
        logged = con.execute("select file_path from raw.load_log").fetchall()
    assert logged and all(path.startswith(str(job / "raw")) for (path,) in logged)  # followed
    assert copy.unsynced() == set()  # what the UI shows after a run: nothing to materialize
    # Every dbt test keeps the result of its last evaluation (the UI showed them all as
    # skipped), marked as carried over; the models keep their row counts.
    assert len(settled["checks_before"]) > 100
    carried = {key: (passed, True) for key, passed in settled["checks_before"].items()}
    assert settled["checks"] == carried, settled["checks"]
    assert settled["row_counts"]["marts/fct_train_tracks"] > 3000, settled["row_counts"]
    # The steps `run` compares: none would run.
    assert "the next `python -m python_ml run` runs no step" in copy.status()
    # An asset that is up to date keeps what it shows: the champion's run and figures.
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(job / "dagster"))) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("champion_model"))
        shown = event.asset_materialization.metadata
        assert shown["up_to_date"].value is True and event.run_id == instance.get_runs()[0].run_id
        assert shown["champion_run_id"].value and shown["data_origin"].value == "generated"
    return copy


def test_a_changed_model_rebuilds_it_and_its_dependants_only(project: Project) -> None:
    project.edit(
        "models/staging/loader/stg_loader__load_rejects.sql", "select", "/* changed */ select"
    )
    expected = project.dbt_keys("stg_loader__load_rejects")
    # The UI's *unsynced* assets are the ones the run then recomputes: the report too, whose
    # data-quality table reads rpt_source_row_counts (it was left as it was).
    assert "marts/rpt_source_row_counts" in expected
    assert project.unsynced() == expected | {"dbt_docs", "report"}
    said = project.status()
    assert "  dbt build (staging, cleaning, split): inputs changed (dbt project)\n" in said, said
    ran = project.run()
    assert len(expected) >= 2  # the model and what is built from it
    assert ran["assets"] == expected | {"dbt_docs", "report"}, ran["log"][-3000:]
    # The ML inputs' half rebuilt a node (the changed view), so training looked at its
    # experiments' reuse keys: every one reused, nothing fitted.
    assert ran["steps"] == SPLIT_UNCHANGED
    assert ran["fitted"] == set()
    # The prediction marts' half is neither built from the changed view nor changed itself:
    # told from the manifests, without starting dbt.
    skipped = "dbt rebuilt the changed nodes and their dependants: none in this half"
    assert ran["log"].count(skipped) == 1 and "dbt not started" in ran["log"], ran["log"][-3000:]
    assert ran["log"].count("==> dbt build (staging, cleaning, split)\n") == 1
    assert "==> dbt build of the prediction marts\n" not in ran["log"]


def test_a_changed_macro_rebuilds_the_models_using_it_only(project: Project) -> None:
    project.edit("macros/prediction_rates.sql", "as accuracy", "as accuracy -- changed")
    expected = project.dbt_keys("rpt_hit_rate_by_artist", "rpt_hit_rate_by_release_year")
    assert project.unsynced() == expected | {"dbt_docs", "report"}
    # status counts what run does: the ML inputs' half (and the steps after it) not, since
    # no node of it, nor one it is built from, changed (it said 7 steps, run ran 4)
    said = project.status().split("Dagster:")[0]
    assert "  dbt build of the prediction marts: inputs changed (dbt project)\n" in said, said
    assert "dbt build (staging, cleaning, split)" not in said, said
    assert "train the tracks models" not in said and "2023 songs study" not in said, said
    ran = project.run()
    assert ran["assets"] == expected | {"dbt_docs", "report"}, ran["log"][-3000:]
    assert ran["steps"] == {"dbt_ml_inputs", "dbt_prediction_marts", "dbt_docs", "report"}
    assert ran["fitted"] == set()
    # The macro is used by the prediction marts only: the ML inputs' half did not start dbt.
    assert "dbt not started" in ran["log"]
    assert "==> dbt build (staging, cleaning, split)\n" not in ran["log"]
    assert ran["log"].count("==> dbt build of the prediction marts\n") == 1


def test_a_changed_chart_reruns_the_report_only(project: Project) -> None:
    project.edit(
        "python_ml/reports/charts.py",
        '"""',
        '"""A changed line.\n\n',
    )
    assert project.unsynced() == {"report"}
    ran = project.run()
    assert ran["assets"] == {"report"}, ran["log"][-3000:]
    assert ran["steps"] == {"report"}
    assert ran["fitted"] == set()
    assert project.unsynced() == set()


def test_a_missing_songs_results_file_is_written_again_by_the_report(project: Project) -> None:
    """The report page links the 2023 songs study's results file: a run on a new reports
    folder (or after the file was deleted) left that link leading nowhere, and then ran the
    whole study again (80 s at 1x) to write it. The report writes it from the study's runs in
    the warehouse: the same table, and no study."""
    from python_ml.songs import RESULTS_FILE

    results = project.job / "reports" / RESULTS_FILE
    before = results.read_text(encoding="utf-8")
    results.unlink()
    pending = project.status().split("Dagster:")[0]
    assert "charts: inputs changed (files the page shows, missing)" in pending, pending
    assert "2023 songs" not in pending, pending
    ran = project.run()
    assert ran["steps"] == {"report"}, ran["log"][-3000:]
    assert ran["fitted"] == set()
    assert results.read_text(encoding="utf-8") == before
    assert f'<a href="{RESULTS_FILE}">' in (project.job / "reports" / "index.html").read_text()


def test_a_deleted_chart_is_drawn_again_by_the_report_only(project: Project) -> None:
    """A chart the page shows, deleted by hand: the report was "up to date" and the page
    showed a broken image until the marts changed."""
    chart = project.job / "reports" / "confusion_matrix.png"
    chart.unlink()
    pending = project.status().split("Dagster:")[0]
    assert "charts: inputs changed (files the page shows, missing)" in pending, pending
    ran = project.run()
    assert ran["steps"] == {"report"}, ran["log"][-3000:]
    assert ran["fitted"] == set()
    assert chart.is_file()


def test_a_mart_dropped_by_hand_is_built_again(project: Project) -> None:
    """A prediction mart dropped by hand: its half was "up to date" (the inputs it compared,
    a count of the predictions mart, were the same) and the table stayed missing under the
    report and the app. The half builds again, and what reads it follows."""
    with duckdb.connect(str(project.job / "warehouse.duckdb")) as con:
        con.execute("drop table marts.rpt_class_metrics")
    said = project.status()  # it said the next run runs no step
    pending, dagster = said.split("Dagster:")
    assert "dbt build of the prediction marts: inputs changed (tables missing)" in pending
    # Dagster's versions do not see a dropped table: the line says so, not a contradiction.
    assert "`run` compares more: the steps above" in dagster, said
    ran = project.run()
    assert "inputs changed (tables missing)" in ran["log"], ran["log"][-3000:]
    assert ran["steps"] == {"dbt_prediction_marts", "report", "dbt_docs"}, ran["log"][-3000:]
    assert "marts/rpt_class_metrics" in ran["assets"]
    assert ran["fitted"] == set()
    with duckdb.connect(str(project.job / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.rpt_class_metrics").fetchone()[0] > 0


def test_new_raw_tracks_rerun_everything_downstream_of_them_only(project: Project) -> None:
    tracks = project.job / "raw" / "spotify_600k" / "tracks.csv"
    lines = tracks.read_text(encoding="utf-8").splitlines(keepends=True)
    new = [f"new{i:019d}{line[22:]}" for i, line in enumerate(lines[-300:])]
    assert all(line[22] == "," for line in lines[-300:])  # the id is the first 22 characters
    tracks.write_text("".join(lines + new), encoding="utf-8")
    ran = project.run()
    assert ran["steps"] == {
        "dbt_ml_inputs",
        "train",
        "score",
        "dbt_prediction_marts",
        "report",
        "dbt_docs",
    }  # not the 2023 songs study, which reads another file
    assert len(ran["fitted"]) == 5  # every experiment: its train table changed
    assert "spotify_600k/tracks" in ran["assets"]
    assert "spotify_2023/songs" not in ran["assets"]
    assert "ml/song_predictions" not in ran["assets"]
    assert "marts/fct_track_predictions" in ran["assets"]


def test_a_step_run_on_its_own_is_not_done_again_by_run(project: Project) -> None:
    """Only `run` recorded what each step ran on: `python -m python_ml charts` (or `marts`,
    `docs`, ...) and then `run` did the step twice ('inputs changed')."""
    project.edit(
        "python_ml/reports/charts.py",
        '"""A changed line.',
        '"""A changed line, changed again.',
    )
    assert "charts: inputs changed" in project.status().split("Dagster:")[0]
    project.command("charts")
    assert "charts" not in project.status().split("Dagster:")[0]
    ran = project.run()
    assert ran["steps"] == set(), ran["log"][-3000:]
    assert (
        "charts into" in ran["log"]
        and "same inputs as `python -m python_ml charts`" in (ran["log"])
    )


def test_scoring_refuses_feature_models_edited_since_the_build(project: Project) -> None:
    """The champion learnt the features as the build derived them; predict (and the service,
    the app) compile the models as the files are now. A feature model or macro edited without
    a build used to score with the old champion, exit 0. What dbt would not rebuild (another
    model, a comment outside a macro) does not matter."""
    lines = (project.job / "raw" / "spotify_600k" / "tracks.csv").read_text().splitlines()
    new_tracks = project.job / "new_tracks.csv"
    new_tracks.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    output = project.job / "new_tracks.predictions.csv"

    def predict() -> subprocess.CompletedProcess:
        return project.attempt(
            "predict", "--input", str(new_tracks), "--output", str(output), "--overwrite"
        )

    project.edit(
        "models/marts/predictions/rpt_class_distribution.sql", "select", "/* changed */ select"
    )
    project.edit("macros/track_feature_ranges.sql", "{#- The audio", "{#- (changed) The audio")
    scored = predict()
    assert scored.returncode == 0, scored.stderr[-3000:]
    # Checked (the manifest of the split's build is kept), after the runs of the tests above
    # rebuilt other models of the ML inputs' half.
    assert "not checked" not in scored.stderr, scored.stderr[-3000:]
    project.edit(
        "macros/track_feature_ranges.sql",
        "{%- for column, allowed in track_feature_ranges() -%}",
        "{#- changed -#}{%- for column, allowed in track_feature_ranges() -%}",
    )
    refused = predict()
    assert refused.returncode != 0
    said = refused.stderr.strip().splitlines()[-1]
    assert "The models that derive the features changed since the warehouse's train split" in (
        said
    ), refused.stderr[-3000:]
    assert "macros/track_feature_ranges.sql (macro track_features)" in said
    assert "python -m python_ml run" in said and "Traceback" not in refused.stderr
    # A run builds the split from the edited macro (the same features: no experiment fits).
    ran = project.run()
    assert "dbt_ml_inputs" in ran["steps"] and ran["fitted"] == set(), ran["log"][-3000:]
    scored = predict()
    assert scored.returncode == 0, scored.stderr[-3000:]
    state = project.job / "dbt_state" / "warehouse" / "train_build" / "manifest.json"
    with duckdb.connect(str(project.job / "warehouse.duckdb"), read_only=True) as con:
        (invocation,) = con.execute("select invocation_id from audit.train_tracks_build").fetchone()
    assert invocation == json.loads(state.read_text())["metadata"]["invocation_id"]


def test_run_with_dbt_vars_builds_with_them_and_the_next_run_without(project: Project) -> None:
    """`run --vars` gives every dbt command of the run (and the loader) dbt's --vars, as `build
    --vars` does. The dbt steps record them among their inputs: the next plain `run` builds
    again with dbt_project.yml's. A var the project does not declare is refused before
    anything runs (dbt would ignore it and build with the default)."""
    mart = "marts.rpt_hit_rate_by_artist"

    def artists() -> list[int]:
        with duckdb.connect(str(project.job / "warehouse.duckdb"), read_only=True) as con:
            return [n for (n,) in con.execute(f"select scored_tracks from {mart}").fetchall()]

    default = artists()
    assert all(n >= 20 for n in default)  # dbt_project.yml's min_artist_tracks
    before = table_counts(project.job / "warehouse.duckdb")
    refused = project.attempt("run", "--offline", "--vars", "{min_artist_track: 2}")
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "did you mean 'min_artist_tracks'?" in refused.stderr
    assert table_counts(project.job / "warehouse.duckdb") == before
    ran = project.run("--vars", "{min_artist_tracks: 2}")
    # The two dbt halves and the docs are built whole with the var; training looks at its
    # experiments (the ML inputs were rebuilt) and fits none; the split is the same, so
    # nothing is scored again.
    assert ran["steps"] == SPLIT_UNCHANGED, ran["log"][-3000:]
    assert "inputs changed (dbt vars)" in ran["log"] and ran["fitted"] == set()
    built = artists()
    assert len(built) > len(default) and min(built) >= 2
    assert min(built) < 20, built  # artists the default leaves out
    said = project.status()
    assert "  dbt build (staging, cleaning, split): inputs changed (dbt vars)\n" in said, said
    assert "  dbt build of the prediction marts: inputs changed (dbt vars)\n" in said, said


def test_a_forced_run_fits_every_experiment_and_the_next_run_is_up_to_date(
    project: Project,
) -> None:
    """`run --force` forces through the `paths` resource alone, as the launchpad's way to
    recompute everything does: that way training reused every run (it read only its own op's
    force), and after a forced training the next `run` trained again ("inputs changed")."""
    config = yaml.safe_load((project.root / "python_ml/configs/tracks.yml").read_text())
    every = {f"{e['model']}/{e['feature_set']}" for e in config["experiments"]}
    forced = project.run("--force")
    assert forced["fitted"] == every, forced["log"][-3000:]
    assert "train" in forced["steps"], forced["steps"]
    again = project.run()
    assert again["steps"] == set(), again["log"][-3000:]
    assert again["fitted"] == set()
    assert "the next `python -m python_ml run` runs no step" in project.status()
