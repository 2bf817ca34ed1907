"""The dbt exposures name what their code reads (models/exposures.yml and the lists of
python_ml/warehouse/catalog.py), so the docs' lineage shows every table a change reaches.
The report (the charts' and the model card's "a random 10% of the same data") and the app's
overview count the split's two sides (catalog.SPLIT_COUNTS_SQL) but left marts.fct_predict_tracks
out; the service's page names the seed's classes, and training reads them, without
reference.popularity_classes among their exposures' upstream. (tests/python/test_pipeline.py
checks the report's Dagster asset too, after the main job.)"""

import re
from pathlib import Path

import yaml

from python_ml.warehouse import catalog

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A table of a schema that is a dbt source, as the exposures name it.
SOURCES = {"ml.": "ml.", "raw.load_log": "loader.load_log"}


def _exposure(name: str) -> set[str]:
    exposures = yaml.safe_load((PROJECT_ROOT / "models" / "exposures.yml").read_text())
    (found,) = [e for e in exposures["exposures"] if e["name"] == name]
    names = set()
    for dep in found["depends_on"]:
        ref = re.fullmatch(r"ref\('(\w+)'\)", dep)
        source = re.fullmatch(r"source\('(\w+)', '(\w+)'\)", dep)
        assert ref or source, dep
        names.add(ref.group(1) if ref else f"{source.group(1)}.{source.group(2)}")
    return names


def _nodes(tables: tuple[str, ...]) -> set[str]:
    return {
        next((to + t.removeprefix(k) for k, to in SOURCES.items() if t.startswith(k)), None)
        or t.split(".")[1]
        for t in tables
    }


def test_each_exposure_depends_on_exactly_its_reads() -> None:
    for exposure, tables in (
        ("popularity_charts", catalog.REPORT_READS),
        ("popularity_app", catalog.APP_READS),
        ("scoring_service", catalog.SCORING_READS),
    ):
        assert _exposure(exposure) == _nodes(tables), exposure


def test_the_split_counted_is_read_by_the_report_and_the_app() -> None:
    counted = set(re.findall(r"from (\w+\.\w+)", catalog.SPLIT_COUNTS_SQL))
    assert counted == {catalog.TRAIN_TRACKS, catalog.PREDICT_TRACKS}
    assert counted <= set(catalog.REPORT_READS)
    assert counted <= set(catalog.APP_READS)


def test_the_classes_are_read_by_the_service_and_training() -> None:
    assert catalog.POPULARITY_CLASSES in catalog.SCORING_READS
    assert _nodes(
        (
            catalog.POPULARITY_CLASSES,
            catalog.TRAIN_TRACKS,
            catalog.PREDICT_TRACKS,
            catalog.PREDICT_TRACK_CLASSES,
        )
    ) <= _exposure("track_popularity_model")
