"""Every dbt source says what loads it (`loader`, the docs' source page and `dbt ls`): none did,
though python_ml's loader fills schema `raw` and python_ml's steps write schema `ml`."""

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_source_names_its_loader() -> None:
    found = {}
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("sources") or []:
            found[source["name"]] = str(source.get("loader") or "")
    assert set(found) == {"spotify_600k", "spotify_2023", "loader", "ml"}
    assert all(loader.startswith("python_ml") for loader in found.values()), found
