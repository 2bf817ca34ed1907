"""Predictions: look up tracks by artist, years, classes and hit probability."""

import altair as alt
import app_ui
import streamlit as st

from python_ml.reports import app_data
from python_ml.tracks.feature_origin import feature_label, generated_features_note
from python_ml.warehouse import catalog

st.title("Predictions")
champion = app_ui.read("champion_run")
app_ui.origin_banner(champion["data_origin"])
app_ui.stop_unless_champion_of_this_data()
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

filters = (artist, tuple(years), list(predicted), list(true), float(min_hit))
SHOWN = app_data.PREDICTIONS_SHOWN
frame, total = app_ui.read("predictions", *filters, SHOWN)
st.markdown(f"**{total:,} tracks** match (of {champion['scored_tracks']:,} scored).")
if total > SHOWN:
    st.caption(
        f"The table shows the {SHOWN:,} with the highest probability of {labels[hit]} (click a "
        f"column to sort them); the download holds all {total:,}."
    )


def _artists(names) -> list[str]:
    return [] if names is None else [str(n) for n in names]


shown = frame.head(SHOWN).assign(
    artist_names=lambda f: f["artist_names"].map(lambda a: ", ".join(_artists(a))),
    predicted_class=lambda f: f["predicted_class"].map(labels.get),
    runner_up_class=lambda f: f["runner_up_class"].map(lambda c: labels.get(c, c)),
    true_class=lambda f: f["true_class"].map(lambda c: labels.get(c, c)),
    # The runner-up has a column of its own here: the reasons without their `over ...: `.
    reasons=lambda f: f["reasons"].map(
        lambda r: r.split(": ", 1)[-1] if isinstance(r, str) and r.startswith("over ") else r
    ),
)
columns = {
    "track_name": st.column_config.TextColumn("track"),
    "artist_names": st.column_config.TextColumn("artists"),
    "release_year": st.column_config.NumberColumn("year", format="%d", width="small"),
    "predicted_class": st.column_config.TextColumn("called", width="small"),
    "runner_up_class": st.column_config.TextColumn(
        "rather than",
        width="small",
        help="The runner-up: the class the decision rule ranks next, which the reasons compare "
        "the class called with.",
    ),
    "hit_probability": st.column_config.ProgressColumn(
        f"P({labels[hit]})", min_value=0.0, max_value=1.0, format="%.3f"
    ),
    "true_class": st.column_config.TextColumn("true class", width="small"),
    "true_popularity": st.column_config.NumberColumn("popularity", format="%d", width="small"),
    "is_correct": st.column_config.CheckboxColumn("right?", width="small"),
    "reasons": st.column_config.TextColumn(
        "why (top contributions)",
        help=(
            "The features that moved the called class's score ahead of the runner-up's most "
            "(+ favoured the class called, - held it back)."
        ),
    ),
    "track_id": st.column_config.TextColumn("track id"),
    "run_id": st.column_config.TextColumn("run"),
    "data_origin": st.column_config.TextColumn("data origin", width="small"),
}
chosen = st.multiselect(
    "Columns",
    list(app_data.PREDICTION_COLUMNS),
    default=[
        c
        for c in app_data.PREDICTION_COLUMNS
        if c not in ("true_popularity", "track_id", "run_id", "data_origin")
    ],
    format_func=lambda c: columns[c]["label"],
    key="columns",
    help="The download always holds every column.",
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_order=[c for c in app_data.PREDICTION_COLUMNS if c in chosen],
    column_config=columns,
)
settings = app_ui.settings()


def _every_match() -> bytes:
    """Every track that matches as CSV, made when the button is clicked: the page read only the
    tracks it shows."""
    every = frame if len(frame) == total else app_data.predictions(settings, *filters, None)[0]
    return every.to_csv(index=False).encode("utf-8")


st.download_button(
    "Download these tracks (CSV)",
    _every_match,
    file_name="track_predictions.csv",
    mime="text/csv",
)

left, right = st.columns(2)
truth = (
    "called: the share the decision rule calls a hit (tuned to find hits, not to match their "
    "share); expected: the mean calibrated probability, the estimate of how many hits there "
    "are; actual: the predict split's true classes"
)
RATE_NAMES = {
    "predicted_hit_rate": "called",
    "expected_hit_rate": "expected",
    "actual_hit_rate": "actual",
}


def _rates_long(rates, by: str):
    """One row per ``by`` value and rate (``share``, named as RATE_NAMES says), with its
    scored tracks: the long form the rate charts draw."""
    return rates.melt(
        id_vars=[by, "scored_tracks"],
        value_vars=list(RATE_NAMES),
        var_name="rate",
        value_name="share",
    ).replace({"rate": RATE_NAMES})


with left:
    st.subheader(f"{labels[hit]} rate by release year")
    st.caption(f"Of the tracks that match the filters above; {truth}.")
    by_year = app_ui.read("hit_rate_by_year", *filters)
    if by_year.empty:  # an empty chart read as rates of 0%
        st.info(f"No track matches the filters: no {labels[hit]} rate to draw.")
    else:
        long = _rates_long(by_year, "release_year")
        st.altair_chart(
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("release_year:Q", title="release year", axis=alt.Axis(format="d")),
                y=alt.Y("share:Q", title="share of tracks", axis=alt.Axis(format="%")),
                color=alt.Color("rate:N", title=None, sort=list(RATE_NAMES.values())),
                tooltip=[
                    alt.Tooltip("release_year:Q", title="year", format="d"),
                    "rate",
                    alt.Tooltip("share:Q", format=".1%"),
                    alt.Tooltip("scored_tracks:Q", title="tracks", format=","),
                ],
            )
            .interactive(),
            width="stretch",
        )
with right:
    st.subheader(f"{labels[hit]} rate by artist")
    by_artist = app_ui.read("hit_rate_by_artist", *filters)
    st.caption(
        "First-listed artists of the matching tracks with the highest called rate (artists "
        f"with at least {catalog.dbt_var('min_artist_tracks')} matching tracks, one or more of "
        f"them called {labels[hit]}); {truth}."
    )
    if by_artist.empty:
        st.info(
            f"No artist has enough matching tracks with one called {labels[hit]}: widen the "
            "filters."
        )
    else:
        long = _rates_long(by_artist, "primary_artist_name")
        order = by_artist["primary_artist_name"].tolist()
        st.altair_chart(
            alt.Chart(long)
            .mark_bar()
            .encode(
                y=alt.Y(
                    "primary_artist_name:N",
                    sort=order,
                    title=None,
                    axis=alt.Axis(labelLimit=260),  # whole names, not "Orquesta Weeken..."
                ),
                yOffset=alt.YOffset("rate:N", sort=list(RATE_NAMES.values())),
                x=alt.X("share:Q", title="share of the artist's tracks", axis=alt.Axis(format="%")),
                color=alt.Color("rate:N", title=None, sort=list(RATE_NAMES.values())),
                tooltip=[
                    alt.Tooltip("primary_artist_name:N", title="artist"),
                    "rate",
                    alt.Tooltip("share:Q", format=".1%"),
                    alt.Tooltip("scored_tracks:Q", title="tracks", format=","),
                ],
            ),
            width="stretch",
        )

st.subheader("Why did the model call a track what it did?")
if frame.empty:
    st.info("No track matches the filters.")
else:
    options = frame.head(SHOWN)
    choice = st.selectbox(
        "Track",
        options.index,
        format_func=lambda i: (
            f"{options.at[i, 'track_name']} ({', '.join(_artists(options.at[i, 'artist_names']))}, "
            f"{options.at[i, 'release_year']}): called {labels[options.at[i, 'predicted_class']]}"
        ),
        key="explained_track",
    )
    explanation = app_ui.read("track_explanation", str(options.at[choice, "track_id"]))
    if explanation.empty:
        st.info("This run wrote no explanation for the track.")
    else:
        called = labels[options.at[choice, "predicted_class"]]
        method = app_data.explanation_of(champion.get("model_type"))  # and so the units
        # The runner-up the contributions compare with.
        over = options.at[choice, "runner_up_class"]
        runner_up = labels.get(over, over) if isinstance(over, str) else "the runner-up"
        st.caption(
            f"Each feature's contribution to the score of the class called ({called}) minus "
            f"the runner-up's ({runner_up}, the class the decision rule ranks next): positive "
            f"favoured {called}, negative held it back. Baseline "
            f"{explanation['explanation_baseline'].iloc[0]:+.2f} plus the contributions = "
            f"{explanation['explained_score'].iloc[0]:+.2f}, how far {called}'s score led "
            f"{runner_up}'s before calibration."
            + (f" Contributions, in the units of that score: {method}." if method else "")
            + (
                f" Here {called}'s score was behind: the decision rule's weights, which call a "
                "rarer class when it is likely enough, not only when most likely, called it."
                if explanation["explained_score"].iloc[0] < 0
                else ""
            )
        )
        # A feature whose values are generated beside the user's real tracks is marked (the
        # artist features of a generated artists.csv).
        origin = str(champion["data_origin"] or "")
        explanation = explanation.assign(
            direction=explanation["contribution"].ge(0),
            shown=[feature_label(f, origin) for f in explanation["feature"]],
        )
        st.altair_chart(
            alt.Chart(explanation)
            .mark_bar()
            .encode(
                y=alt.Y(
                    "shown:N",
                    sort=explanation["shown"].tolist(),
                    title=None,
                    axis=alt.Axis(labelLimit=260),
                ),
                x=alt.X("contribution:Q", title=f"contribution to {called}'s lead"),
                color=alt.Color(
                    "direction:N",
                    scale=alt.Scale(domain=[True, False], range=["#2f7d32", "#c62828"]),
                    legend=None,
                ),
                tooltip=[
                    alt.Tooltip("shown:N", title="feature"),
                    alt.Tooltip("feature_value:Q", title="the track's value", format=",.3f"),
                    alt.Tooltip("contribution:Q", format="+.3f"),
                ],
            ),
            width="stretch",
        )
        note = generated_features_note(explanation["feature"], origin)
        if note:
            st.caption(note)
