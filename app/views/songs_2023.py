"""2023 songs: the cross-validated study of the most streamed songs, and predicted vs actual."""

import altair as alt
import app_ui
import numpy as np
import pandas as pd
import streamlit as st

from python_ml.raw.schemas import SONGS_2023
from python_ml.songs import TOP_DECILE_CALLS, repeats_of

st.title("2023 songs: how many streams?")
study = app_ui.read("songs_study")  # its own runs: no tracks champion needed
if study.empty:
    st.info("The 2023 songs study has not run yet: `python -m python_ml songs`, then `make run`.")
    st.stop()
app_ui.origin_banner(study["data_origin"].iloc[0])
# As the study's runs recorded it from its config ("5x 5-fold cv").
kinds = ", ".join(sorted(study["split_kind"].dropna().unique())) or "repeated k-fold cv"
st.caption(
    f"Cross-validated ({kinds}): the mean over the repeats' fold seeds, with its spread. "
    "`forecastable` uses what is known at release (audio, days since release, the artist's "
    "earlier songs); `descriptive_reach` uses playlist and chart counts measured with the "
    "streams: it describes a hit rather than forecasting one."
)
# The songs the study had: what became of the raw file's rows, as the report's table says.
read, kept, rejected = app_ui.read("source_rows", f"{SONGS_2023.dataset}.{SONGS_2023.table}")
st.caption(
    f"On the {kept:,} songs kept of {SONGS_2023.name}'s {read:,} rows: {rejected:,} rejected "
    "(marts.rpt_rejected_rows lists each, with why)."
)
TASK_TITLES = {
    "songs_log_streams": "ln(streams + 1) regression: R² and RMSE",
    "songs_top_decile": "top 10% of streams: precision, recall, F1, and the share of songs "
    "called top 10% (called share; about 0.100 are)",
}
for task, runs in study.groupby("task", sort=True):
    st.markdown(f"**{TASK_TITLES.get(task, task)}**")
    if task == "songs_top_decile":
        st.caption(f"Why the called share can exceed 0.100: {TOP_DECILE_CALLS}.")
    if task == "songs_log_streams" and "rmse" in runs:
        # The RMSE is in natural-log units: what it means in streams, per feature set.
        factors = ", ".join(
            f"{np.exp(rmse):.1f} ({name})"
            for name, rmse in zip(runs["feature_set"], runs["rmse"], strict=True)
        )
        st.caption(
            "The target is the natural log of a song's streams (plus 1), so the RMSE is in "
            "those units: e to the RMSE is the factor a typical prediction is off by in "
            f"streams, either way: {factors}."
        )
    runs = runs.drop(columns=["task", "split_kind", "data_origin", "finished_at"])
    runs = runs.dropna(axis=1, how="all")
    # `rmse_std` -> "rmse sd": each figure's spread over the fold seeds.
    runs = runs.rename(columns=lambda c: c.replace("_std", " sd").replace("_", " "))
    figures = runs.select_dtypes("floating").columns  # all to 3 places: 0.010, not 0.01
    st.dataframe(
        runs,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in figures},
    )

sets = study.loc[study["task"] == "songs_log_streams", "feature_set"].tolist()
feature_set = st.selectbox(
    "Feature set", sets, index=sets.index("forecastable") if "forecastable" in sets else 0
)
songs = app_ui.read("song_predictions", feature_set)
# The predictions kept are the first repeat's (the figures above: the mean over the repeats).
repeats = repeats_of(study.loc[study["feature_set"] == feature_set, "split_kind"].iloc[0])
first = f", the first of {repeats} repeats" if repeats > 1 else ""
st.subheader(f"Predicted vs actual streams ({feature_set}, out of fold{first})")
# Streams span five powers of ten: a tick at each, written short (10M, 1B), so the axis titles
# stay clear of the labels (written out, "10,000,000,000" ran into the y title).
low = min(songs["actual_streams"].min(), songs["predicted_streams"].min())
high = max(songs["actual_streams"].max(), songs["predicted_streams"].max())
powers = [
    10.0**k for k in range(int(np.floor(np.log10(max(low, 1)))), int(np.ceil(np.log10(high))) + 1)
]
short = (
    "datum.value >= 1e9 ? format(datum.value / 1e9, '~g') + 'B' : datum.value >= 1e6 ? "
    "format(datum.value / 1e6, '~g') + 'M' : datum.value >= 1e3 ? "
    "format(datum.value / 1e3, '~g') + 'k' : format(datum.value, '~g')"
)


def _axis(title: str) -> alt.Axis:
    return alt.Axis(title=title, values=powers, labelExpr=short)


log_scale = alt.Scale(type="log", domain=[powers[0], powers[-1]])
points = (
    alt.Chart(songs)
    .mark_circle(opacity=0.5)
    .encode(
        x=alt.X("actual_streams:Q", scale=log_scale, axis=_axis("actual streams")),
        y=alt.Y("predicted_streams:Q", scale=log_scale, axis=_axis("predicted streams")),
        tooltip=[
            "track_name",
            "artist_names",
            "released_year",
            alt.Tooltip("actual_streams:Q", format=","),
            alt.Tooltip("predicted_streams:Q", format=",.0f"),
        ],
    )
)
# The diagonal: where a perfect prediction would put each song (as the report's chart draws it).
perfect = (
    alt.Chart(pd.DataFrame({"streams": [powers[0], powers[-1]]}))
    .mark_line(color="black", strokeWidth=0.8)
    .encode(x="streams:Q", y="streams:Q")
)
st.altair_chart((points + perfect).interactive(), width="stretch")
st.caption("The line: predicted = actual. Both axes are logarithmic (1M, 10M, 100M, 1B, ...).")
# Headers in words; the logs say their base ("actual ln(streams + 1)"); streams with
# separators (2,200,663,222).
headers = {c: c.replace("_", " ") for c in songs.columns} | {
    "actual_log_streams": "actual ln(streams + 1)",
    "predicted_log_streams": "predicted ln(streams + 1)",
    "log_residual": "ln residual (predicted - actual)",
}
for column in ("actual_streams", "predicted_streams"):
    headers[column] = st.column_config.NumberColumn(headers[column], format="localized")
st.dataframe(
    songs.assign(predicted_streams=songs["predicted_streams"].round()),
    hide_index=True,
    width="stretch",
    column_config=headers,
)
