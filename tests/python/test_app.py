"""The analysts' app (app/): every page with streamlit.testing, then in a real browser."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import PROJECT_ROOT, main_job_env, query, run_lock_held_elsewhere
from streamlit.testing.v1 import AppTest

from python_ml.songs import TOP_DECILE_CALLS

APP = PROJECT_ROOT / "app"
SCREENSHOTS = PROJECT_ROOT / "reports" / "app_screenshots"


@pytest.fixture
def app_env(main_job_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in main_job_env(main_job_dir).items():
        monkeypatch.setenv(key, value)
    return main_job_dir


def page(name: str) -> AppTest:
    return AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=180)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    return "\n".join(parts)


def test_overview_shows_the_champion_its_figures_and_the_data_origin(app_env: Path) -> None:
    at = page("overview").run()
    assert not at.exception
    text = _texts(at)
    assert "generated" in text  # the data origin banner
    assert "**Champion:** `" in text
    # Why the champion, which need not be rank 1 (the rule prefers the simplest within noise).
    (rule,) = query(
        app_env / "warehouse.duckdb",
        "select selection_rule from marts.rpt_model_leaderboard where is_champion and is_current",
    )[0]
    assert rule and f"**Chosen because:** {rule}." in text
    assert any(m.label == "Holdout macro-F1" for m in at.metric)
    leaderboard = at.dataframe[0].value
    assert {"model", "val F1", "holdout F1", "new-artist F1", "fwd-time F1"} <= set(
        leaderboard.columns
    )
    champion = leaderboard["model"].str.endswith(" ★")
    assert champion.sum() == 1
    # Figures as text with three decimals, a figure not measured blank (never "None").
    assert leaderboard["val F1"].str.fullmatch(r"\d\.\d{3}").all()
    assert (leaderboard.loc[~champion, "holdout F1"] == "").all()
    assert (leaderboard.loc[champion, "holdout F1"] != "").all()
    per_class = at.dataframe[1].value
    assert list(per_class["class"]) == ["ice-cold", "lukewarm", "blazing-hot"]  # the seed's
    # Its counts are the true tracks of each class, as the report says (not the tracks called).
    assert "true tracks" in per_class.columns and "tracks" not in per_class.columns
    assert at.dataframe[2].value.to_numpy().sum() > 0  # confusion matrix counts
    drift = at.dataframe[3].value
    assert "predicted_class" in set(drift["feature"]) and set(drift["drift_status"]) == {"stable"}
    assert "What the champion relies on" in [h.value for h in at.subheader]
    assert "No feature has drifted." in text
    assert any("model card" in e.label for e in at.expander)


def test_predictions_filters_change_the_table(app_env: Path) -> None:
    from python_ml.reports import app_data

    at = page("predictions").run()
    assert not at.exception
    everything = at.dataframe[0].value
    # Unfiltered, every scored track (fewer than the page's limit here), each once.
    (scored,) = query(
        app_env / "warehouse.duckdb", "select count(*) from marts.fct_track_predictions"
    )
    assert len(everything) == scored[0] < app_data.PREDICTIONS_SHOWN
    assert everything.index.is_unique
    assert "tracks** match" in _texts(at)

    assert everything["reasons"].str.count(",").eq(2).all()  # three reasons per track
    # The runner-up in its own column (by its label), not repeated at the reasons' start.
    labels = {"ice-cold", "lukewarm", "blazing-hot"}
    assert set(everything["runner_up_class"]) <= labels
    assert (everything["runner_up_class"] != everything["predicted_class"]).all()
    assert not everything["reasons"].str.startswith("over ").any()
    caption = next(c.value for c in at.caption if "minus the runner-up's" in c.value)
    first = everything.iloc[0]
    assert f"the runner-up's ({first['runner_up_class']}," in caption
    # The contributions' units: how the champion's kind computes them (logits for the linear
    # model, raw scores for the trees, log probabilities otherwise).
    ((kind,),) = query(
        app_env / "warehouse.duckdb",
        "select model_type from marts.rpt_model_leaderboard where is_champion and is_current",
    )
    method = app_data.explanation_of(kind)
    assert method and f"Contributions, in the units of that score: {method}." in caption
    assert "Why did the model call a track what it did?" in [h.value for h in at.subheader]
    assert at.selectbox(key="explained_track").value == everything.index[0]

    at.multiselect(key="true").select("blazing_hot").run()
    hits = at.dataframe[0].value
    assert 0 < len(hits) < len(everything)
    assert set(hits["true_class"]) == {"blazing-hot"}  # the seed's label

    at.slider(key="min_hit").set_value(0.5).run()
    likely = at.dataframe[0].value
    assert len(likely) <= len(hits)
    assert (likely["hit_probability"] >= 0.5).all()

    artist = str(everything["artist_names"].iloc[0]).split(", ")[0]
    at.multiselect(key="true").unselect("blazing_hot")
    at.slider(key="min_hit").set_value(0.0)
    at.text_input(key="artist").input(artist).run()
    by_artist = at.dataframe[0].value
    assert len(by_artist) >= 1
    assert all(artist.lower() in names.lower() for names in by_artist["artist_names"])
    assert at.get("download_button")  # the CSV download is offered

    # No track matches: each chart says so; none is drawn empty (the hit rate by release year
    # was, its axis reading 0.000000%).
    at.text_input(key="artist").input("no artist is called this").run()
    assert not at.exception and "**0 tracks** match" in _texts(at)
    assert "No track matches the filters: no blazing-hot rate to draw." in _texts(at)
    assert not at.get("vega_lite_chart") and not at.get("arrow_vega_lite_chart")


def test_the_download_holds_every_track_that_matches(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page shows the likeliest hits only; its download (made when clicked) holds every
    track that matches, as the caption says: it held at most 100,000 while the caption said
    "all"."""
    import io

    import pandas as pd
    from streamlit.runtime.media_file_manager import MediaFileManager

    from python_ml.reports import app_data
    from python_ml.settings import load_settings

    made = []  # the download button's callable, as Streamlit keeps it for the click
    add_deferred = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):
        made.append(data_callable)
        return add_deferred(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    monkeypatch.setattr(app_data, "PREDICTIONS_SHOWN", 50)
    _, total = app_data.predictions(load_settings())
    assert total > 50
    at = page("predictions").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 50
    caption = next(c.value for c in at.caption if c.value.startswith("The table shows"))
    assert caption.startswith("The table shows the 50 with the highest probability of ")
    assert caption.endswith(f"the download holds all {total:,}.")
    csv = pd.read_csv(io.BytesIO(made[-1]()))
    assert len(csv) == total
    assert list(csv.columns) == app_data.PREDICTION_COLUMNS


def test_the_hit_rate_charts_follow_the_filters(app_env: Path) -> None:
    from python_ml.reports import app_data
    from python_ml.settings import load_settings

    settings = load_settings()
    frame, total = app_data.predictions(settings)
    artist = frame["artist_names"].iloc[0][0]
    everyone = ("", (1900, 2100), [], [], 0.0)
    one_artist = (artist, (1900, 2100), [], [], 0.0)
    by_year = app_data.hit_rate_by_year(settings, *everyone)
    assert by_year["scored_tracks"].sum() == total
    _, artist_total = app_data.predictions(settings, *one_artist)
    filtered = app_data.hit_rate_by_year(settings, *one_artist)
    assert filtered["scored_tracks"].sum() == artist_total < total
    # Actual beside predicted, from the same tracks: the true classes of the predict split.
    hits = (frame["true_class"] == "blazing_hot").sum()
    assert (by_year["actual_hit_rate"] * by_year["scored_tracks"]).sum() == pytest.approx(hits)
    by_artist = app_data.hit_rate_by_artist(settings, *everyone, min_tracks=1)
    assert {"predicted_hit_rate", "actual_hit_rate"} <= set(by_artist.columns)


def test_a_track_is_scored_and_a_bad_value_is_shown_at_its_field(app_env: Path) -> None:
    at = page("score_track").run()
    assert not at.exception
    at.button[0].click().run()  # the form as it opens is a valid track
    assert not at.exception and [e.value for e in at.error] == []
    assert "Predicted class: **" in at.success[0].value
    called = at.success[0].value.split("**")[1]
    assert called in {"ice-cold", "lukewarm", "blazing-hot"}  # the seed's labels
    # The champion's own rule: weighted, each class's weight by its label; or plain argmax.
    from python_ml.reports import app_data
    from python_ml.settings import load_settings

    weights = app_data.decision_weights(load_settings())
    rule = next(m.value for m in at.markdown if m.value.startswith("The class called is the "))
    if all(w == 1 for w in weights.values()):
        assert "(plain argmax: " in rule and "weighted" not in rule, rule
    else:
        assert "highest **weighted** probability" in rule and "ice-cold x1.00" in rule, rule
    why = next(m.value for m in at.markdown if m.value.startswith(f"**Why {called} rather than "))
    # Against the runner-up, the class the decision rule ranks next (by its label).
    runner_up = why.split(" rather than ", 1)[1].split("**: ")[0]
    assert runner_up in {"ice-cold", "lukewarm", "blazing-hot"} - {called}
    # Each feature on the side it pushes: `for: a +0.10; against: b -0.25, c -0.02`.
    sides = dict(
        part.split(": ", 1) for part in why.split(" (the features")[0].split("**: ")[1].split("; ")
    )
    assert sides and set(sides) <= {"for", "against"}
    for side, features in sides.items():
        signs = {f.rsplit(" ", 1)[1][0] for f in features.split(", ")}
        assert signs == ({"+"} if side == "for" else {"-"}), why
    # Where the lead comes from: the baseline and the features, adding up to it.
    lead = next(c.value for c in at.caption if c.value.startswith(f"{called}'s score "))
    assert f"{called}'s score led {runner_up}'s by " in lead or "trailed" in lead
    by = float(lead.split(" by ", 1)[1].split(" ", 1)[0])
    baseline = float(lead.split("(before calibration): ", 1)[1].split(" ", 1)[0])
    features = float(lead.split(" and ", 1)[1].split(" ", 1)[0])
    assert abs((baseline + features) - (by if "led" in lead else -by)) <= 0.011
    # The form's artist is not in the warehouse: said, not silently imputed.
    assert any("No artist named **Some Artist**" in w.value for w in at.warning)
    assert not any("extrapolates" in w.value for w in at.warning)  # 2021: a year it saw

    # A known artist: the artist features come from the warehouse's artist of that name.
    with duckdb.connect(str(app_env / "warehouse.duckdb"), read_only=True) as con:
        name, artist_id = con.execute(
            "select artist_name, arg_max(artist_id, followers) from "
            "intermediate.int_artists_validated where rejection_reason is null "
            "group by artist_name order by max(followers) desc limit 1"
        ).fetchone()
        last_year = con.execute("select max(release_year) from marts.fct_train_tracks").fetchone()
    at.text_input(key="track_artists").input(name.upper())  # any case
    at.text_input(key="track_release_date").input(f"{last_year[0] + 1}-01-01")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert any(
        f"Artist features from **{name}** (artist id `{artist_id}`" in c.value  # its own name
        for c in at.caption
    )
    assert not any("No artist named" in w.value for w in at.warning)
    assert any(f"Released in {last_year[0] + 1}, after" in w.value for w in at.warning)

    at.text_input(key="track_name").input("A new track")
    at.text_input(key="track_artists").input("['Someone']")
    at.text_input(key="track_release_date").input("2020-05-01")
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == []
    assert "Predicted class: **" in at.success[0].value

    at.number_input(key="track_danceability").set_value(50.0)
    at.button[0].click().run()
    errors = [e.value for e in at.error]
    # Shown next to its field, with the value and what is allowed.
    assert "feature out of range: danceability 50.0 (allowed: 0 to 1)" in errors
    assert any(e.startswith("Not scored") for e in errors)
    assert not at.success


def test_an_uploaded_csv_is_read_as_predict_reads_a_file(app_env: Path) -> None:
    """The score page's CSV upload goes through `predict`'s reading: a quote never closed on
    line 3 and a latin-1 byte on line 5 reject those lines alone; every line comes back under
    its own number; an error names the upload, not a scratch copy."""
    from python_ml.reports import app_data
    from python_ml.settings import load_settings
    from python_ml.tracks.predict import PredictInputError

    settings = load_settings()
    lines = (settings.raw_dir / "spotify_600k" / "tracks.csv").read_bytes().split(b"\n")[:8]
    lines[2] = b'"' + lines[2]
    first, rest = lines[4].split(b",", 1)
    lines[4] = first + b",Caf\xe9 " + rest
    result = app_data.score_csv(settings, b"\n".join(lines) + b"\n", "mine.csv")
    assert list(result["line"]) == list(range(2, 9))
    assert list(result.loc[result["status"] == "rejected", "line"]) == [3, 5]
    assert (result.loc[~result["line"].isin([3, 5]), "status"] == "scored").all()
    # Said above the table too, naming the upload.
    (said,) = result.attrs["warnings"]
    assert said.startswith("mine.csv: 2 of 7 rows do not parse as CSV; they are in the output")
    text = b"\n".join(lines[:2]).decode("utf-8")
    with pytest.raises(PredictInputError, match=r"^mine.csv is UTF-16 text"):
        app_data.score_csv(settings, text.encode("utf-16"), "mine.csv")
    # A second upload in the same process, after one with rejected lines, is read on its own
    # (DuckDB had appended the first's rejects to the second's: 8 rows for 3); a column that
    # is not a tracks.csv column is kept and named (as the upload) above the table.
    original = (settings.raw_dir / "spotify_600k" / "tracks.csv").read_bytes().split(b"\n")[:4]
    noted = [line + (b",my_notes" if i == 0 else b",n") for i, line in enumerate(original)]
    result = app_data.score_csv(settings, b"\n".join(noted) + b"\n", "mine.csv")
    assert result.attrs["warnings"] == [
        "mine.csv: 'my_notes' is not a tracks.csv column: kept in the output, not used in scoring"
    ]
    assert list(result["my_notes"]) == ["n"] * 3


def test_the_2023_songs_page_needs_no_tracks_champion(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracks file too small to train on (the real partial one) beside a finished songs
    study: the songs page said "No predictions to show yet" (every read waited for the tracks
    champion), though the study and its marts were there."""
    import shutil

    import duckdb

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(app_env / "warehouse.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.fct_track_predictions")
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(warehouse))
    at = page("songs_2023").run()
    assert not at.exception and not at.info, [i.value for i in at.info]
    assert "forecastable" in set(at.dataframe[0].value["feature set"])
    assert len(at.dataframe[2].value) > 0  # the out-of-fold predictions of the feature set
    overview = page("overview").run()  # the tracks' pages still say there is none
    assert any("No predictions to show yet" in i.value for i in overview.info)


def test_the_2023_songs_page_shows_the_study(app_env: Path) -> None:
    at = page("songs_2023").run()
    assert not at.exception
    regression, classification = at.dataframe[0].value, at.dataframe[1].value
    assert "forecastable" in set(regression["feature set"])
    assert {"r2", "r2 sd"} <= set(regression.columns)  # the mean and spread over fold seeds
    assert {"precision", "recall"} <= set(classification.columns)
    # The out-of-fold predictions of the feature set shown: every clean song once, the most
    # streamed first (the test said only that the table was not empty).
    assert at.selectbox[0].value == "forecastable"
    songs = at.dataframe[2].value
    (clean,) = query(app_env / "warehouse.duckdb", "select count(*) from marts.fct_songs_2023")
    assert len(songs) == clean[0] and not songs.duplicated().any()
    assert songs["actual_streams"].is_monotonic_decreasing
    # The cross-validation as the study ran it (its config), not "5-fold" written in the page.
    (kind,) = query(
        app_env / "warehouse.duckdb",
        "select distinct split_kind from ml.model_runs where task like 'songs%'",
    )
    assert any(f"Cross-validated ({kind[0]})" in c.value for c in at.caption)
    assert "split kind" not in regression.columns
    # Why the top-10% task calls more songs than there are (as the study's results file says).
    why = f"Why the called share can exceed 0.100: {TOP_DECILE_CALLS}."
    assert any(c.value == why for c in at.caption), [c.value for c in at.caption]
    # The RMSE's unit: the natural log of streams, and what each one means in streams.
    factors = ", ".join(
        f"{math.exp(r):.1f} ({name})"
        for name, r in zip(regression["feature set"], regression["rmse"], strict=True)
    )
    assert any(
        "natural log" in c.value and f"off by in streams, either way: {factors}." in c.value
        for c in at.caption
    ), [c.value for c in at.caption]
    headers = json.loads(at.dataframe[2].proto.columns)
    assert headers["actual_log_streams"]["label"] == "actual ln(streams + 1)"
    assert headers["predicted_log_streams"]["label"] == "predicted ln(streams + 1)"
    # How many of the file's rows the study had: the rows rejected were not said on the page.
    ((read, kept, rejected),) = query(
        app_env / "warehouse.duckdb",
        "select any_value(rows_read), any_value(rows_kept), any_value(rows_rejected) "
        "from marts.rpt_source_row_counts where source_table = 'spotify_2023.songs'",
    )
    said = f"On the {kept:,} songs kept of spotify-2023.csv's {read:,} rows: {rejected:,} rejected"
    assert any(c.value.startswith(said) for c in at.caption), [c.value for c in at.caption]
    assert len(at.dataframe[2].value) == kept  # every song kept, out of fold
    # Those predictions are one repeat's, said as the report's chart says it (the figures above
    # are the mean over the repeats).
    repeats = int(kind[0].split("x ", 1)[0])
    assert any(
        h.value
        == f"Predicted vs actual streams (forecastable, out of fold, the first of {repeats} "
        "repeats)"
        for h in at.subheader
    ), [h.value for h in at.subheader]


def test_a_missing_warehouse_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "nowhere.duckdb"))
    for name in ("overview", "predictions", "songs_2023"):
        at = page(name).run()
        assert not at.exception
        assert "There is no warehouse at" in at.info[0].value
        assert "make run" in at.info[0].value


def test_a_warehouse_without_prediction_marts_names_the_table_not_duckdbs_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real partial tracks file `make run` stops at training: the pages said "(Catalog
    Error: Table with name fct_track_predictions does not exist!)", DuckDB's text."""
    warehouse = tmp_path / "unscored.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(warehouse))
    # The songs page reads the study's runs first: it needs no tracks champion.
    for name, table in (
        ("overview", "fct_track_predictions"),
        ("predictions", "fct_track_predictions"),
        ("songs_2023", '"ml.model_runs"'),
    ):
        at = page(name).run()
        assert not at.exception
        said = at.info[0].value
        assert f"{table} is not built" in said, said
        assert "Catalog Error" not in said and "does not exist" not in said
        assert "make run" in said


def test_a_scoring_failure_is_shown_worded_or_by_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The score page shows a worded error as it is, and anything else (a bug's KeyError,
    which showed as "'run_id'" alone) by its type, its stack trace in the app's log."""
    from python_ml.reports import app_data
    from python_ml.tracking.champion_files import ChampionUnavailable

    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "nowhere.duckdb"))
    at = page("score_track").run()
    assert not at.exception
    worded = "There is no champion: train first (`python -m python_ml train`)."
    for error, shown in [
        (ChampionUnavailable(worded), worded),
        (KeyError("run_id"), "The scoring failed (KeyError); see the app's log for the stack"),
    ]:

        def fail(*args: object, error: Exception = error) -> None:
            raise error

        monkeypatch.setattr(app_data, "score_tracks", fail)
        caplog.clear()
        at.button[0].click().run()
        assert not at.exception
        assert [e.value.startswith(shown) for e in at.error] == [True], [e.value for e in at.error]
        logged = [r for r in caplog.records if r.name == "app.score_track"]
        if isinstance(error, KeyError):
            assert [r.exc_info[0] for r in logged] == [KeyError]
        else:
            assert logged == []


def test_a_champion_trained_on_other_data_is_not_shown_as_this_datas(
    main_job_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warehouse rebuilt on other data (here: one training track fewer) under marts still
    holding the champion's figures: the champion's pages say so and show none of them (they
    showed the figures and predictions of the data before, as the champion's of this data),
    as the report refuses to draw; the 2023 songs study is not the champion's and shows."""
    folder = tmp_path / "job"
    shutil.copytree(main_job_dir, folder)
    for key, value in main_job_env(folder).items():
        monkeypatch.setenv(key, value)
    assert page("overview").run().metric  # the champion's figures, before the data changed
    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        con.execute(
            "delete from marts.fct_train_tracks where track_id = "
            "(select min(track_id) from marts.fct_train_tracks)"
        )
    for name in ("overview", "predictions"):
        at = page(name).run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "was trained on other data than" in errors[0], errors
        assert "python -m python_ml train" in errors[0] and "not shown" in errors[0]
        assert not at.metric and not at.dataframe
    songs = page("songs_2023").run()
    assert not songs.exception and songs.dataframe and not songs.error


def _chart_data(chart) -> Any:
    """The rows an Altair chart of the page draws (streamlit.testing shows it as an unknown
    element: its data is Arrow)."""
    import pyarrow as pa

    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()


def test_generated_artist_features_are_marked_beside_the_users_tracks(
    main_job_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's real tracks.csv beside the generated artists.csv: the importance chart, the
    drift table and a track's contributions named artist_followers as the artist's own
    followers. Each artist feature is marked "(generated)" there, and said under the chart;
    with wholly generated data (the banner says it of the page) nothing is marked again."""
    from python_ml.tracks.feature_origin import ARTIST_FEATURES

    folder = tmp_path / "job"
    shutil.copytree(main_job_dir, folder)
    for key, value in main_job_env(folder).items():
        monkeypatch.setenv(key, value)

    def shown() -> tuple[list[str], list[str], list[str], str]:
        overview = page("overview").run()
        assert not overview.exception
        importance = _chart_data(overview.get("vega_lite_chart")[1])["shown"].tolist()
        drift = overview.dataframe[3].value["feature"].tolist()
        predictions = page("predictions").run()
        assert not predictions.exception
        contributions = _chart_data(predictions.get("vega_lite_chart")[-1])["shown"].tolist()
        return importance, drift, contributions, _texts(overview) + _texts(predictions)

    for names in shown()[:3]:
        assert set(ARTIST_FEATURES) <= set(names)  # wholly generated: said once, by the banner
    mixed = "artists.csv: generated, tracks.csv: user files"
    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        con.execute("update marts.fct_track_predictions set data_origin = ?", [mixed])
    *charts, text = shown()
    for names in charts:
        marked = {n.removesuffix(" (generated)") for n in names if n.endswith(" (generated)")}
        assert marked == set(ARTIST_FEATURES), names
        assert "danceability" in names and "release_year" in names
    note = "artist_followers, artist_genre_count (generated): the built-in generated artists.csv"
    assert text.count(note) == 2  # under the importance chart and the contributions
    assert "Part of the data is the built-in generated data" in text


def test_a_busy_warehouse_says_so(app_env: Path) -> None:
    from python_ml.warehouse.db import RunLock

    # Another process holds the run lock, as `make run` does while it writes.
    warehouse = app_env / "warehouse.duckdb"
    with run_lock_held_elsewhere(warehouse):
        assert RunLock.holder(warehouse) is not None
        at = page("predictions").run()
        assert not at.exception
        assert "busy" in at.warning[0].value
        assert not at.dataframe
    assert RunLock.holder(warehouse) is None
    assert page("predictions").run().dataframe  # back once the run has finished


def _scored_at(folder: Path):

    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select max(scored_at) from marts.fct_track_predictions").fetchone()[0]


def test_the_app_in_a_real_browser(main_job_dir: Path, tmp_path: Path) -> None:
    from browser import CHROMIUM, Browser, free_port, wait_for_http

    if CHROMIUM is None:
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
    # A copy: the main job runs again below, and other tests compare with the original.
    folder = tmp_path / "job"
    shutil.copytree(main_job_dir, folder, symlinks=True)
    port = free_port()
    env = {**os.environ, **main_job_env(folder)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("streamlit")),
            "run",
            str(APP / "streamlit_app.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", 90, server)
        with Browser() as browser:
            expected = {
                "": ["Leaderboard", "Champion", "generated", "Calibration"],  # the default page
                "overview": ["Leaderboard", "What the champion relies on", "Drift of the"],
                "predictions": ["tracks match", "Download these tracks", "Why did the model"],
                "score": ["Score a track", "danceability", "Or score a CSV"],
                "songs_2023": ["2023 songs", "forecastable", "Predicted vs actual"],
            }
            for url_path, texts in expected.items():
                text = browser.open(f"http://127.0.0.1:{port}/{url_path}", texts)
                assert "Traceback" not in text and "Page not found" not in text
                shot = browser.screenshot(SCREENSHOTS / f"{url_path or 'home'}.png")
                assert shot.stat().st_size > 20_000

            # A new scoring while the app is open (`score`, then the prediction marts, as the
            # main job writes them): both succeed, the page says the warehouse is busy
            # meanwhile, and shows the new scoring afterwards.
            before = _scored_at(folder)
            python = f'"{sys.executable}" -m python_ml'
            run = subprocess.Popen(
                ["sh", "-c", f"{python} score && {python} marts"],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            seen_busy = False
            while run.poll() is None:
                text = browser.open(f"http://127.0.0.1:{port}/predictions", ["Predictions"])
                seen_busy = seen_busy or "The warehouse is busy" in text
                time.sleep(1)
            assert run.returncode == 0, run.stderr.read()[-3000:]
            assert seen_busy
            after = _scored_at(folder)
            assert after > before
            text = browser.open(f"http://127.0.0.1:{port}/", ["Leaderboard"])
            assert f"scored {str(after)[:16]} UTC" in text
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_the_page_benchmark_runs_as_make_bench_runs_it(main_job_dir: Path) -> None:
    """`make bench` runs `python -m benchmarks.bench_app` as a process of its own, without
    pytest's import path: its views import app_ui, which it failed to find."""
    import json

    env = {**os.environ, **main_job_env(main_job_dir)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_app", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("APP_PAGES "))
    pages = json.loads(line.removeprefix("APP_PAGES "))
    assert set(pages) == {"overview", "predictions", "songs_2023", "score_track"}
    assert all(f["first"] > 0 and f["cached"] > 0 for f in pages.values())
