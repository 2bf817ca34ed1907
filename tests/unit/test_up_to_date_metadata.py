"""An asset that is up to date keeps its last materialization's figures, but not where they
were: in a copied or moved data folder (or with the MLflow UI on another port) the champion's
model folder and MLflow link name today's folder and UI, not the earlier run's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest

from python_ml.orchestration.assets import still_true
from python_ml.settings import load_settings

RUN = "a3dd9b3643dc48d69fff7c2c27ec5ec8"
MODEL = "artifacts/models/m-f0bdb/artifacts"


def _earlier_materialization(instance: dg.DagsterInstance, old: Path) -> None:
    """What the champion_model asset recorded in the folder the data was copied from, with
    the MLflow UI at the default port."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="champion_model",
            metadata={
                "champion_run_id": RUN,
                "mlflow_run": dg.MetadataValue.url(
                    f"http://127.0.0.1:5000/#/experiments/2/runs/{RUN}"
                    "?workflowType=machine_learning"
                ),
                "model_path": dg.MetadataValue.path(str(old / "mlflow" / MODEL)),
                "validation_macro_f1": 0.6377,
                "promoted_by_this_run": True,
            },
        )
    )


def _warehouse(path: Path, model_path: str | None) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema ml")
        con.execute("create table ml.model_runs (run_id varchar, model_path varchar)")
        con.execute("insert into ml.model_runs values (?, ?)", [RUN, model_path])


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MUSIC_MLFLOW_UI", "http://127.0.0.1:5611")
    new = tmp_path / "copy"
    new.mkdir()
    settings = replace(
        load_settings(), warehouse=new / "warehouse.duckdb", mlflow_dir=new / "mlflow"
    )
    instance = dg.DagsterInstance.ephemeral()
    _earlier_materialization(instance, tmp_path / "original")
    context = SimpleNamespace(instance=instance, asset_key=dg.AssetKey("champion_model"))
    return settings, context


def test_the_links_name_todays_folder_and_mlflow_ui(copied) -> None:
    settings, context = copied
    _warehouse(settings.warehouse, MODEL)
    kept = still_true(context, "champion_model", settings)
    assert kept["model_path"].value == str(settings.mlflow_dir / MODEL)
    assert kept["mlflow_run"].value == (
        f"http://127.0.0.1:5611/#/experiments/2/runs/{RUN}?workflowType=machine_learning"
    )
    assert kept["validation_macro_f1"].value == pytest.approx(0.6377)  # the figures stay
    assert kept["up_to_date"] is True


def test_a_model_folder_the_warehouse_does_not_record_is_not_named(copied) -> None:
    settings, context = copied
    _warehouse(settings.warehouse, None)
    kept = still_true(context, "champion_model", settings)
    assert "model_path" not in kept
    assert kept["champion_run_id"].value == RUN


def test_what_the_earlier_run_did_is_not_said_of_this_one(copied) -> None:
    """A run that skipped training promoted no champion: the UI showed the earlier run's
    `promoted_by_this_run: true` on its materialization."""
    settings, context = copied
    _warehouse(settings.warehouse, MODEL)
    kept = still_true(context, "champion_model", settings)
    assert kept["promoted_by_this_run"] is False
    assert kept["champion_run_id"].value == RUN  # what the asset is stays


def test_the_docs_link_names_todays_docs_ui(tmp_path: Path, monkeypatch) -> None:
    """The dbt docs asset's link to the served site follows the docs UI's address (`make
    docs-serve DOCS_PORT=8111`), as the MLflow link follows MLflow's."""
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="dbt_docs",
            metadata={
                "site": dg.MetadataValue.path(str(tmp_path / "target" / "index.html")),
                "docs_ui": dg.MetadataValue.url("http://127.0.0.1:8080"),
            },
        )
    )
    monkeypatch.setenv("MUSIC_DOCS_UI", "http://127.0.0.1:8111/")
    context = SimpleNamespace(instance=instance, asset_key=dg.AssetKey("dbt_docs"))
    kept = still_true(context, settings=load_settings())
    assert kept["docs_ui"].value == "http://127.0.0.1:8111"
    assert kept["site"].value == str(tmp_path / "target" / "index.html")
    assert kept["up_to_date"] is True
