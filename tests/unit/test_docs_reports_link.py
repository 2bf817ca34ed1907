"""The dbt docs' exposures link `reports/model_card.html` and `reports/index.html` from the
docs site: `<target>/reports` is the live reports folder (a 404 from `make docs-serve`, and a
dead link from static_index.html opened as a file, before)."""

from pathlib import Path

import pytest

from python_ml.settings import Settings
from python_ml.warehouse.dbt import link_reports


def _settings(root: Path, reports: Path) -> Settings:
    return Settings(root, root / "raw", root / "w.duckdb", root / "mlflow", reports)


def test_the_docs_site_links_the_reports_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    (tmp_path / "target").mkdir()
    reports = tmp_path / "elsewhere" / "reports"
    reports.mkdir(parents=True)
    (reports / "model_card.html").write_text("card")
    settings = _settings(tmp_path, reports)
    link_reports(settings)
    link_reports(settings)  # again: the same link
    assert (tmp_path / "target" / "reports" / "model_card.html").read_text() == "card"
    # The reports folder moved (MUSIC_REPORTS_DIR): the link follows it.
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "model_card.html").write_text("moved card")
    link_reports(_settings(tmp_path, moved))
    assert (tmp_path / "target" / "reports" / "model_card.html").read_text() == "moved card"


def test_a_folder_of_that_name_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    own = tmp_path / "target" / "reports"
    own.mkdir(parents=True)
    (own / "mine.txt").write_text("kept")
    link_reports(_settings(tmp_path, tmp_path / "reports"))
    assert not own.is_symlink() and (own / "mine.txt").read_text() == "kept"
