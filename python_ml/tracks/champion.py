"""The champion policy: which finished run becomes the model that scores, and its promotion.

1. The best validation figure (the config's selection metric, of each model's own decision
   rule) sets the bar.
2. Every candidate whose paired-bootstrap 95% interval of (best - candidate) on the same
   validation rows reaches 0 is within the noise of the best; among those the simplest wins
   (majority < logistic regression < gradient boosting < network), then the fewest features,
   then the fastest to train.
3. A training of some of the config's experiments (`train --only`) weighs by 1-2, beside its
   own runs, the run a full training would reuse of each experiment it left out (the same
   data, config, code and seed: train.py's reuse key); one a full training would fit again
   is named in the log and not weighed. So it chooses as the full training would when every
   left-out experiment has such a run. (The champion stayed while its figure was at least
   the choice's: a model within its noise replaced it that the full training set aside for
   a simpler one, and the next full run put it back.) The current champion (trained on the
   same data, its files loading) is weighed too when it is none of those runs and its
   experiment is not in this training (a champion of another config, or of a left-out
   experiment a full training would fit again), from its recorded calls on the same
   validation fold (the same seed and validation fraction, its classes in the same order).
   A champion of another fold or class order is not compared (its calls are of other rows
   or classes); one whose calls are not recorded (a run from before they were kept) is
   compared by its figure alone, and stays when it is at least the choice's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from python_ml.reports.classes import Classes, read_classes
from python_ml.settings import Settings
from python_ml.tracks.evaluate import bootstrap_difference
from python_ml.tracks.kinds import KINDS
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    run_id: str
    label: str
    model_type: str
    n_features: int
    seconds: float
    score: float  # validation figure of the selection metric
    validation_pred: np.ndarray  # the decision rule's classes on the validation fold


def choose(
    candidates: list[Candidate], y_val: np.ndarray, n_classes: int, metric: str, seed: int
) -> tuple[Candidate, str]:
    """The chosen candidate and a sentence saying which rule chose it."""
    best = max(candidates, key=lambda c: c.score)
    within = []
    for c in candidates:
        if c is best:
            within.append(c)
            continue
        low, _ = bootstrap_difference(
            y_val, best.validation_pred, c.validation_pred, n_classes, metric, seed=seed
        )
        if low <= 0.0:
            within.append(c)
    chosen = min(within, key=lambda c: (KINDS[c.model_type].simplicity, c.n_features, c.seconds))
    named = {"macro_f1": "macro-F1"}.get(metric, metric)
    if chosen is best:
        others = [c.label for c in within if c is not best]
        verb = "is" if len(others) == 1 else "are"
        rule = f"best validation {named} ({best.score:.4f})" + (
            # (It read "..., but none is simpler", as if nothing were simpler than the best.)
            f"; {', '.join(others)} {verb} within its bootstrap noise but not simpler than it"
            if others
            else ""
        )
    else:
        rule = (
            f"simplest model within the bootstrap noise of the best validation {named} "
            f"({chosen.score:.4f} vs {best.score:.4f} of {best.label}; 95% interval of the "
            "difference reaches 0)"
        )
    return chosen, rule


@dataclass(frozen=True)
class Current:
    """The current champion as rule 3. sees it."""

    label: str
    score: float  # its validation figure of the selection metric
    run_id: str
    fold: tuple[str, str] | None  # the seed and validation fraction its figure was measured on


def current_champion(settings: Settings, metric: str, fingerprint: str) -> Current | None:
    """The current champion, if it was trained on the same data and its model files still
    load; otherwise None (a new champion gets registered)."""

    from python_ml.tracking.registry import champion_loadable
    from python_ml.tracks.data import trained_on_this_data

    with db.connect(settings.warehouse) as con:
        row = con.execute(
            f"select coalesce(model_name, model_type) || '/' || feature_set, "
            f"validation_{db.check_identifier(metric)}, data_fingerprint, run_id "
            f"from {catalog.MODEL_RUNS} "
            "where task = 'tracks' and is_champion order by finished_at desc limit 1"
        ).fetchone()
        if row is not None and not trained_on_this_data(row[2], fingerprint):
            row = None
    if row is None:
        return None
    if not champion_loadable(settings):
        log.warning("the champion %s cannot be loaded: a new champion will be registered", row[0])
        return None
    return Current(row[0], float(row[1]), row[3], _fold(row[3]))


def _fold(run_id: str) -> tuple[str, str] | None:
    """The seed and validation fraction a run was validated with, as MLflow logged them
    (text); None when its run is gone or was logged before."""
    import mlflow

    try:
        params = mlflow.MlflowClient().get_run(run_id).data.params
        return (params["seed"], params["validation_fraction"])
    except (KeyError, mlflow.exceptions.MlflowException):
        return None


def weighed_beside(current: Current | None, labels: set[str], fold: tuple[str, str]) -> bool:
    """Whether the current champion is weighed beside this training's runs (rule 3.):
    ``labels`` are the experiments (model/feature set) of the runs weighed already, ``fold``
    their seed and validation fraction, as logged (text)."""
    if current is None or current.label in labels:
        # None, or its experiment is in this training (reused or fitted again: --force, new
        # code or parameters) or left out with a run a full training would reuse: the rule
        # weighs that run with the others.
        return False
    if current.fold is None:
        log.warning(
            "the champion %s has no recorded fold (its MLflow run is gone): not weighed, and "
            "the rule's choice replaces it",
            current.label,
        )
        return False
    if current.fold != fold:
        log.info(
            "the champion %s was validated on another fold (seed %s, validation fraction %s; "
            "this training: seed %s, %s): its figure is of other rows, not compared",
            current.label,
            *current.fold,
            *fold,
        )
        return False
    return True


class NotRecorded(str):
    """Why a champion cannot be weighed, when the reason is that its calls were never
    recorded (its figure alone is then compared), as :func:`as_candidate` gives it."""


class NotComparable(str):
    """Why a champion cannot be weighed, when its calls are of other rows or classes (it is
    not compared), as :func:`as_candidate` gives it."""


def as_candidate(
    current: Current, metric: str, validation_rows: int, class_names: list[str] | None = None
) -> Candidate | NotRecorded | NotComparable:
    """The current champion as a candidate of rules 1-2, from its MLflow run: its kind and
    features, and the result a reused run is read from (its figure and its decision rule's
    calls on the validation rows). Otherwise why not, said in the log: its calls not recorded
    (:class:`NotRecorded`), or of other rows, or numbering other classes than
    ``class_names`` (the seed's, in order: the data's fingerprint holds the classes' names,
    not their order) (:class:`NotComparable`)."""
    import mlflow

    def unread(reason: str) -> NotRecorded:
        log.warning(
            "the champion %s (run %s) cannot be weighed by the rule: %s",
            current.label,
            current.run_id,
            reason,
        )
        return NotRecorded(reason)

    def other(reason: str) -> NotComparable:
        log.warning(
            "the champion %s (run %s) is not compared: %s",
            current.label,
            current.run_id,
            reason,
        )
        return NotComparable(reason)

    try:
        run = mlflow.MlflowClient().get_run(current.run_id)
        saved = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/result.json")
        calls = np.asarray(saved["validation_pred"], dtype=np.int64)
        candidate = Candidate(
            current.run_id,
            current.label,
            run.data.tags["model_type"],
            len(run.data.params["features"].split(",")),
            float(saved["seconds"]),
            float(saved["metrics"]["validation"][metric]),
            calls,
        )
    except Exception as exc:  # its run or artifacts gone, or written before they were kept
        missing = f"no {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        return unread(f"its validation calls are not recorded in its MLflow run ({missing})")
    if len(calls) != validation_rows:
        return other(
            f"its validation calls are of {len(calls)} rows, this training's of {validation_rows}"
        )
    if class_names is not None:
        try:
            rule = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/decision_rule.json")
            named = list(rule["class_names"])
        except Exception as exc:
            missing = f"no {exc}" if isinstance(exc, KeyError) else type(exc).__name__
            return unread(f"the classes of its calls are not recorded ({missing})")
        if named != list(class_names):
            return other(f"its calls number the classes {named}, this training's {class_names}")
    return candidate


def choose_beside(
    candidates: list[Candidate],
    current: Current | None,
    fold: tuple[str, str],
    y_val: np.ndarray,
    n_classes: int,
    metric: str,
    seed: int,
    left_out: list[Candidate] = (),
    read: Any = as_candidate,
) -> tuple[Candidate, str, str | None]:
    """Rules 1-3: the chosen candidate, the sentence saying which rule chose it, and why the
    current champion stays (None: the chosen run is promoted). ``left_out``: the runs a full
    training would reuse of the experiments this one left out; ``read`` gives the champion as
    a candidate (:func:`as_candidate`; a test passes its own)."""
    weighed = list(left_out)
    unread = None
    ids = {c.run_id for c in [*candidates, *weighed]}
    if current is not None and current.run_id not in ids:
        if weighed_beside(current, {c.label for c in [*candidates, *weighed]}, fold):
            found = read(current, metric, len(y_val))
            if isinstance(found, Candidate):
                weighed.append(found)
            elif isinstance(found, NotRecorded):
                unread = found
    chosen, rule = choose([*candidates, *weighed], y_val, n_classes, metric, seed)
    if weighed:
        rule += "; with earlier runs not fitted by this training: " + ", ".join(
            f"{c.label} (run {c.run_id[:8]})" for c in weighed
        )
    if current is None:
        return chosen, rule, None
    if chosen.run_id == current.run_id:
        if any(chosen is c for c in weighed):
            return chosen, rule, "weighed by the same rule beside this training's runs"
        return chosen, rule, "the rule chose it again"
    if unread is not None and current.score >= chosen.score:
        # Its calls are not recorded (a run from before they were kept): its figure alone.
        return (
            chosen,
            rule,
            f"its calls on the validation rows are not recorded, and its validation {metric} "
            f"{current.score:.4f} >= {chosen.score:.4f} of {chosen.label}, on the same fold",
        )
    return chosen, rule, None


CHAMPION_TAG = (
    "champion"  # "yes" on the MLflow run of its data's champion, "former" on earlier ones
)
FORMER = "former"
CHAMPION_RULE_TAG = "champion_rule"  # why the rule chose it: on the current champion's run only


def mark_champion_run(run_id: str, fingerprint: str, rule: str) -> None:
    """The MLflow runs table's markers (add the tags `champion` and `champion_rule` as
    columns): `champion` = `yes` and the rule that chose it on the champion's run; every
    other run that was a champion of the same data (another dataset keeps its own champion)
    has `champion` = `former` and no `champion_rule`, so only the champion reads as one (a
    former champion kept its rule, and looked like a champion beside it). Runs left with a
    rule and no `champion` tag by a `train` before 2026-12-07 are marked former too."""
    import mlflow

    client = mlflow.MlflowClient()
    experiment_id = client.get_run(run_id).info.experiment_id
    tags = client.get_run(run_id).data.tags
    if tags.get(CHAMPION_RULE_TAG) != rule:
        client.set_tag(run_id, CHAMPION_RULE_TAG, rule)
    if tags.get(CHAMPION_TAG) != "yes":
        client.set_tag(run_id, CHAMPION_TAG, "yes")
    same_data = f"tags.data_fingerprint = '{fingerprint}'"
    earlier = {
        run.info.run_id: run
        for marked in (f"tags.{CHAMPION_TAG} = 'yes'", f"tags.{CHAMPION_RULE_TAG} LIKE '%'")
        for run in client.search_runs([experiment_id], f"{marked} and {same_data}")
        if run.info.run_id != run_id
    }
    for other, run in earlier.items():
        if run.data.tags.get(CHAMPION_TAG) != FORMER:
            client.set_tag(other, CHAMPION_TAG, FORMER)
        if CHAMPION_RULE_TAG in run.data.tags:
            client.delete_tag(other, CHAMPION_RULE_TAG)


def registered_version(client: Any, name: str, run_id: str, fingerprint: str) -> Any:
    """The run's model already registered for this data (a `train` stopped between the
    registry and the warehouse, or the same data back), so that it is not registered twice;
    None when it is not."""
    try:
        versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    except Exception:  # no such registered model yet
        return None
    mine = [v for v in versions if (v.tags or {}).get("data_fingerprint") == fingerprint]
    return min(mine, key=lambda v: int(v.version)) if mine else None


def registered_model_description(classes: Classes) -> str:
    """The registered model's own description, with the classes of the warehouse's seed."""
    return (
        f"The popularity class of a Spotify track, one of {classes.described()}, from its "
        "audio features, release year and first artist, trained by `python -m python_ml "
        "train` on the warehouse's train split (dbt: fct_train_tracks). Each dataset's champion "
        "is the version under the alias `champion_<first 12 characters of its training data's "
        "fingerprint>`; each version's description is its model card (data origin, rule, "
        "holdout figures, calibration)."
    )


def promote(settings: Settings, run_id: str, model_uri: str, rule: str, fingerprint: str) -> int:
    """Register the run's model and make it the champion of its data (after the run
    finished): this warehouse's ``ml.model_runs`` row, and the registry alias of its
    fingerprint (``champion_<fingerprint>``), never another dataset's."""
    import mlflow

    from python_ml.tracking.registry import TRACK_MODEL_NAME, champion_alias

    client = mlflow.MlflowClient()
    registered = registered_version(client, TRACK_MODEL_NAME, run_id, fingerprint)
    if registered is None:
        registered = mlflow.register_model(
            model_uri,
            TRACK_MODEL_NAME,
            # Where it was registered from: a fact that stays true after the data folder
            # moves (a `warehouse` tag kept the old path as if it were the current one).
            tags={
                "data_fingerprint": fingerprint,
                "registered_from_warehouse": str(settings.warehouse),
            },
        )
    client.set_registered_model_alias(
        TRACK_MODEL_NAME, champion_alias(fingerprint), registered.version
    )
    # The registered model's page said nothing (each version carries its model card).
    with db.connect(settings.warehouse) as con:
        classes = read_classes(con)
    client.update_registered_model(
        TRACK_MODEL_NAME, description=registered_model_description(classes)
    )
    mark_champion_run(run_id, fingerprint, rule)
    with db.connect(settings.warehouse, read_only=False) as con:
        con.execute("begin transaction")
        con.execute(
            f"update {catalog.MODEL_RUNS} set is_champion = false, selection_rule = null "
            "where task = 'tracks'"
        )
        promoted = con.execute(
            f"update {catalog.MODEL_RUNS} set is_champion = true, "
            "registered_version = ?, selection_rule = ? where run_id = ? returning run_id",
            [int(registered.version), rule, run_id],
        ).fetchall()
        if not promoted:  # (the warehouse would be left with no champion)
            con.execute("rollback")
            raise LookupError(
                f"The run {run_id} has no row in {catalog.MODEL_RUNS} of {settings.warehouse}: "
                "it cannot be made the champion there. Train again (python -m python_ml train)."
            )
        con.execute("commit")
    return int(registered.version)
