"""Score a track: the champion's class and probabilities for a track typed in or a CSV,
through the same path as `python -m python_ml predict` (the dbt project's rules and features)."""

import logging

import altair as alt
import app_ui
import pandas as pd
import streamlit as st

from python_ml.errors import UserError
from python_ml.reports import app_data, palette
from python_ml.reports.tables import percentage_text, percentages

log = logging.getLogger("app.score_track")

st.title("Score a track")
st.caption(
    "The values go through the dbt project's own validation rules and derived features, "
    "compiled once and run in memory (the same path as `python -m python_ml predict` and the "
    "HTTP service), then the champion. Every field is required; a new track needs no "
    "popularity or Spotify ids: the first artist is looked up by name among the warehouse's "
    "artists for the artist features (followers, genres). That look-up is this page's only: "
    "`predict` and the service read the artist from tracks.csv's `id_artists` (without it "
    "they impute the artist features, and the same values can get another class); the result "
    "below names the id to give them. A value the pipeline rejects is shown next to its "
    "field, and the track is not scored."
)
settings = app_ui.settings()
try:  # the data the champion learnt from, as the other pages say it
    app_ui.origin_banner(app_data.champion_run(settings)["data_origin"])
except app_data.WarehouseMissing:  # nothing scored yet: each result names its champion's data
    pass
except app_data.WarehouseBusy as exc:  # the form stays: a scoring says what it can do then
    st.warning(f"**The warehouse is busy.** {exc}", icon=":material/hourglass_top:")

# Units and meanings; the allowed values come from the dbt macro track_feature_ranges.
UNITS = {
    "duration_ms": "milliseconds",
    "key": "-1 = none",
    "mode": "0 = minor, 1 = major",
    "loudness": "dB",
    "tempo": "BPM",
}
RANGES = app_data.feature_ranges()
FIELD_HELP = {"release_date": "YYYY, YYYY-MM or YYYY-MM-DD"} | {
    name: "; ".join(filter(None, [UNITS.get(name), f"allowed: {allowed}"]))
    for name, allowed in RANGES.items()
}


def _failure(exc: Exception) -> str:
    """What the page says of a scoring that failed: a worded error (no champion, a busy
    warehouse, an unreadable file) as it is; anything else, a bug, by its type, with the
    stack trace in the app's log."""
    if isinstance(exc, UserError):
        return str(exc)
    log.error("the scoring failed", exc_info=exc)
    return f"The scoring failed ({type(exc).__name__}); see the app's log for the stack trace."


def _score_form() -> None:
    values = {name: st.session_state[f"track_{name}"] for name in app_data.TRACK_FIELDS}
    try:
        # The form has no artist ids: the artist features come from the artist's name.
        artist = app_data.find_artist(settings, values["artists"])
        if artist.artist_id is not None:
            values["id_artists"] = repr([artist.artist_id])
        st.session_state["track_artist"] = artist
        st.session_state["track_result"] = app_data.score_tracks(settings, pd.DataFrame([values]))
        st.session_state.pop("track_error", None)
    except Exception as exc:  # no champion, unreadable input: the message says what to do
        st.session_state["track_error"] = _failure(exc)
        st.session_state.pop("track_result", None)


result = st.session_state.get("track_result")
bad_fields = app_data.rejected_fields(result.iloc[0]) if result is not None else []

with st.form("track"):
    columns = st.columns(3)
    for i, (name, default) in enumerate(app_data.TRACK_FIELDS.items()):
        with columns[i % 3]:
            label = name.replace("_", " ") + " *"  # every field of the form is required
            key = f"track_{name}"
            if isinstance(default, str):
                st.text_input(label, value=default, key=key, help=FIELD_HELP.get(name))
            elif isinstance(default, int):
                st.number_input(label, value=default, step=1, key=key, help=FIELD_HELP.get(name))
            else:
                # As typed, to the digits given ("%.3f" showed 1.0004 as 1.000 beside the
                # message that 1.0004 is out of range).
                st.number_input(
                    label, value=default, format="%g", key=key, help=FIELD_HELP.get(name)
                )
            if name in bad_fields:
                row = result.iloc[0]
                st.error(
                    f"{row['rejection_reason']}: {app_data.field_detail(row, name)}",
                    icon=":material/block:",
                )
    st.form_submit_button("Score", type="primary", on_click=_score_form)

if "track_error" in st.session_state:
    st.error(st.session_state["track_error"])
elif result is not None:
    row = result.iloc[0]
    if row["status"] == "rejected":
        st.error(
            f"Not scored: the pipeline rejects this track ({row['rejection_reason']}"
            + (f": {row['rejection_detail']}" if pd.notna(row["rejection_detail"]) else "")
            + ")."
        )
    else:
        classes = app_ui.read("classes")
        labels = dict(zip(classes["class_name"], classes["class_label"], strict=True))
        names = [n for n in classes["class_name"] if f"prob_{n}" in result.columns]
        probabilities = {name: float(row[f"prob_{name}"]) for name in names}
        called = labels.get(row["predicted_class"], row["predicted_class"])
        st.success(f"Predicted class: **{called}**")
        artist = st.session_state.get("track_artist")
        if artist is not None and artist.artist_id is not None:
            followers = "unknown" if artist.followers is None else f"{artist.followers:,.0f}"
            genres = "unknown" if artist.genre_count is None else f"{artist.genre_count}"
            namesakes = (
                f" {artist.namesakes:,} artists have this name: the one with the most "
                "followers is used."
                if artist.namesakes > 1
                else ""
            )
            st.caption(
                f"Artist features from **{artist.name}** (artist id `{artist.artist_id}`: "
                f"{followers} followers, {genres} genres).{namesakes} To score the same with "
                f"`predict` or the service, give `id_artists` "
                f"`{[artist.artist_id]!r}`."
            )
        elif artist is not None:
            st.warning(
                f"No artist named **{artist.name or '(none)'}** among the warehouse's "
                f"{artist.artists:,} artists: the artist features (followers, genre count) are "
                "unknown and imputed, as for any track whose artist is unknown, so the artist "
                "field does not change this score."
            )
        year = str(st.session_state.get("track_release_date", ""))[:4]
        _, last_year = app_data.train_year_range(settings)
        if year.isdigit() and int(year) > last_year:
            st.warning(
                f"Released in {year}, after the training data's last release year "
                f"({last_year}): the model has seen no track this recent, so this score "
                "extrapolates."
            )
        # Written to add to 100% (rounded one by one, 3 classes can read 100.1%).
        values = list(probabilities.values())
        shown = [percentage_text(v, p) for v, p in zip(values, percentages(values), strict=True)]
        chart = pd.DataFrame(
            {
                "class": [labels[n] for n in names],
                "probability": values,
                "shown": shown,
                "colour": palette.class_colors(names),
            }
        )
        st.altair_chart(
            alt.Chart(chart)
            .mark_bar()
            .encode(
                y=alt.Y("class:N", sort=chart["class"].tolist(), title=None),
                x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
                color=alt.Color("colour:N", scale=None),
                tooltip=["class", alt.Tooltip("shown:N", title="probability")],
            )
            + alt.Chart(chart)
            .mark_text(align="left", dx=4)
            .encode(
                y=alt.Y("class:N", sort=chart["class"].tolist()),
                x="probability:Q",
                text="shown:N",
            ),
            width="stretch",
        )
        if isinstance(row.get("reasons"), str):
            # `over lukewarm: release year +0.25, speechiness -0.02`: each feature's push on
            # the called class's score over the runner-up's, told apart by its sign.
            listed = row["reasons"].rpartition(": ")[2]
            runner_up = row.get("runner_up_class")
            runner_up = runner_up if isinstance(runner_up, str) else None
            parts = listed.split(", ")
            toward = [p for p in parts if p.rsplit(" ", 1)[-1].startswith("+")]
            against = [p for p in parts if p not in toward]
            said = [
                f"{side}: {', '.join(p)}"
                for side, p in (("for", toward), ("against", against))
                if p
            ]
            rather = f" rather than {labels.get(runner_up, runner_up)}" if runner_up else ""
            st.markdown(
                f"**Why {called}{rather}**: {'; '.join(said)} (the features that moved the "
                f"called class's score ahead of the runner-up's most, or held it back; "
                f"{app_data.explanation_method(settings)})."
            )
            lead, baseline = row.get("explained_score"), row.get("explanation_baseline")
            if runner_up and pd.notna(lead) and pd.notna(baseline):
                other = labels.get(runner_up, runner_up)
                st.caption(app_data.lead_in_words(called, other, float(lead), float(baseline)))
        most_probable = max(probabilities, key=probabilities.get)
        st.markdown(
            app_data.decision_rule_sentence(
                app_data.decision_weights(settings),
                labels,
                **app_data.decision_rule_settings(settings),
                most_probable=None if most_probable == row["predicted_class"] else most_probable,
            )
        )
        st.caption(
            f"Champion run `{row['run_id']}`, registered version {row['model_version']}, "
            f"trained on {row['data_origin']} data."
        )

st.subheader("Or score a CSV")
st.caption(
    "Columns of Kaggle's tracks.csv (popularity, id and id_artists optional), read as "
    "`python -m python_ml predict --input` reads a file: every line comes back under its own "
    "number, scored or with the pipeline's reason."
)
upload = st.file_uploader("tracks CSV", type=["csv"])
if upload is not None:
    try:
        with st.spinner("Scoring through the dbt models' rules..."):
            scored = app_data.score_csv(settings, upload.getvalue(), upload.name)
    except Exception as exc:
        st.error(_failure(exc))
    else:
        for warning in scored.attrs.get("warnings", []):
            st.warning(warning)
        st.markdown(
            f"**{(scored['status'] == 'scored').sum():,}** scored, "
            f"**{(scored['status'] == 'rejected').sum():,}** rejected."
        )
        # The results first (the line, its status and class, the probabilities, why), then
        # the rest in predict's order (the upload's columns, the run); the download keeps
        # predict's order.
        first = ["line", "status", "predicted_class"]
        first += [c for c in scored.columns if c.startswith("prob_")]
        first += ["rejection_reason", "rejection_detail", "reasons"]
        shown = scored[[*first, *(c for c in scored.columns if c not in first)]]
        # The classes by their labels, as every page shows them (the class called, the runner-up
        # and the one the reasons name); the download keeps predict's class names.
        classes = app_ui.read("classes")
        labels = dict(zip(classes["class_name"], classes["class_label"], strict=True))
        st.dataframe(
            app_data.with_class_labels(shown, labels),
            hide_index=True,
            width="stretch",
            column_config={
                f"prob_{name}": st.column_config.NumberColumn(f"P({label})", format="%.3f")
                for name, label in labels.items()
            },
        )
        st.download_button(
            "Download the predictions (CSV)",
            scored.to_csv(index=False).encode("utf-8"),
            file_name="predictions.csv",
            mime="text/csv",
        )
