"""dbt's manifest for the asset graph, parsed again (``dbt parse``) only when stale. Light to
import (no Dagster, no dbt in this process), so ``run`` can start the parse, a process of its
own, while it imports Dagster: on a first run the two took about 6 and 3 s one after the other
on one core while the other was idle."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from python_ml.errors import UserError
from python_ml.settings import Settings

# What the manifest is parsed from: a newer file means a stale manifest.
MANIFEST_INPUTS = ("models", "macros", "seeds", "tests", "analyses", "dbt_project.yml")


def _newest_input(root: Path) -> float:
    from python_ml.orchestration.versions import DBT_FILE_SUFFIXES

    newest = 0.0
    for name in MANIFEST_INPUTS:
        path = root / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        for file in files:
            if file.name.endswith(DBT_FILE_SUFFIXES):  # not the pytest files under tests/
                newest = max(newest, file.stat().st_mtime)
    return newest


def ensure_manifest(
    settings: Settings, project_dir: Path | None = None, manifest: Path | None = None
) -> Path:
    """The manifest (default: the project's, in its dbt target folder), parsed again only when
    a project file is newer (any dbt command from the project root also refreshes it), or when
    the project's files are not those of python_ml's last parse into this target folder
    (``dagster/manifest_files``): a target folder copied from another clone, or shared with
    one, held a manifest newer than every file but of other files, so `run` found "none in this
    half" changed, recorded the build as done, and scoring then refused the split as built by
    other SQL."""
    from python_ml.orchestration.versions import DBT_PROJECT_FILES, dbt_files_hash
    from python_ml.warehouse.dbt import run_dbt

    project_dir = project_dir or settings.project_root
    manifest = manifest or settings.target_dir / "manifest.json"
    parsed_from = manifest.parent / "dagster" / "manifest_files"
    files = dbt_files_hash(*DBT_PROJECT_FILES, root=project_dir)
    try:
        same_files = parsed_from.read_text(encoding="utf-8") == files
    except OSError:
        same_files = False
    if (
        not same_files
        or not manifest.exists()
        or manifest.stat().st_mtime < _newest_input(project_dir)
    ):
        run_dbt(settings, "parse", "--quiet", "--target-path", str(manifest.parent))
        parsed_from.parent.mkdir(parents=True, exist_ok=True)
        parsed_from.write_text(files, encoding="utf-8")
    return manifest


class ManifestError(UserError, RuntimeError):
    """dbt's manifest could not be read; the message names the file and what to do."""


def read_manifest(path: Path, wait_seconds: float = 20.0) -> dict[str, Any]:
    """The manifest at ``path``, read whole: another dbt command of the same project (a plain
    `dbt build`, `make docs-serve`'s `dbt docs generate`) rewrites ``target/manifest.json`` in
    place, and a read in the meantime got half a file (Dagster's code location then failed with
    a JSONDecodeError until reloaded). A file that does not parse is read again until it does,
    for up to ``wait_seconds``; then an error names it and what to do."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # JSONDecodeError, or a half-written UTF-8 sequence
            if time.monotonic() >= deadline:
                raise ManifestError(
                    f"{path} is not whole JSON after {wait_seconds:.0f} s (a dbt command "
                    "writing it was stopped?): run `dbt parse` from the project folder, then "
                    "reload (Dagster: Reload definitions)."
                ) from None
            time.sleep(0.25)
