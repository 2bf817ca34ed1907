"""Predictions: look up tracks by artist, years, classes and hit probability."""

import altair as alt
import app_ui
import streamlit as st

st.title("Predictions")
champion = app_ui.read("champion_run")
app_ui.origin_banner(champion["data_origin"])
classes = app_ui.read("classes")
names = classes["class_name"].tolist()
labels = dict(zip(classes["class_name"], classes["class_label"], strict=True))
hit = names[-1]
lo, hi = app_ui.read("year_range")

with st.container(border=True):
    c1, c2, c3 = st.columns([2, 3, 2])
    artist = c1.text_input("Artist contains", key="artist")
    years = c2.slider("Release years", lo, hi, (lo, hi), key="years")
    min_hit = c3.slider(
        f"Probability of {labels[hit]} at least", 0.0, 1.0, 0.0, 0.05, key="min_hit"
    )
    c4, c5 = st.columns(2)
    predicted = c4.multiselect(
        "Predicted class", names, format_func=labels.get, key="predicted", placeholder="any"
    )
    true = c5.multiselect(
        "True class", names, format_func=labels.get, key="true", placeholder="any"
    )

frame, total = app_ui.read(
    "predictions", artist, tuple(years), list(predicted), list(true), float(min_hit), 100_000
)
SHOWN = 5_000
st.markdown(f"**{total:,} tracks** match (of {champion['scored_tracks']:,} scored).")
if total > SHOWN:
    st.caption(
        f"The table shows the {SHOWN:,} with the highest probability of {labels[hit]} (click a "
        f"column to sort them); the download holds all {min(total, len(frame)):,}."
    )
st.dataframe(
    frame.head(SHOWN),
    hide_index=True,
    width="stretch",
    column_config={
        "hit_probability": st.column_config.ProgressColumn(
            f"P({labels[hit]})", min_value=0.0, max_value=1.0, format="%.3f"
        ),
        "release_year": st.column_config.NumberColumn("year", format="%d"),
    },
)
st.download_button(
    "Download these tracks (CSV)",
    lambda: frame.to_csv(index=False).encode("utf-8"),  # made when clicked
    file_name="track_predictions.csv",
    mime="text/csv",
)

left, right = st.columns(2)
with left:
    st.subheader(f"{labels[hit]} rate by release year")
    by_year = app_ui.read("hit_rate_by_year", tuple(years))
    long = by_year.melt(
        id_vars=["release_year", "scored_tracks"],
        value_vars=["predicted_hit_rate", "actual_hit_rate"],
        var_name="rate",
        value_name="share",
    )
    st.altair_chart(
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("release_year:Q", title="release year", axis=alt.Axis(format="d")),
            y=alt.Y("share:Q", title="share of tracks", axis=alt.Axis(format="%")),
            color=alt.Color("rate:N", title=None),
            tooltip=["release_year", "rate", alt.Tooltip("share:Q", format=".1%"), "scored_tracks"],
        )
        .interactive(),
        width="stretch",
    )
with right:
    st.subheader(f"{labels[hit]} rate by artist")
    by_artist = app_ui.read("hit_rate_by_artist", artist, 20)
    st.caption("The artists with the highest predicted rate (artists with enough scored tracks).")
    st.altair_chart(
        alt.Chart(by_artist)
        .mark_bar()
        .encode(
            y=alt.Y("primary_artist_name:N", sort="-x", title=None),
            x=alt.X("predicted_hit_rate:Q", title="predicted rate", axis=alt.Axis(format="%")),
            tooltip=[
                "primary_artist_name",
                "scored_tracks",
                alt.Tooltip("predicted_hit_rate:Q", format=".1%"),
                alt.Tooltip("actual_hit_rate:Q", format=".1%"),
            ],
        )
        .interactive(),
        width="stretch",
    )
