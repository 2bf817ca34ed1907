"""Overview: the champion, the leaderboard, per-class figures, confusion matrix, calibration."""

import altair as alt
import app_ui
import streamlit as st

st.title("Track popularity: the champion and its figures")
champion = app_ui.read("champion_run")
app_ui.origin_banner(champion["data_origin"])
data = app_ui.read("overview")
board = data.leaderboard
row = board[board["run_id"] == champion["run_id"]]
scored = board[board["is_champion"]] if row.empty else row
best = scored.iloc[0] if not scored.empty else None


def _when(value) -> str:
    return str(value)[:16] if value is not None and str(value) != "NaT" else "-"


st.markdown(
    f"**Champion:** `{champion['model_label']}` · trained {_when(champion['trained_at'])} UTC · "
    f"scored {_when(champion['scored_at'])} UTC"
)
if best is not None and best["holdout_accuracy"] == best["holdout_accuracy"]:
    cols = st.columns(4)
    cols[0].metric("Holdout accuracy", f"{best['holdout_accuracy']:.3f}")
    cols[1].metric("Holdout macro-F1", f"{best['holdout_macro_f1']:.3f}")
    cols[2].metric("Holdout log loss", f"{best['holdout_log_loss']:.3f}")
    cols[3].metric("Holdout ECE", f"{best['holdout_ece']:.3f}")
st.caption(
    f"Run `{champion['run_id']}` scored {champion['scored_tracks']:,} tracks of the predict "
    "split (the 10% no model saw). Holdout figures exist for the champion only."
)

st.subheader("Leaderboard")
st.caption(
    "Validation picks the champion; holdout figures are computed for the champion only, when "
    "it scores (empty for the others). Forward in time: trained on releases up to the cutoff "
    "year, evaluated on later ones. New artist: tracks whose first artist has no track in the "
    "fitting rows."
)
columns = {
    "leaderboard_rank": "rank",
    "model_label": "model",
    "is_champion": "champion",
    "validation_accuracy": "val accuracy",
    "validation_macro_f1": "val macro-F1",
    "validation_log_loss": "val log loss",
    "validation_ece": "val ECE",
    "holdout_accuracy": "holdout accuracy",
    "holdout_macro_f1": "holdout macro-F1",
    "time_split_macro_f1": "forward-in-time macro-F1",
    "new_artist_macro_f1": "new-artist macro-F1",
    "duration_seconds": "fit seconds",
}
st.dataframe(
    board[list(columns)].rename(columns=columns).round(3), hide_index=True, width="stretch"
)

left, right = st.columns(2)
with left:
    st.subheader("Per class (holdout)")
    metrics = data.class_metrics.merge(
        data.distribution[["class_name", "true_share", "predicted_share"]], on="class_name"
    )
    shown = {
        "class_name": "class",
        "support": "tracks",
        "class_precision": "precision",
        "class_recall": "recall",
        "f1": "F1",
        "true_share": "true share %",
        "predicted_share": "predicted share %",
    }
    table = app_ui.percent(metrics, ["true_share", "predicted_share"])[list(shown)]
    st.dataframe(table.rename(columns=shown).round(3), hide_index=True, width="stretch")
with right:
    st.subheader("Confusion matrix (holdout)")
    matrix = data.confusion.pivot_table(
        index="true_class", columns="predicted_class", values="track_count", sort=False
    )
    st.dataframe(matrix, width="stretch")
    st.caption("Rows: true class; columns: predicted class; cells: tracks.")

st.subheader("Calibration (holdout)")
st.caption("A calibrated model's points lie on the diagonal: of tracks given 30%, 30% are.")
calibration = data.calibration
chart = (
    alt.Chart(calibration)
    .mark_line(point=True)
    .encode(
        x=alt.X(
            "mean_probability:Q", title="predicted probability", scale=alt.Scale(domain=[0, 1])
        ),
        y=alt.Y("observed_share:Q", title="observed share", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class_name:N", title="class", sort=None),
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
