"""The tracks model: training (the champion and ml.model_runs) and scoring
(ml.track_predictions), each a dbt source the prediction marts read."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from python_ml.orchestration import versions
from python_ml.orchestration.assets import mlflow_link, still_true
from python_ml.orchestration.resources import ProjectSettings, Warehouse
from python_ml.orchestration.translator import ManifestKeys
from python_ml.warehouse import catalog


class TrainRunConfig(dg.Config):
    """The options of `python -m python_ml train`."""

    config: str | None = None  # tracks config YAML (default: python_ml/configs/tracks.yml)
    only: list[str] | None = None  # only these experiments (model or model/feature_set)
    force: bool = False  # fit again even when a finished run has the same inputs


def tracks_assets(keys: ManifestKeys) -> list[dg.AssetsDefinition]:
    inputs = [keys.model(catalog.TRAIN_TRACKS), keys.model(catalog.POPULARITY_CLASSES)]

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                "champion_model",
                deps=inputs,
                description="The champion: the registered MLflow model (alias "
                "`champion_<fingerprint>` of its data) with its decision rule, chosen on the "
                "validation fold.",
                kinds={"mlflow"},
                code_version=versions.code_version("train"),
            ),
            dg.AssetSpec(
                keys.source(catalog.MODEL_RUNS),
                description=keys.source_description(catalog.MODEL_RUNS),
                deps=inputs,
                kinds={"duckdb"},
                code_version=versions.code_version("train"),
            ),
            dg.AssetSpec(
                keys.source(catalog.FEATURE_IMPORTANCE),
                description=keys.source_description(catalog.FEATURE_IMPORTANCE),
                deps=inputs,
                kinds={"duckdb"},
                code_version=versions.code_version("train"),
            ),
        ],
        group_name="ml",
        name="train",
    )
    def train(
        context: dg.AssetExecutionContext,
        config: TrainRunConfig,
        paths: ProjectSettings,
        warehouse: Warehouse,
    ) -> Iterator[dg.MaterializeResult]:
        """`python -m python_ml train`: every experiment of the tracks config, then the
        champion."""
        settings = paths.get()
        config_path = Path(config.config) if config.config else None
        # The launchpad's `paths` force (the UI's way to recompute everything) fits every
        # experiment again too, not only `run --force`, which sets both.
        force = paths.force or config.force
        # Every experiment (forced or not): its inputs are recorded, so the next run finds
        # training up to date; --only trains a part.
        whole = not config.only
        title = versions.TITLES["train"]
        inputs = versions.train_inputs(settings, config_path) if whole else {}
        if whole and not force and versions.up_to_date(settings, "train", title, inputs):
            yield dg.MaterializeResult(
                asset_key="champion_model",
                metadata=still_true(context, "champion_model", settings),
            )
            yield dg.MaterializeResult(
                asset_key=keys.source(catalog.MODEL_RUNS),
                metadata={"up_to_date": True, "fitted": [], "reused": []},
            )
            importance = keys.source(catalog.FEATURE_IMPORTANCE)
            yield dg.MaterializeResult(
                asset_key=importance, metadata=still_true(context, importance)
            )
            return
        from python_ml.tracks.train import train_step  # the model libraries: when it runs

        summary = train_step(settings, config_path, config.only, force)
        if whole:
            after = versions.train_inputs(settings, config_path)
            versions.record(settings, "train", after, context.run.run_id, True, inputs)
        version = summary.champion_version
        from mlflow import MlflowClient

        tags = MlflowClient().get_run(version.run_id).data.tags
        metadata: dict[str, Any] = {
            "champion_run_id": version.run_id,
            "model_type": tags.get("model_type", ""),
            # What it learnt from: Kaggle's files or the built-in generated data.
            "data_origin": tags.get("data_origin", "unknown"),
            "champion_version": int(version.version),
            "mlflow_run": mlflow_link(version.run_id, summary.experiment_id),
            "model_path": dg.MetadataValue.path(str(summary.champion_path)),
            "promoted_by_this_run": summary.promoted,
        }
        if summary.champion is not None:
            val = summary.champion.metrics["validation"]
            metadata.update(
                {
                    "champion": summary.champion.experiment.label,
                    "validation_accuracy": round(val["accuracy"], 4),
                    "validation_macro_f1": round(val["macro_f1"], 4),
                    "validation_log_loss": round(val["log_loss"], 4),
                    "validation_ece": round(val["ece"], 4),
                }
            )
        yield dg.MaterializeResult(asset_key="champion_model", metadata=metadata)
        counts = warehouse.row_counts(settings, [catalog.MODEL_RUNS, catalog.FEATURE_IMPORTANCE])
        yield dg.MaterializeResult(
            asset_key=keys.source(catalog.MODEL_RUNS),
            metadata={
                "fitted": [r.experiment.label for r in summary.results if not r.reused],
                "reused": [r.experiment.label for r in summary.results if r.reused],
                "dagster/row_count": counts.get(catalog.MODEL_RUNS, 0),
            },
        )
        yield dg.MaterializeResult(
            asset_key=keys.source(catalog.FEATURE_IMPORTANCE),
            metadata={"dagster/row_count": counts.get(catalog.FEATURE_IMPORTANCE, 0)},
        )

    predict_inputs = [
        keys.model(t) for t in (catalog.PREDICT_TRACKS, catalog.PREDICT_TRACK_CLASSES)
    ]

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                keys.source(catalog.TRACK_PREDICTIONS),
                description=keys.source_description(catalog.TRACK_PREDICTIONS),
                deps=["champion_model", *predict_inputs],
                kinds={"duckdb"},
                code_version=versions.code_version("score"),
            ),
            dg.AssetSpec(
                keys.source(catalog.TRACK_EXPLANATIONS),
                description=keys.source_description(catalog.TRACK_EXPLANATIONS),
                deps=["champion_model", *predict_inputs],
                kinds={"duckdb"},
                code_version=versions.code_version("score"),
            ),
        ],
        group_name="ml",
        name="score",
    )
    def score(
        context: dg.AssetExecutionContext, paths: ProjectSettings, warehouse: Warehouse
    ) -> Iterator[dg.MaterializeResult]:
        """`python -m python_ml score`: the champion scores the predict split (one
        transaction: the predictions and each feature's contribution), then its holdout
        figures are computed."""
        settings = paths.get()
        title = versions.TITLES["score"]
        started = versions.score_inputs(settings)
        if not paths.force and versions.up_to_date(settings, "score", title, started):
            for table in (catalog.TRACK_PREDICTIONS, catalog.TRACK_EXPLANATIONS):
                key = keys.source(table)
                yield dg.MaterializeResult(
                    asset_key=key, metadata=still_true(context, key, settings)
                )
            return
        # MLflow and the model libraries: imported only when it runs.
        from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow
        from python_ml.tracks.score import score_step

        scored = score_step(settings)
        after = versions.score_inputs(settings)
        versions.record(settings, "score", after, context.run.run_id, True, started)
        holdout = scored["holdout"]
        experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
        from python_ml.raw.origin import TRACKS_TABLES, warehouse_origin

        yield dg.MaterializeResult(
            asset_key=keys.source(catalog.TRACK_PREDICTIONS),
            metadata={
                "dagster/row_count": scored["rows"],
                # What the figures come from: Kaggle's files or the built-in generated data.
                "data_origin": warehouse_origin(settings, TRACKS_TABLES),
                "champion_run_id": scored["run_id"],
                "mlflow_run": mlflow_link(scored["run_id"], experiment_id),
                "rows_per_second": round(scored["rows"] / max(scored["seconds"], 1e-9)),
                "holdout_accuracy": round(holdout["accuracy"], 4),
                "holdout_macro_f1": round(holdout["macro_f1"], 4),
                "holdout_log_loss": round(holdout["log_loss"], 4),
                "holdout_ece": round(holdout["ece"], 4),
            },
        )
        explained = warehouse.row_counts(settings, [catalog.TRACK_EXPLANATIONS])
        yield dg.MaterializeResult(
            asset_key=keys.source(catalog.TRACK_EXPLANATIONS),
            metadata={"dagster/row_count": explained.get(catalog.TRACK_EXPLANATIONS, 0)},
        )

    return [train, score]
