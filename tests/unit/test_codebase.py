"""A step's code version is the code its module runs: an edit to predict's or the service's
modules leaves training and scoring up to date (it refitted every experiment); an edit to the
models' code still makes them stale."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from python_ml.codebase import MODEL_CODE as MODELS
from python_ml.codebase import PACKAGE, module_files
from python_ml.orchestration import versions


def _names(files: list[Path]) -> set[str]:
    return {p.relative_to(PACKAGE).as_posix() for p in files}


def test_training_and_scoring_code_is_what_their_modules_run() -> None:
    train = _names(module_files("python_ml.tracks.train", MODELS))
    score = _names(module_files("python_ml.tracks.score", MODELS))
    for needed in ("tracks/train.py", "tracks/evaluate.py", "tracks/kinds/base.py"):
        assert needed in train
    assert {"tracks/score.py", "tracks/batch.py", "tracks/models.py"} <= score
    for not_run in ("tracks/predict.py", "tracks/scorer.py", "tracks/feature_path.py"):
        assert not_run not in train and not_run not in score
    assert all(name.split("/")[0] in MODELS for name in train | score)
    # Without ``within``: every module it runs, the package's __init__ and the warehouse too.
    everything = _names(module_files("python_ml.tracks.train"))
    assert {"__init__.py", "tracks/__init__.py", "warehouse/db.py"} <= everything


def copy_of_the_package(tmp_path: Path) -> tuple[Path, Callable[[str], None]]:
    """A project root holding a copy of the package, and a function that edits one of its
    files (a comment added: the code versions must change, the code does not)."""
    root = tmp_path / "project"
    shutil.copytree(PACKAGE, root / "python_ml", ignore=shutil.ignore_patterns("__pycache__"))

    def edit(relpath: str) -> None:
        path = root / "python_ml" / relpath
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")

    return root, edit


def changes_each(step: str, root: Path, edit: Callable[[str], None], *relpaths: str) -> None:
    """Each edit, one after the other, gives the step's code version a new value."""
    seen = {versions.code_version(step, root)}
    for relpath in relpaths:
        edit(relpath)
        version = versions.code_version(step, root)
        assert version not in seen, relpath
        seen.add(version)


def test_an_edit_to_predicts_code_leaves_train_and_score_up_to_date(tmp_path: Path) -> None:
    root, edit = copy_of_the_package(tmp_path)
    (root / "python_ml" / "configs").mkdir(exist_ok=True)
    before = {step: versions.code_version(step, root) for step in ("train", "score")}
    for relpath in ("tracks/predict.py", "tracks/scorer.py", "tracks/feature_path.py"):
        edit(relpath)
    assert {step: versions.code_version(step, root) for step in before} == before

    edit("tracks/evaluate.py")  # both run it
    after = {step: versions.code_version(step, root) for step in before}
    assert after["train"] != before["train"] and after["score"] != before["score"]

    edit("tracks/train.py")  # scoring does not run training's module
    assert versions.code_version("score", root) == after["score"]
    assert versions.code_version("train", root) != after["train"]


def test_the_songs_study_is_stale_after_an_edit_to_the_tracks_code_it_runs(
    tmp_path: Path,
) -> None:
    """The study checks its config with tracks/config.py and tracks/kinds/params.py; its code
    version hashed python_ml/songs and python_ml/tracking only, so an edit there left its
    figures current."""
    root, edit = copy_of_the_package(tmp_path)
    before = versions.code_version("songs", root)
    edit("tracks/predict.py")  # the service's and predict's code: not the study's
    edit("reports/charts.py")
    assert versions.code_version("songs", root) == before
    # The code it runs, and its config as a file.
    changes_each(
        "songs", root, edit, "tracks/kinds/params.py", "songs/study.py", "configs/songs_2023.yml"
    )


def test_the_report_is_stale_after_an_edit_to_the_code_that_words_its_figures(
    tmp_path: Path,
) -> None:
    """The report words the reasons and marks generated features with tracks/feature_origin.py
    and raw/origin.py; only python_ml/reports (with the app's code) was hashed."""
    root, edit = copy_of_the_package(tmp_path)
    before = versions.code_version("report", root)
    edit("reports/app_data.py")  # the app's, not the report's
    edit("tracks/scorer.py")  # the service's
    assert versions.code_version("report", root) == before
    changes_each(
        "report",
        root,
        edit,
        "tracks/feature_origin.py",
        "raw/origin.py",
        "songs/__init__.py",
        "reports/charts.py",
    )


def test_an_edit_to_a_config_changes_the_config_input_not_the_code(tmp_path: Path) -> None:
    """The default config was hashed into the step's "code" input as well as its "config":
    after an edit of tracks.yml alone `status` said "inputs changed (code, config)". It stays
    in the Dagster code version (the UI shows the asset unsynced)."""
    root, edit = copy_of_the_package(tmp_path)
    for step, config in (("train", "configs/tracks.yml"), ("songs", "configs/songs_2023.yml")):
        code, dagster = versions.stage_code(step, root), versions.code_version(step, root)
        edit(config)
        assert versions.stage_code(step, root) == code, step
        assert versions.code_version(step, root) != dagster, step
        edit("tracks/kinds/params.py")  # both run it
        assert versions.stage_code(step, root) != code, step
