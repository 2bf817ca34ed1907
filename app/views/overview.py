"""Overview: the champion, the leaderboard, per-class figures, confusion matrix, calibration."""

import re

import altair as alt
import app_ui
import streamlit as st

from python_ml.reports.confidence import confident_errors_cell
from python_ml.reports.palette import class_colors
from python_ml.reports.tables import percentages
from python_ml.tracks.feature_origin import feature_label, generated_features_note
from python_ml.warehouse import catalog

st.title("Track popularity: the champion and its figures")
champion = app_ui.read("champion_run")
app_ui.origin_banner(champion["data_origin"])
app_ui.stop_unless_champion_of_this_data()
# A feature named below is marked when its values are generated beside real ones (the artist
# features of a generated artists.csv beside the user's tracks).
origin = str(champion["data_origin"] or "")
data = app_ui.read("overview")
classes = app_ui.read("classes")
labels = dict(zip(classes["class_name"], classes["class_label"], strict=True))
board = data.leaderboard
row = board[board["run_id"] == champion["run_id"]]
scored = board[board["is_champion"]] if row.empty else row
best = scored.iloc[0] if not scored.empty else None


def _when(value) -> str:
    return str(value)[:16] if value is not None and str(value) != "NaT" else "-"


# A run a later training reused is not fitted again: "trained" stays its fit's time.
reused = _when(champion.get("reused_at"))
st.markdown(
    f"**Champion:** `{champion['model_label']}` · trained {_when(champion['trained_at'])} UTC"
    + (f" (reused by the training of {reused} UTC)" if reused != "-" else "")
    + f" · scored {_when(champion['scored_at'])} UTC"
)
# Rank 1 (the best validation figure) need not be the champion: the rule prefers the simplest
# model within the bootstrap noise of the best, or keeps a champion not beaten; it says which.
rule = best.get("selection_rule") if best is not None else None
if isinstance(rule, str) and rule:
    st.markdown(f"**Chosen because:** {rule}.")
if best is not None and best["holdout_accuracy"] == best["holdout_accuracy"]:
    cols = st.columns(4)
    cols[0].metric("Holdout accuracy", f"{best['holdout_accuracy']:.3f}")
    cols[1].metric("Holdout macro-F1", f"{best['holdout_macro_f1']:.3f}")
    cols[2].metric("Holdout log loss", f"{best['holdout_log_loss']:.3f}")
    cols[3].metric("Holdout ECE", f"{best['holdout_ece']:.3f}")
st.caption(
    f"Run `{champion['run_id']}` scored {champion['scored_tracks']:,} tracks of the predict "
    f"split (the {app_ui.read('predict_share')} no model saw). Holdout figures exist for "
    "the champion only."
)

st.subheader("Leaderboard")
columns = {
    "leaderboard_rank": "rank",
    "model_label": "model",
    "validation_accuracy": "val acc",
    "validation_macro_f1": "val F1",
    "validation_log_loss": "val log loss",
    "validation_ece": "val ECE",
    "validation_confident_errors": "val wrong at 0.999+",
    "time_split_macro_f1": "fwd-time F1",
    "new_artist_macro_f1": "new-artist F1",
    "holdout_accuracy": "holdout acc",
    "holdout_macro_f1": "holdout F1",
    "duration_seconds": "run s",
}
st.caption(
    "Validation picks the champion: the simplest model whose validation figure (tracks.yml's "
    "selection metric) is within the bootstrap noise of the best, so rank 1 need not be ★; a "
    "training of some experiments (--only) weighs the runs a full training would reuse of the "
    'others beside its own, by the same rule ("Chosen because" above says which). F1: '
    "macro-F1 of the model's decision rule. fwd-time: "
    "trained on releases up to the cutoff year, tested on later ones; new-artist: on artists "
    "held out with all their tracks; blank: not measured (holdout: champion only); "
    "★ the champion. run s: the run's wall time (fitting, evaluating, logging the model; "
    "MLflow's train_seconds leaves the logging out; a run reused by a later training keeps "
    "its fit's). One row per model and feature set: the run the latest training on the "
    "champion's data fitted or reused (earlier runs, and runs on other data such as another "
    "split seed, are in marts.rpt_model_leaderboard, `is_current` false). wrong at 0.999+: "
    "of the validation tracks called at a probability of 0.999 or more, how many were wrong, "
    "and how many calibrated probabilities would get wrong (too sure: fewer than 1 chance in "
    "1,000 of so many; none: no track called that surely)."
)


def _shown(value, digits: int = 3) -> str:
    return "" if value is None or value != value else f"{value:,.{digits}f}"


table = board[list(columns)].copy()
for key in columns:
    if key.startswith(("validation", "holdout", "time_split", "new_artist")):
        table[key] = table[key].map(_shown)
table["validation_confident_errors"] = [
    confident_errors_cell(*row)
    for row in board[
        [
            "validation_confident_calls",
            "validation_confident_errors",
            "validation_confident_expected_errors",
        ]
    ].itertuples(index=False)
]
table["duration_seconds"] = table["duration_seconds"].map(lambda v: _shown(v, 1))
three = st.column_config.NumberColumn(format="%.3f")
table["model_label"] = [
    f"{label} ★" if champion else label
    for label, champion in zip(board["model_label"], board["is_champion"], strict=True)
]
st.dataframe(
    table.rename(columns=columns),
    hide_index=True,
    width="stretch",
    # The figures' columns as wide as their headers ("new-artist F1" was cut at "small"); the
    # model stays in view while the holdout columns are scrolled to (narrower screens).
    column_config={columns["model_label"]: st.column_config.Column(width="medium", pinned=True)},
)

left, right = st.columns(2)
with left:
    st.subheader("Per class (holdout)")
    metrics = data.class_metrics.merge(
        data.distribution[["class_name", "true_share", "predicted_share"]], on="class_name"
    )
    shown = {
        "class_name": "class",
        "support": "true tracks",
        "class_precision": "precision",
        "class_recall": "recall",
        "f1": "F1",
        "true_share": "true %",
        "predicted_share": "called %",
    }
    table = metrics.assign(
        class_name=metrics["class_name"].map(labels.get),
        # Each column adds to 100 (rounded one by one, three shares can read 100.1).
        true_share=percentages(metrics["true_share"]),
        predicted_share=percentages(metrics["predicted_share"]),
    )[list(shown)]
    st.dataframe(
        table.rename(columns=shown),
        hide_index=True,
        width="stretch",
        column_config={
            "true tracks": st.column_config.NumberColumn(format="localized"),
            **{c: three for c in ("precision", "recall", "F1")},
            "true %": st.column_config.NumberColumn(format="%.1f"),
            "called %": st.column_config.NumberColumn(format="%.1f"),
        },
    )
with right:
    st.subheader("Confusion matrix (holdout)")
    matrix = data.confusion.assign(
        true_class=data.confusion["true_class"].map(labels.get),
        predicted_class=data.confusion["predicted_class"].map(labels.get),
    ).pivot_table(index="true_class", columns="predicted_class", values="track_count", sort=False)
    st.dataframe(
        matrix.rename_axis(index="true / called", columns=None),
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="localized") for c in matrix},
    )
    st.caption("Rows: true class; columns: predicted class; cells: tracks.")

st.subheader("Calibration (holdout)")
st.caption(
    "A calibrated model's points lie on the diagonal: of tracks given 30%, 30% are. Bins "
    f"with fewer than {catalog.CALIBRATION_MIN_BIN_TRACKS} tracks are left out, as in the report."
)
calibration = data.calibration[
    data.calibration["track_count"] >= catalog.CALIBRATION_MIN_BIN_TRACKS
].assign(class_name=lambda f: f["class_name"].map(labels.get))
chart = (
    alt.Chart(calibration)
    .mark_line(point=True)
    .encode(
        x=alt.X(
            "mean_probability:Q", title="predicted probability", scale=alt.Scale(domain=[0, 1])
        ),
        y=alt.Y("observed_share:Q", title="observed share", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "class_name:N",
            title="class",
            scale=alt.Scale(
                domain=[labels[n] for n in classes["class_name"]],
                range=class_colors(classes["class_name"].tolist()),
            ),
        ),
        tooltip=[
            "class_name",
            "probability_bin",
            "track_count",
            "mean_probability",
            "observed_share",
        ],
    )
)
diagonal = (
    alt.Chart(alt.Data(values=[{"x": 0, "y": 0}, {"x": 1, "y": 1}]))
    .mark_line(strokeDash=[4, 4], color="gray")
    .encode(x="x:Q", y="y:Q")
)
st.altair_chart(diagonal + chart, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("What the champion relies on")
    st.caption(
        "Permutation importance on the validation fold: how much the log loss rises when a "
        "feature's values are shuffled (the line: spread over the shuffles)."
    )
    importance = app_ui.read("feature_importance")
    if importance.empty:
        st.info("No permutation importance recorded for this run.")
    else:
        importance = importance.assign(
            low=importance["importance_mean"] - importance["importance_std"],
            high=importance["importance_mean"] + importance["importance_std"],
            shown=[feature_label(f, origin) for f in importance["feature"]],
        )
        order = importance["shown"].tolist()
        bars = (
            alt.Chart(importance)
            .mark_bar()
            .encode(
                y=alt.Y("shown:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
                x=alt.X("importance_mean:Q", title="rise of validation log loss"),
                tooltip=[
                    alt.Tooltip("shown:N", title="feature"),
                    alt.Tooltip("importance_mean:Q", format=".4f", title="mean rise"),
                    alt.Tooltip("importance_std:Q", format=".4f", title="spread"),
                ],
            )
        )
        spread = (
            alt.Chart(importance)
            .mark_rule()
            .encode(y=alt.Y("shown:N", sort=order), x="low:Q", x2="high:Q")
        )
        st.altair_chart(bars + spread, width="stretch")
        note = generated_features_note(importance["feature"], origin)
        if note:
            st.caption(note)
with right:
    st.subheader("Drift of the scored tracks")
    drift = app_ui.read("feature_drift")
    if drift.empty:
        st.info("No scoring run measured yet.")
    else:
        drifted = [
            feature_label(f, origin) for f in drift.loc[drift["drift_status"] == "drift", "feature"]
        ]
        st.caption(
            f"Population stability index of the {int(drift['batch_tracks'].max()):,} scored "
            "tracks against the training split (predicted_class: the mix of classes called "
            "against the training classes). Below 0.1 little change, above "
            f"{float(drift['psi_threshold'].iloc[0]):g} drift. The predict split is a random "
            f"{app_ui.read('predict_share')} of the same data, so this is near 0 unless the "
            "data changed; new tracks are measured by `python -m python_ml predict`. "
            + (f"**Drifted: {', '.join(drifted)}.**" if drifted else "No feature has drifted.")
        )
        st.dataframe(
            drift[["feature", "psi", "drift_status"]].assign(
                feature=[feature_label(f, origin) for f in drift["feature"]]
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
                "drift_status": st.column_config.TextColumn("status"),
            },
        )

card = app_ui.settings().reports_dir / "model_card.md"
if card.exists():
    with st.expander("The champion's model card (reports/model_card.md)"):
        # The card's headings two levels down: inside the expander its title is not the page's.
        text = card.read_text(encoding="utf-8")
        st.markdown(re.sub(r"^(#{1,4}) ", r"\1## ", text, flags=re.MULTILINE))
