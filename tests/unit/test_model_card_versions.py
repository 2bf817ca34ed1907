"""The model card on MLflow's registry: the champion's version carries it; an earlier version
of the same data says first that it is no longer the champion (its card, written while it was,
read as current: "reused by the training of ..."); another dataset's versions are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_ml.settings import PROJECT_ROOT, Settings


def test_a_replaced_version_says_it_is_not_the_champion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from python_ml.reports import model_card
    from python_ml.tracking.registry import TRACK_MODEL_NAME, TRACKS_EXPERIMENT, setup_mlflow

    monkeypatch.setattr(mlflow.tracking._tracking_service.utils, "_tracking_uri", None)
    settings = Settings(
        PROJECT_ROOT, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path
    )
    experiment = setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    client.create_registered_model(TRACK_MODEL_NAME)

    def version(fingerprint: str, card: str) -> tuple[str, str]:
        with mlflow.start_run(experiment_id=experiment) as run:
            pass
        made = client.create_model_version(
            TRACK_MODEL_NAME,
            str(tmp_path / run.info.run_id),
            run_id=run.info.run_id,
            tags={"data_fingerprint": fingerprint},
            description=card,
        )
        return made.version, run.info.run_id

    first, _ = version("fp", "# Model card: the first (reused by the training of today)")
    other_data, _ = version("other", "# Model card: another dataset's champion")
    second, second_run = version("fp", "")
    facts = {
        "run_id": second_run,
        "registered_version": int(second),
        "data_origin": "generated",
        "data_fingerprint": "fp",
        "holdout_accuracy": 0.8,
        "holdout_macro_f1": 0.65,
    }
    for _ in range(2):  # drawn again: the note is not repeated
        page = model_card._to_mlflow(settings, "# Model card: the second", facts)
    assert page == f"#/experiments/{experiment}/runs/{second_run}"

    def described(number: str) -> str:
        return client.get_model_version(TRACK_MODEL_NAME, number).description

    assert described(second) == "# Model card: the second"
    old = described(first)
    assert old.startswith(
        f"{model_card.FORMER_VERSION_NOTE} Version {second} (run `{second_run}`) took its place"
    )
    assert old.count(model_card.FORMER_VERSION_NOTE) == 1
    assert old.endswith("\n\n# Model card: the first (reused by the training of today)")
    assert described(other_data) == "# Model card: another dataset's champion"
    tags = client.get_model_version(TRACK_MODEL_NAME, second).tags
    assert tags["holdout_macro_f1"] == "0.6500" and tags["data_origin"] == "generated"
    # The card reaches the run with the report (report/model_card.md), not a second time.
    assert client.list_artifacts(second_run) == []
