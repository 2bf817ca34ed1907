"""The main job's definitions: ``dagster dev -m python_ml.orchestration.definitions`` (``make
dagster``) and ``python -m python_ml run`` (``runner.materialize``) load them.

    raw_files -> raw.* (dbt sources) -> dbt: staging .. split -> champion_model, ml.model_runs
    -> ml.track_predictions, ml.song_predictions (dbt sources) -> dbt: prediction marts
    -> report (charts), dbt_docs

Loading is lazy (``@dg.definitions``): importing this module reads no manifest and runs no dbt.
"""

from __future__ import annotations

import warnings

import dagster as dg

from python_ml.orchestration import automation, resources
from python_ml.orchestration.assets import dbt, raw, reports, songs, tracks
from python_ml.orchestration.translator import ManifestKeys, Translator
from python_ml.settings import load_settings

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def build_definitions() -> dg.Definitions:
    """The asset graph over the dbt project's manifest (parsed first when stale)."""
    project = resources.dbt_project()
    from python_ml.orchestration.versions import DBT_CONFIG_FILES, dbt_files_hash

    translator = Translator()
    translator.manifest = resources.prepared_manifest(project, load_settings())
    translator.configuration = dbt_files_hash(*DBT_CONFIG_FILES)
    keys = ManifestKeys(translator.manifest, translator)
    ml_inputs, prediction_marts = dbt.dbt_asset_groups(project, translator)
    return dg.Definitions(
        assets=[
            raw.raw_files,
            raw.raw_table_assets(keys),
            ml_inputs,
            *tracks.tracks_assets(keys),
            *songs.songs_assets(keys),
            prediction_marts,
            *reports.report_assets(keys, list(prediction_marts.keys)),
        ],
        jobs=[automation.main_job],
        # Every run's steps one after another in its process, as `run` executes them: one
        # DuckDB file, which one process at a time may write (with Dagster's default executor,
        # one process per step, the UI's *Materialize all* started train and songs together,
        # and train failed on the warehouse's lock).
        executor=dg.in_process_executor,
        schedules=[automation.daily],
        sensors=[automation.new_raw_files],
        resources={
            "dbt": resources.dbt_resource(project),
            "paths": resources.ProjectSettings(),
            "warehouse": resources.Warehouse(),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
