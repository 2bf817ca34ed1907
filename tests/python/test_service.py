"""`python -m python_ml serve`: the scoring service started as a user starts it, on 127.0.0.1,
spoken to over real HTTP. It scores exactly as `predict --input` does (the same fast path
through the dbt project's rules), refuses bad requests with one JSON line, and picks up a new
champion without a restart."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from browser import free_port, wait_for_http
from conftest import PROJECT_ROOT, run_lock_held_elsewhere
from test_ml import small_config

from python_ml.raw.schemas import TRACK_COLUMNS
from python_ml.settings import Settings
from python_ml.tracking.registry import warehouse_champion
from python_ml.tracks import predict, train
from python_ml.tracks.feature_path import NO_ARTIST_IDS, UNKNOWN_ARTIST

MAX_TRACKS = 1_000
MAX_BYTES = 2_000_000


def _settings_with_a_copy(
    warehouse: Path, folder: Path, raw_dir: Path, mlflow_dir: Path | None = None
) -> Settings:
    """Settings over a copy of ``warehouse`` in ``folder`` (its MLflow folder there too, unless
    given: a service's own, read from)."""
    shutil.copy(warehouse, folder / "warehouse.duckdb")
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=raw_dir,
        warehouse=folder / "warehouse.duckdb",
        mlflow_dir=mlflow_dir or folder / "mlflow",
        reports_dir=folder / "reports",
    )


class Service:
    def __init__(self, url: str, settings: Settings, process: subprocess.Popen) -> None:
        self.url, self.settings, self.process = url, settings, process

    def call(
        self,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        method: str | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"content-type": content_type},
            method=method or ("GET" if data is None else "POST"),
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@contextlib.contextmanager
def running_service(
    settings: Settings, folder: Path, ready: str = "/health", **limits: str
) -> Iterator[Service]:
    """The service over ``settings``' warehouse on a free port (its log in ``folder``), until
    the block ends; ``ready``: the path that answers 200 once it is up."""
    port = free_port()
    env = {
        **os.environ,
        "MUSIC_RAW_DIR": str(settings.raw_dir),
        "MUSIC_WAREHOUSE": str(settings.warehouse),
        "MUSIC_MLFLOW_DIR": str(settings.mlflow_dir),
        **limits,
    }
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "python_ml", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    service = Service(f"http://127.0.0.1:{port}", settings, process)
    try:
        try:
            wait_for_http(f"{service.url}{ready}", seconds=180, process=process)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}: {(folder / 'serve.log').read_text()[-3000:]}") from None
        yield service
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def service(
    built_warehouse: Path, small_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    settings = _settings_with_a_copy(built_warehouse, folder, small_raw_dir)
    train.train_tracks(settings, small_config())
    with running_service(
        settings,
        folder,
        MUSIC_SERVE_MAX_TRACKS=str(MAX_TRACKS),
        MUSIC_SERVE_MAX_BYTES=str(MAX_BYTES),
    ) as running:
        yield running


def _tracks(small_raw_dir: Path, n: int) -> pd.DataFrame:
    """``n`` tracks as a user would send them: no popularity, text values, some spoiled."""
    frame = pd.read_csv(
        small_raw_dir / "spotify_600k" / "tracks.csv", dtype=str, keep_default_na=False, nrows=n
    ).drop(columns="popularity")
    frame.loc[3, "danceability"] = "50"
    frame.loc[5, "release_date"] = "20"
    frame.loc[7, "energy"] = "loud"
    frame.loc[9, "tempo"] = ""
    return frame


def test_health_and_model_name_the_champion(service: Service) -> None:
    champion = warehouse_champion(service.settings)
    status, health = service.call("/health")
    assert status == 200 and health["status"] == "ok"
    assert health["run_id"] == champion["run_id"]
    status, model = service.call("/model")
    assert status == 200
    assert model["run_id"] == champion["run_id"]
    assert model["registered_version"] == champion["version"]
    assert model["name"] == champion["label"]
    assert model["data_fingerprint"] == champion["fingerprint"]
    assert (
        set(model["decision_rule_weights"])
        == set(model["classes"])
        == {
            "ice_cold",
            "lukewarm",
            "blazing_hot",
        }
    )
    assert set(model["holdout"]) == {"accuracy", "macro_f1", "log_loss", "ece"}
    assert model["trained_at"].endswith("Z") and model["data_origin"]


def test_the_openapi_page_works_offline_with_an_example(service: Service) -> None:
    with urllib.request.urlopen(service.url + "/docs", timeout=30) as page:
        html = page.read().decode()
    assert "/docs-static/swagger-ui-bundle.js" in html and "cdn." not in html
    with urllib.request.urlopen(service.url + "/docs-static/swagger-ui-bundle.js") as script:
        assert script.status == 200 and len(script.read()) > 100_000
    status, spec = service.call("/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.0")
    assert "A new song" in json.dumps(spec["paths"]["/predict"])  # the example request
    # The classes as the warehouse's seed table defines them (renamed there, renamed here).
    with duckdb.connect(str(service.settings.warehouse), read_only=True) as con:
        seed = con.execute(
            "select class_label, min_popularity, max_popularity "
            "from reference.popularity_classes order by class_index"
        ).fetchall()
    described = spec["info"]["description"]
    listed = ", ".join(f"{label} ({low}-{high})" for label, low, high in seed)
    assert len(seed) == 3 and f"Classes (by popularity): {listed}." in described
    # What it answers, as it answers it: a 200 of the service's shape, and its own one-line
    # errors (FastAPI's default said 422 was {"detail": [...]}, and a track "any object").
    answers = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "413", "422", "503"} <= set(answers)
    for path in ("/health", "/model"):  # their 503 (not scoring) was not listed
        assert "503" in spec["paths"][path]["get"]["responses"], path
    assert "head" not in spec["paths"]["/health"]  # answered, not listed twice
    schemas = spec["components"]["schemas"]
    assert answers["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PredictResponse"
    )
    entry = schemas["Prediction"]["properties"]
    assert {"runner_up_class", "explanation_baseline", "explained_score", "reasons"} <= set(entry)
    track = schemas["PredictRequest"]["properties"]["tracks"]["items"]
    assert set(track["properties"]) == set(TRACK_COLUMNS)
    assert not {"popularity", "id", "id_artists"} & set(track["required"])
    assert "danceability" in track["required"]
    # Each column as the dbt source describes it, whole (it was cut at its first comma).
    assert track["properties"]["mode"]["description"] == "1 major, 0 minor."


def test_a_thousand_tracks_score_as_predict_does(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    frame = _tracks(small_raw_dir, 1_000)
    source = tmp_path / "new.csv"
    frame.to_csv(source, index=False)
    predict.predict_csv(service.settings, source, tmp_path / "out.csv")
    batch = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    status, body = service.call("/predict", {"tracks": frame.to_dict("records")})
    assert status == 200, body
    entries = body["predictions"]
    assert body["run_id"] == warehouse_champion(service.settings)["run_id"]
    assert len(entries) == len(batch) == 1_000
    assert [e["id"] for e in entries] == list(batch["id"])  # in input order
    assert [e["status"] for e in entries] == list(batch["status"])
    assert [e["rejection_reason"] for e in entries] == [
        r if isinstance(r, str) else None for r in batch["rejection_reason"]
    ]
    assert {e["rejection_reason"] for e in entries} >= {
        "feature out of range",
        "unparseable release date",
        "unparseable number",
        "missing feature",
    }
    scored = batch["status"] == "scored"
    assert scored.sum() > 900
    assert [e["predicted_class"] for e in entries if e["status"] == "scored"] == list(
        batch.loc[scored, "predicted_class"]
    )
    for entry, (_, row) in zip(entries, batch.iterrows(), strict=True):
        if entry["status"] == "scored":
            for name, p in entry["class_probabilities"].items():
                assert abs(p - row[f"prob_{name}"]) <= 1e-9
            # Rounded to 6 places, and adding to 1 at that precision (rounded_shares).
            assert abs(sum(entry["class_probabilities"].values()) - 1) < 1e-12
        else:
            assert entry["class_probabilities"] is None and entry["predicted_class"] is None
    # The reasons: rounded to three decimals in the answer, and predict's words name the same
    # features with the same contributions (within the two roundings' 0.0055). That the words
    # round each contribution once, from its value as computed, is test_explain's.
    said = batch.loc[scored, "reasons"].tolist()
    given = [e["reasons"] for e in entries if e["status"] == "scored"]
    assert len(said) == len(given)
    for words, reasons in zip(said, given, strict=True):
        assert reasons and all(r["contribution"] == round(r["contribution"], 3) for r in reasons)
        numbers = [float(n) for n in re.findall(r" ([+-][0-9]+[.][0-9]{2})(?:,|$)", words)]
        assert len(numbers) == len(reasons), words
        for number, reason in zip(numbers, reasons, strict=True):
            assert abs(number - reason["contribution"]) <= 0.0055


def test_a_repeated_id_names_the_track_kept_and_popularity_is_not_checked(
    service: Service, small_raw_dir: Path
) -> None:
    """New tracks have no popularity yet: whatever is sent there is not checked (as for
    predict); a repeated id is rejected naming the track kept for it."""
    first, other = (t.to_dict() for _, t in _tracks(small_raw_dir, 20).iloc[:2].iterrows())
    repeated = {**other, "id": f" {first['id']} "}  # the same id, padded
    status, body = service.call(
        "/predict",
        {"tracks": [{**first, "popularity": "abc"}, {**other, "popularity": "61.5"}, repeated]},
    )
    assert status == 200
    one, two, three = body["predictions"]
    assert one["status"] == two["status"] == "scored"
    assert three["rejection_reason"] == "duplicate id"
    assert three["rejection_detail"] == f"{first['id']} (the same id as tracks[0])"
    # Nothing of the scored track with its id is given to the rejected one.
    assert three["predicted_class"] is three["class_probabilities"] is None
    assert three["reasons"] == [] and three["runner_up_class"] is None
    assert three["explanation_baseline"] is three["explained_score"] is None
    assert one["reasons"] and one["class_probabilities"]


def test_whole_numbers_sent_as_json_floats_score_as_the_integers(
    service: Service, small_raw_dir: Path
) -> None:
    """Python's json and pandas send whole numbers as 5.0: the same track, the same answer; a
    fraction that is not zero is still refused, naming its field."""
    track = _tracks(small_raw_dir, 20).iloc[0].to_dict()
    integers = ("duration_ms", "explicit", "key", "mode", "time_signature")
    floats = {**track, **{name: float(track[name]) for name in integers}}
    _, as_text = service.call("/predict", {"tracks": [track]})
    _, as_floats = service.call("/predict", {"tracks": [floats]})
    assert as_floats["predictions"][0]["status"] == "scored"
    assert as_floats["predictions"] == as_text["predictions"]
    _, half = service.call("/predict", {"tracks": [{**floats, "key": 5.5}]})
    assert half["predictions"][0]["rejection_reason"] == "unparseable number"
    detail = half["predictions"][0]["rejection_detail"]
    assert detail == "key 5.5 (not a whole number written in digits)"
    # JSON's true/false: 1/0 in the flag columns, not a number elsewhere (it scored as 1.0).
    _, flags = service.call(
        "/predict", {"tracks": [{**floats, "explicit": track["explicit"] == "1"}]}
    )
    assert flags["predictions"] == as_text["predictions"]
    _, true = service.call("/predict", {"tracks": [{**floats, "danceability": True}]})
    assert true["predictions"][0]["rejection_reason"] == "unparseable number"
    assert true["predictions"][0]["rejection_detail"].startswith("danceability true")
    # NaN and a number too large for a float, as predict says the same text in a CSV (NaN
    # was read as a missing value; 1e400 was shown as "inf").
    raw = json.dumps({"tracks": [{**floats, "danceability": "@"}]}).replace('"@"', "NaN")
    _, nan = service.call("/predict", raw=raw.encode())
    assert nan["predictions"][0]["rejection_reason"] == "unparseable number"
    assert nan["predictions"][0]["rejection_detail"] == "danceability NaN (not a finite number)"
    _, huge = service.call("/predict", raw=raw.replace("NaN", "1e400").encode())
    assert huge["predictions"][0]["rejection_detail"] == "danceability 1e400 (not a finite number)"


def test_a_new_track_needs_no_popularity_or_ids(service: Service, small_raw_dir: Path) -> None:
    track = _tracks(small_raw_dir, 20).iloc[0].to_dict()
    del track["id"], track["id_artists"]
    status, body = service.call("/predict", {"tracks": [track, track]})
    assert status == 200
    first, second = body["predictions"]
    assert first["status"] == "scored" and len(first["id"]) == 22
    assert second["id"] == first["id"]  # the id is made from the content: the same track
    assert second["rejection_reason"] == "duplicate id"
    assert second["rejection_detail"] == (
        "the same values as tracks[0] (no id given: the id is made from the values)"
    )
    # Scored without its artist, and told so (of the scored track: the duplicate is rejected).
    assert body["warnings"] == [f"tracks[0]: no id_artists: {NO_ARTIST_IDS}"]
    # A release after the training data's last year: scored, and said to extrapolate.
    status, body = service.call("/predict", {"tracks": [{**track, "release_date": "2027-01-01"}]})
    assert status == 200 and body["predictions"][0]["status"] == "scored", body
    assert any(
        w.startswith("tracks[0]: released in 2027, after the training data's last release year")
        for w in body["warnings"]
    ), body["warnings"]


def test_tracks_scored_without_a_known_artist_are_named(
    service: Service, small_raw_dir: Path
) -> None:
    """The artist features come from the track's first artist: a track whose artist ids are
    empty, or name an artist the warehouse does not hold, is scored with them imputed, and the
    answer says which (apart: one needs the ids, the other is a new artist)."""
    first, second, third, fourth = _tracks(small_raw_dir, 20).iloc[10:14].to_dict("records")
    status, body = service.call(
        "/predict",
        {
            "tracks": [
                first,
                {**second, "id_artists": "[]"},
                {**third, "id_artists": "['0000000000000000000000']"},
                {**fourth, "id_artists": ["0000000000000000000001"]},
            ]
        },
    )
    assert status == 200, body
    assert [p["status"] for p in body["predictions"]] == ["scored"] * 4
    assert body["warnings"] == [
        f"tracks[1]: no id_artists: {NO_ARTIST_IDS}",
        f"tracks[2] (and 1 more): {UNKNOWN_ARTIST}",
    ]
    # The artist matters to the scores: the known artist's track scores differently unknown.
    _, alone = service.call("/predict", {"tracks": [first]})
    _, unknown = service.call(
        "/predict", {"tracks": [{**first, "id_artists": "['0000000000000000000000']"}]}
    )
    assert alone["warnings"] == []
    assert (
        alone["predictions"][0]["class_probabilities"]
        != unknown["predictions"][0]["class_probabilities"]
    )


def test_reasons_say_which_features_are_generated_beside_the_users_tracks(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    """A champion trained on the user's real tracks.csv beside the generated artists.csv: the
    service's and predict's reasons named artist_followers as if the artist had those
    followers. Each reason now says whether its feature's values are generated (the service:
    ``generated``; predict: "artist followers (generated)"); /model lists them."""
    from python_ml.tracks.feature_origin import ARTIST_FEATURES

    mixed = "artists.csv: generated, tracks.csv: user files"
    champion = warehouse_champion(service.settings)["run_id"]
    path = str(service.settings.warehouse)
    frame = _tracks(small_raw_dir, 300).iloc[10:]
    records = frame.to_dict("records")
    # Wholly generated: every value is generated, as the answer's data_origin says.
    status, body = service.call("/predict", {"tracks": records})
    assert status == 200 and body["data_origin"] == "generated"
    reasons = [r for p in body["predictions"] for r in p["reasons"]]
    assert reasons and all(r["generated"] for r in reasons)
    with duckdb.connect(path) as con:
        con.execute("update ml.model_runs set data_origin = ? where run_id = ?", [mixed, champion])
    try:
        assert service.call("/reload", {})[1] == {"run_id": champion, "changed": False}
        status, model = service.call("/model")
        assert model["data_origin"] == mixed
        assert model["generated_features"] == [f for f in model["features"] if f in ARTIST_FEATURES]
        status, body = service.call("/predict", {"tracks": records})
        assert status == 200 and body["data_origin"] == mixed
        reasons = [r for p in body["predictions"] for r in p["reasons"]]
        named = {r["feature"] for r in reasons}
        assert named & set(ARTIST_FEATURES) and named - set(ARTIST_FEATURES)
        assert all(r["generated"] == (r["feature"] in ARTIST_FEATURES) for r in reasons)
        # predict's output: the same reasons in words, the generated feature marked.
        source = tmp_path / "new.csv"
        frame.to_csv(source, index=False)
        predict.predict_csv(service.settings, source, tmp_path / "out.csv")
        out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
        assert set(out["data_origin"]) == {mixed}
        said = " ".join(out["reasons"])
        assert "artist followers (generated) " in said or "artist genre count (generated) " in said
        for reason in out.loc[out["status"] == "scored", "reasons"]:
            for part in reason.split(": ", 1)[-1].split(", "):
                artist = part.startswith(("artist followers", "artist genre count"))
                assert ("(generated)" in part) == artist, reason
    finally:
        with duckdb.connect(path) as con:
            con.execute(
                "update ml.model_runs set data_origin = 'generated' where run_id = ?", [champion]
            )
        service.call("/reload", {})
    assert service.call("/model")[1]["data_origin"] == "generated"


def test_keys_that_are_not_tracks_columns_are_named_in_warnings(
    service: Service, small_raw_dir: Path
) -> None:
    """A key that is not a tracks.csv column is not scored: a misspelt `id_artists` would leave
    the artist features imputed, so the answer says so (and suggests the column)."""
    first, second = _tracks(small_raw_dir, 20).iloc[:2].to_dict("records")
    misspelt = {k: v for k, v in first.items() if k != "id_artists"}
    misspelt["id_artist"] = first["id_artists"]
    noted = {**second, "my_note": "x"}
    status, body = service.call("/predict", {"tracks": [misspelt, noted, {**noted, "id": "b2"}]})
    assert status == 200, body
    assert [p["status"] for p in body["predictions"]] == ["scored"] * 3
    assert body["warnings"] == [
        "tracks[0]: key 'id_artist' (did you mean 'id_artists'?) is not a tracks.csv column; "
        "not used in scoring",
        "tracks[1] (and 1 more): key 'my_note' is not a tracks.csv column; not used in scoring",
        f"tracks[0]: no id_artists: {NO_ARTIST_IDS}",
    ]
    _, plain = service.call("/predict", {"tracks": [second]})
    assert plain["warnings"] == []


def test_concurrent_requests_each_get_the_answer_they_get_alone(
    service: Service, small_raw_dir: Path
) -> None:
    """The service scores the requests that wait together (one batch): 24 clients at once, each
    answered exactly as when it was alone, a rejected track included, and two clients sending the
    same track both scored (never in one batch, where one would be a duplicate)."""
    from concurrent.futures import ThreadPoolExecutor

    tracks = _tracks(small_raw_dir, 60).to_dict("records")
    requests = [[t] for t in tracks[:20]] + [tracks[20:23], [tracks[0]], [tracks[0]]]
    requests.append([{**tracks[30], "danceability": 7}])  # out of range: rejected
    alone = [service.call("/predict", {"tracks": r}) for r in requests]
    with ThreadPoolExecutor(len(requests)) as pool:
        together = list(pool.map(lambda r: service.call("/predict", {"tracks": r}), requests))
    assert together == alone
    assert all(status == 200 for status, _ in together)
    assert [e["status"] for e in together[-2][1]["predictions"]] == ["scored"]
    assert together[-1][1]["predictions"][0]["rejection_reason"] == "feature out of range"


@pytest.mark.parametrize(
    ("body", "raw", "status", "message"),
    [
        (
            {"tracks": [{"name": "x"}]},
            None,
            422,
            "tracks[0] lacks the columns duration_ms, explicit, artists",
        ),
        (
            {"tracks": [{**{c: "1" for c in TRACK_COLUMNS if c != "energy"}, "enrgy": "0.5"}]},
            None,
            422,
            "tracks[0] lacks the column energy ('enrgy' for 'energy'?) (popularity, id",
        ),
        ({"songs": []}, None, 422, "unknown key 'songs'"),
        ({}, None, 422, "missing key 'tracks'"),
        (
            None,
            b"not json",
            422,
            'the body is not JSON (Expecting value at character 0): send JSON of the form {"',
        ),
        (  # where the reader stopped: a trailing comma
            None,
            b'{"tracks": [{"name": "a",}]}',
            422,
            "the body is not JSON (Expecting property name enclosed in double quotes at "
            "character 25): send JSON",
        ),
        ({"tracks": [{}] * (MAX_TRACKS + 1)}, None, 413, "over the limit of 1,000"),
        ({"tracks": [{"name": "x" * 5_000}] * 500}, None, 413, "bytes, over the limit"),
        ({"tracks": {"name": "x"}}, None, 422, 'tracks is not a list: the body is {"tracks"'),
        ({"tracks": [["x"]]}, None, 422, "tracks[0] is not an object: each track is"),
        (  # was scored, and answered with the id "['a', 'b']" it was never sent
            {
                "tracks": [
                    {c: "1" for c in TRACK_COLUMNS},
                    {**dict.fromkeys(TRACK_COLUMNS, "1"), "id": ["a", "b"]},
                ]
            },
            None,
            422,
            "tracks[1].id is a list: send a track's id as text, or leave it out (one is made",
        ),
        (
            {"tracks": [{**{c: "1" for c in TRACK_COLUMNS}, "id": {"spotify": "abc"}}]},
            None,
            422,
            "tracks[0].id is an object: send a track's id as text",
        ),
        (  # JSON's last-one-wins would score 0.9 without a word
            None,
            b'{"tracks": [{"name": "a"}, {"energy": 0.1, "name": "b", "energy": 0.9}]}',
            422,
            "tracks[1] gives the key 'energy' twice: send each key once",
        ),
        (None, b'{"tracks": [], "tracks": []}', 422, "the body gives the key 'tracks' twice"),
        (  # JSON, though Python reads no integer this long: it was "could not be read" (400)
            None,
            b'{"tracks": [{"tempo": ' + b"1" * 4_301 + b"}]}",
            422,
            "the body holds an integer of more than 4,300 digits: send each value as an",
        ),
        (  # JSON nested past Python's reader: it was "send UTF-8 JSON" (a 400)
            None,
            b'{"tracks": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
            422,
            "the body nests lists or objects thousands of levels deep: send JSON of the form",
        ),
        (
            None,
            json.dumps(
                {"tracks": [{**{c: "1" for c in TRACK_COLUMNS}, "name": "\ud800"}]}
            ).encode(),
            422,
            "tracks[0].name is not Unicode text: it holds a lone surrogate escape ('\\ud800')",
        ),
    ],
)
def test_a_bad_request_is_one_json_line_naming_what_is_wrong(
    service: Service, body: Any, raw: bytes | None, status: int, message: str
) -> None:
    code, answer = service.call("/predict", body, raw=raw)
    assert code == status
    assert set(answer) == {"error"} and message in answer["error"]
    assert "\n" not in answer["error"]


def test_a_key_that_is_not_unicode_text_is_named_escaped(
    service: Service, small_raw_dir: Path
) -> None:
    """A lone surrogate in a key (not a tracks.csv column, so not scored) is named in the
    warnings as an escape: the answer stays JSON (a value with one is a 422, above)."""
    track = _tracks(small_raw_dir, 20).iloc[0].to_dict()
    raw = json.dumps({"tracks": [{**track, "n\udc00te": "x"}]}).encode()
    code, answer = service.call("/predict", raw=raw)
    assert code == 200 and answer["predictions"][0]["status"] == "scored"
    assert answer["warnings"] == [
        "tracks[0]: key 'n\\udc00te' is not a tracks.csv column; not used in scoring"
    ]


def test_a_wrong_path_method_or_encoding_is_one_json_line_saying_what_works(
    service: Service,
) -> None:
    code, answer = service.call("/score")
    assert code == 404 and set(answer) == {"error"}
    assert answer["error"].startswith("no such path /score: the service answers ")
    assert "POST /predict" in answer["error"] and "GET /docs" in answer["error"]
    code, answer = service.call("/predict")  # a GET
    assert (code, answer) == (405, {"error": "GET is not allowed on /predict: use POST"})
    # A trailing slash is no such path, said (it was a 307 with an empty body).
    code, answer = service.call("/predict/", {"tracks": []})
    assert code == 404 and answer["error"].startswith("no such path /predict/: ")
    request = urllib.request.Request(service.url + "/health", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as response:  # a probe's HEAD (a 405)
        assert response.status == 200 and response.read() == b""
    code, answer = service.call("/predict", raw='{"tracks": [{"name": "é"}]}'.encode("latin-1"))
    assert code == 400 and set(answer) == {"error"}
    assert "send UTF-8 JSON" in answer["error"] and "\n" not in answer["error"]
    code, answer = service.call("/predict", raw=b"", method="POST")  # no body at all
    assert code == 422
    assert answer == {"error": 'the body is empty: send JSON of the form {"tracks": [{...}, ...]}'}
    raw = json.dumps({"tracks": []}).encode()
    code, answer = service.call("/predict", raw=raw, content_type="text/plain")
    assert code == 422 and answer["error"].startswith("the body was sent as text/plain: send it")
    assert "content-type: application/json" in answer["error"]
    # JSON without a content-type was called "not JSON".
    code, answer = service.call("/predict", raw=raw, content_type="")
    assert code == 422 and answer["error"].startswith("the body has no content-type: send it")


def test_a_chunked_body_over_the_limit_is_refused_as_a_declared_one(service: Service) -> None:
    """Without Content-Length (chunked transfer) the body is counted as it arrives."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(service.url)
    body = json.dumps({"tracks": [{"name": "x" * 5_000}] * 500}).encode()  # 2.5 MB > 2 MB
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    connection.request(
        "POST",
        "/predict",
        body=(body[i : i + 65_536] for i in range(0, len(body), 65_536)),
        headers={"content-type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    raw = response.read()
    answer = json.loads(raw)
    connection.close()
    assert response.status == 413
    assert raw.startswith(b'{"error":"'), raw  # written as every other error is
    assert set(answer) == {"error"} and "over the limit of 2,000,000 bytes" in answer["error"]
    assert service.call("/health")[0] == 200  # and the service goes on


def test_worker_processes_score_as_one_process_does(service: Service, small_raw_dir: Path) -> None:
    """`serve --workers 2` (one process per core, sharing the port): the same answers, and one
    POST /reload reaches every worker."""
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow
    from python_ml.tracks.champion import promote

    tracks = _tracks(small_raw_dir, 40).to_dict("records")
    expected = service.call("/predict", {"tracks": tracks})
    port = free_port()
    env = {
        **os.environ,
        "MUSIC_RAW_DIR": str(service.settings.raw_dir),
        "MUSIC_WAREHOUSE": str(service.settings.warehouse),
        "MUSIC_MLFLOW_DIR": str(service.settings.mlflow_dir),
        # No look of their own for an hour: only /reload can make the workers change champion.
        "MUSIC_SERVE_CHECK_EVERY": "3600",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "python_ml", "serve", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers = Service(f"http://127.0.0.1:{port}", service.settings, process)
        wait_for_http(f"{workers.url}/health", seconds=180, process=process)
        answers = [workers.call("/predict", {"tracks": tracks}) for _ in range(4)]
        # Both workers have scored (each request is a new connection) before the promotion.
        before = {workers.call("/health")[1]["run_id"] for _ in range(8)}
        champion = warehouse_champion(service.settings)
        (majority,) = train.train_tracks(service.settings, small_config(), only=["majority"])
        setup_mlflow(service.settings, TRACKS_EXPERIMENT)
        promote(
            service.settings,
            majority.run_id,
            majority.model_uri,
            "promoted by hand (test)",
            champion["fingerprint"],
        )
        assert workers.call("/reload", {})[1] == {"run_id": majority.run_id, "changed": True}
        after = [workers.call("/predict", {"tracks": tracks[:1]})[1]["run_id"] for _ in range(12)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert expected[0] == 200 and all(answer == expected for answer in answers)
    assert before == {champion["run_id"]}
    assert after == [majority.run_id] * 12


def test_a_champion_promoted_while_serving_scores_the_next_request(
    service: Service, small_raw_dir: Path
) -> None:
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow
    from python_ml.tracks.champion import promote

    champion = warehouse_champion(service.settings)
    # An ML engineer ships another finished run (the experiments are reused, not fitted again).
    runs = train.train_tracks(service.settings, small_config())
    other = next(run for run in runs if run.run_id != champion["run_id"])
    setup_mlflow(service.settings, TRACKS_EXPERIMENT)
    version = promote(
        service.settings,
        other.run_id,
        other.model_uri,
        "promoted by hand (test)",
        champion["fingerprint"],
    )
    after = warehouse_champion(service.settings)["run_id"]
    assert after == other.run_id
    # Promoted again (a `train` stopped between the registry and the warehouse, say): the
    # version it has, not a second registration of the same run.
    again = promote(
        service.settings, other.run_id, other.model_uri, "again (test)", champion["fingerprint"]
    )
    import mlflow

    registered = mlflow.MlflowClient().search_model_versions(f"run_id = '{other.run_id}'")
    assert again == version and [int(v.version) for v in registered] == [version]
    assert warehouse_champion(service.settings)["version"] == version
    track = _tracks(small_raw_dir, 20).iloc[0].to_dict()
    deadline = time.monotonic() + 60  # the service looks for a new champion every 5 s
    while True:
        status, body = service.call("/predict", {"tracks": [track]})
        assert status == 200
        if body["run_id"] == after or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert body["run_id"] == after
    assert service.call("/reload", {})[1] == {"run_id": after, "changed": False}


def test_a_champion_whose_data_changed_stops_scoring_until_its_data_is_back(
    service: Service, small_raw_dir: Path
) -> None:
    """The service went on scoring with a champion of other data after a build changed the
    train split (`predict` refused it), and with the artists it read at its start."""
    import duckdb

    champion = warehouse_champion(service.settings)["run_id"]
    track = _tracks(small_raw_dir, 20).iloc[0].to_dict()
    path = str(service.settings.warehouse)
    with duckdb.connect(path) as con:  # a build with other follower counts, as dbt makes it
        con.execute("create table main.split_before as select * from marts.fct_train_tracks")
        con.execute(
            "create or replace table marts.fct_train_tracks as select * replace "
            "(artist_followers + 1 as artist_followers) from main.split_before"
        )
        # artists.csv loaded again (the same rows): the service reads the artists in again.
        con.execute(
            "update raw.load_log set loaded_at = loaded_at + interval 1 second "
            "where table_name = 'artists'"
        )
    try:
        deadline = time.monotonic() + 60  # the service looks every 5 s
        while True:
            status, body = service.call("/predict", {"tracks": [track]})
            if status != 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert status == 503, body
        assert "was trained on other data than" in body["error"]
        assert "python -m python_ml train" in body["error"]
        assert service.call("/health")[0] == 503
        assert service.call("/model")[0] == 503
    finally:
        with duckdb.connect(path) as con:
            con.execute(
                "create or replace table marts.fct_train_tracks as select * from main.split_before"
            )
            con.execute("drop table main.split_before")
    status, body = service.call("/reload", {})
    assert status == 200 and body["run_id"] == champion
    status, body = service.call("/predict", {"tracks": [track]})
    assert status == 200 and body["run_id"] == champion
    assert service.call("/health")[1]["status"] == "ok"
    log = (service.settings.warehouse.parent / "serve.log").read_text()
    assert "the warehouse's artists were loaded or built again: reading them in" in log


def test_model_says_the_holdout_figures_score_wrote_last(service: Service) -> None:
    """GET /model kept the holdout figures of the service's start while the run stayed the
    same (`score` on a new predict split writes new ones)."""
    import duckdb

    champion = warehouse_champion(service.settings)["run_id"]
    path = str(service.settings.warehouse)
    with duckdb.connect(path) as con:
        (before,) = con.execute(
            "select holdout_accuracy from ml.model_runs where run_id = ?", [champion]
        ).fetchone()
        con.execute("update ml.model_runs set holdout_accuracy = 0.5 where run_id = ?", [champion])
    try:
        assert service.call("/reload", {})[1] == {"run_id": champion, "changed": False}
        model = service.call("/model")[1]
        assert model["holdout"]["accuracy"] == 0.5 and model["holdout_note"] is None
    finally:
        with duckdb.connect(path) as con:
            con.execute(
                "update ml.model_runs set holdout_accuracy = ? where run_id = ?", [before, champion]
            )
    service.call("/reload", {})
    model = service.call("/model")[1]
    assert model["holdout"]["accuracy"] == pytest.approx(before)
    if before is None:  # promoted by `train`, not scored: said why the figures are null
        assert model["holdout_note"].startswith("not measured yet: `python -m python_ml score`")


def test_a_check_that_fails_part_way_is_made_again(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new data was marked as seen before the champion was read again: one failure (an
    unreadable model file, say) and the service scored with a champion of other data for good."""
    from python_ml.tracks import scorer as scoring

    scorer = scoring.Scorer(service.settings)
    path = str(service.settings.warehouse)
    with duckdb.connect(path) as con:  # as a dbt build makes it: the same name, other values
        con.execute("create table main.split_kept as select * from marts.fct_train_tracks")
        con.execute(
            "create or replace table marts.fct_train_tracks as select * replace "
            "(artist_followers * 2 as artist_followers) from main.split_kept"
        )
    try:
        load = scoring.load_scoring_champion
        failures = iter([OSError("the model file is being copied")])

        def flaky(settings: Settings) -> Any:
            failure = next(failures, None)
            if failure is not None:
                raise failure
            return load(settings)

        monkeypatch.setattr(scoring, "load_scoring_champion", flaky)
        with pytest.raises(OSError):
            scorer.refresh(force=True)
        assert scorer.unavailable is None  # not known yet: the next look checks again
        scorer.refresh(force=True)
        assert scorer.unavailable and "was trained on other data than" in scorer.unavailable
        with pytest.raises(Exception, match="was trained on other data than"):
            scorer.score_records([])
    finally:
        with duckdb.connect(path) as con:
            con.execute(
                "create or replace table marts.fct_train_tracks as select * from main.split_kept"
            )
            con.execute("drop table main.split_kept")
    scorer.refresh(force=True)
    assert scorer.unavailable is None


def test_an_unchanged_warehouse_is_not_opened_again_at_each_look(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each look read the champion's record and fingerprinted the train split, in the request
    that made it (15% of a loaded service's time): now only once something wrote the
    warehouse."""
    from python_ml.tracks import scorer as scoring
    from python_ml.warehouse import db

    scorer = scoring.Scorer(service.settings, check_every=0)
    opened = []
    connect = db.connect
    monkeypatch.setattr(db, "connect", lambda *a, **k: opened.append(a) or connect(*a, **k))
    assert scorer.refresh() is False  # the first look reads it: the same champion
    first = len(opened)
    assert first >= 1
    for _ in range(3):
        assert scorer.refresh() is False
    assert len(opened) == first  # nothing written since
    with duckdb.connect(str(service.settings.warehouse)) as con:
        con.execute("create table main.written as select 1 as x")
        con.execute("drop table main.written")
    assert scorer.refresh() is False  # the same champion, looked at again
    assert len(opened) > first
    again = len(opened)
    assert scorer.refresh(force=True) is False  # asked for (POST /reload): looked at whatever
    assert len(opened) > again


def test_a_service_started_before_its_champion_answers_503_then_scores_with_it(
    built_warehouse: Path, small_raw_dir: Path, tmp_path: Path
) -> None:
    """A service started on a warehouse with no champion of its data (a rebuilt warehouse
    before `train`, or data changed while it was down) refused to start, where one running
    answers 503 until a champion of the data is promoted: it starts into that 503 now, and
    scores with the champion trained afterwards without a restart."""
    settings = _settings_with_a_copy(built_warehouse, tmp_path, small_raw_dir)
    track = _tracks(small_raw_dir, 1).iloc[0].to_dict()
    with running_service(
        settings, tmp_path, ready="/docs", MUSIC_SERVE_CHECK_EVERY="0.5"
    ) as service:
        status, health = service.call("/health")
        assert status == 503 and health["status"] == "unavailable"
        assert "No champion has been trained on the data of" in health["error"]
        for path, body in (("/model", None), ("/predict", {"tracks": [track]}), ("/reload", {})):
            status, answer = service.call(path, body)
            assert status == 503, (path, answer)
            assert "python -m python_ml train" in answer["error"]
        # The warehouse gone as well: said, with no champion to score on (it was a 500).
        settings.warehouse.rename(tmp_path / "moved.duckdb")
        status, answer = service.call("/reload", {})
        assert status == 503 and "still scoring" not in answer["error"], answer
        assert answer["error"].startswith(f"The warehouse {settings.warehouse} does not exist")
        (tmp_path / "moved.duckdb").rename(settings.warehouse)
        train.train_tracks(settings, small_config())
        champion = warehouse_champion(settings)["run_id"]
        deadline = time.monotonic() + 60
        while service.call("/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        status, body = service.call("/predict", {"tracks": [track]})
        assert status == 200, body
        assert body["run_id"] == champion
        assert body["predictions"][0]["status"] == "scored"
    log = (tmp_path / "serve.log").read_text()
    assert "not scoring until a champion of this data is promoted" in log
    assert f"new champion: run {champion}" in log


def test_reload_with_the_warehouse_gone_is_a_503_naming_it_and_scoring_goes_on(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    """POST /reload with the warehouse deleted (or moved) while the service runs answered 500
    "the service failed (WarehouseError)"; it says the warehouse is missing, and the champion
    loaded before scores on until it is back."""
    settings = _settings_with_a_copy(
        service.settings.warehouse, tmp_path, small_raw_dir, mlflow_dir=service.settings.mlflow_dir
    )
    track = _tracks(small_raw_dir, 1).iloc[0].to_dict()
    with running_service(settings, tmp_path) as running:
        champion = running.call("/health")[1]["run_id"]
        settings.warehouse.rename(tmp_path / "moved.duckdb")
        status, answer = running.call("/reload", {})
        assert status == 503, answer
        assert answer["error"].startswith(f"The warehouse {settings.warehouse} does not exist")
        assert answer["error"].endswith(f"(still scoring with run {champion})")
        status, body = running.call("/predict", {"tracks": [track]})
        assert status == 200 and body["predictions"][0]["status"] == "scored"
        (tmp_path / "moved.duckdb").rename(settings.warehouse)
        assert running.call("/reload", {}) == (200, {"run_id": champion, "changed": False})


def test_champion_files_moved_away_keep_the_loaded_champion_and_are_taken_back(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    """POST /reload with the champion's files moved away or damaged threw away the model in
    memory: every request a 503 until the files were back and reloaded again. It scores on
    with what it loaded, says so; a service started without them scores once they are back,
    with no reload."""
    mlflow_dir = tmp_path / "mlflow"
    shutil.copytree(service.settings.mlflow_dir, mlflow_dir)
    settings = _settings_with_a_copy(
        service.settings.warehouse, tmp_path, small_raw_dir, mlflow_dir=mlflow_dir
    )
    track = _tracks(small_raw_dir, 1).iloc[0].to_dict()
    away = tmp_path / "mlflow-away"
    with running_service(settings, tmp_path, MUSIC_SERVE_CHECK_EVERY="0.5") as running:
        champion = running.call("/health")[1]["run_id"]
        mlflow_dir.rename(away)
        status, answer = running.call("/reload", {})
        assert status == 503, answer
        assert f"(run {champion})" in answer["error"]
        assert answer["error"].endswith(f"(still scoring with run {champion})")
        status, body = running.call("/predict", {"tracks": [track]})
        assert status == 200 and body["run_id"] == champion, body
        assert body["predictions"][0]["status"] == "scored"
        status, health = running.call("/health")  # said there too, not by /reload alone
        assert status == 200 and health["warning"].endswith(f"(still scoring with run {champion})")
        away.rename(mlflow_dir)  # back: the files are read again at a check, the warning gone
        deadline = time.monotonic() + 60
        while "warning" in running.call("/health")[1] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "warning" not in running.call("/model")[1]
        assert running.call("/reload", {}) == (200, {"run_id": champion, "changed": False})
    mlflow_dir.rename(away)
    with running_service(
        settings, tmp_path, ready="/docs", MUSIC_SERVE_CHECK_EVERY="0.5"
    ) as running:
        status, health = running.call("/health")
        assert status == 503 and f"(run {champion})" in health["error"], health
        away.rename(mlflow_dir)  # back: taken up at a look, without a reload
        deadline = time.monotonic() + 60
        while running.call("/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        status, body = running.call("/predict", {"tracks": [track]})
        assert status == 200 and body["run_id"] == champion, body
    log = (tmp_path / "serve.log").read_text()
    assert "not scoring until its files can be read (looked at again every 0.5 s)" in log


def test_artists_loaded_but_not_built_leave_the_scores_as_the_champion_learnt_them(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    """Scoring read the warehouse's raw artists: after a `load` alone (or a build that failed
    after it) a champion scored follower counts it never learnt from, without a word (4 of 5
    classes flipped in the helper's case). It reads the built int_artists_validated, from which
    the train split was made."""
    from python_ml.tracks.scorer import Scorer

    settings = _settings_with_a_copy(
        service.settings.warehouse, tmp_path, small_raw_dir, mlflow_dir=service.settings.mlflow_dir
    )
    tracks = pd.read_csv(
        small_raw_dir / "spotify_600k" / "tracks.csv", dtype=str, keep_default_na=False, nrows=200
    ).drop(columns="popularity")
    records = tracks.to_dict("records")
    _, before = Scorer(settings).score_records(records)
    with duckdb.connect(str(settings.warehouse)) as con:  # artists.csv loaded again, not built
        con.execute(
            "update raw.spotify_600k__artists set followers = "
            "cast(cast(followers as double) * 1000 + 1e6 as varchar)"
        )
        con.execute("update raw.load_log set loaded_at = loaded_at + interval 1 second")
    _, after = Scorer(settings).score_records(records)
    scored = before["status"] == "scored"
    assert scored.sum() > 150 and before["artist_known"][scored].any()
    probabilities = [c for c in before.columns if c.startswith("prob_")]
    pd.testing.assert_frame_equal(before[probabilities], after[probabilities])
    assert before["predicted_class"].equals(after["predicted_class"])


def test_no_look_at_the_warehouse_while_a_command_writes_it(
    service: Service, small_raw_dir: Path, tmp_path: Path
) -> None:
    """The service's look for a new champion (a read-only open) made a `build` beside it fail
    with DuckDB's lock text (dbt opens the file again for every model); POST /reload during a
    build answered 500. While a command holds the run lock, the periodic look is skipped, and
    an asked-for one (and a new scorer: predict, the app) says who writes."""
    from python_ml.tracks.scorer import Scorer
    from python_ml.warehouse.db import RunLock, WarehouseBusy

    settings = _settings_with_a_copy(
        service.settings.warehouse, tmp_path, small_raw_dir, mlflow_dir=service.settings.mlflow_dir
    )
    scorer = Scorer(settings, check_every=0)
    from python_ml.service import _being_written

    with run_lock_held_elsewhere(settings.warehouse):
        assert scorer.refresh() is False  # skipped: looked at again after the run
        # GET /health and /model say so beside the run that scores: a champion the command
        # promotes (MLflow's alias names it at once) scores only after it (a helper saw /model
        # name the former champion for two minutes after the promotion, without a word).
        assert scorer.writer is not None and "PID" in scorer.writer
        said = _being_written(scorer.writer)["warehouse_busy"]
        assert said.startswith("the warehouse is being written by another command (PID ")
        assert said.endswith("is taken up at the first look after it finishes")
        scorer.writer = None
        with pytest.raises(WarehouseBusy, match="is being written by another command"):
            scorer.refresh(force=True)
        assert scorer.writer is not None  # an asked-for look records it too
        with pytest.raises(WarehouseBusy, match=r"\(PID \d+"):
            Scorer(settings)
    assert RunLock.holder(settings.warehouse) is None
    # The next look is made though nothing was written (the files as they were): it clears it.
    assert scorer.refresh() is False and scorer.writer is None
    assert _being_written(scorer.writer) == {}
    assert scorer.refresh(force=True) is False  # the same champion, looked at again
    assert scorer.unavailable is None


def test_strict_json_names_the_first_object_that_gives_a_key_twice() -> None:
    from python_ml.service import RepeatedKey, strict_json

    assert strict_json(b'{"tracks": [{"a": 1, "b": [{"c": 2}]}]}') == {
        "tracks": [{"a": 1, "b": [{"c": 2}]}]
    }
    with pytest.raises(RepeatedKey, match=r"^tracks\[0\]\.x gives the key 'b' twice"):
        strict_json(b'{"tracks": [{"x": {"b": 1, "b": 2}}]}')
    with pytest.raises(RepeatedKey, match=r"^tracks\[2\] gives the key 'b' twice"):
        strict_json('{"tracks": [{}, {"b": 1}, {"b": 1, "b": 1}, {"c": 1, "c": 2}]}')


@pytest.mark.parametrize(
    "body",
    [
        b'{"tracks": [{"name": "a:b", "x": {"k": "1:2:3"}, "n": [1, 2.5, -0.0, 1e-7]}]}',
        b'{"tracks": [{"big": 123456789012345678901234567890, "small": -9223372036854775809}]}',
        b'{"tracks": [{"max": 18446744073709551615, "f": 0.1234567890123456789012}]}',
        b'{"tracks": [{"name": "\\ud800", "other": "\\udc00x"}]}',
        b'\xef\xbb\xbf{"tracks": []}',
        b'{"tracks": [{"na\\u003ame": "x", "a": 1}]}',
        b'{"tracks": [{"name": "caf\\u00e9 \xc3\xa9", "t": "a\\tb\\"c\\\\"}]}',
        b'  {"tracks": [{}, [], null, true, false, 0]}  ',
        '{"tracks": [{"name": "a:b"}]}',
    ],
)
def test_strict_json_reads_what_json_loads_reads(body: bytes | str) -> None:
    """orjson reads a body when it gives what json.loads gives: numbers beyond 64 bits, NaN,
    lone surrogate escapes, a BOM, an escaped colon (the count of keys) go to json.loads."""
    from python_ml.service import strict_json

    got, wanted = strict_json(body), json.loads(body)
    assert repr(got) == repr(wanted)  # -0.0 and types compared too


def test_strict_json_keeps_numbers_that_are_not_finite_as_the_text_sent() -> None:
    """NaN was a missing value (predict rejects "NaN" as not a finite number); 1e400 became
    inf, and the rejection showed "inf"."""
    from python_ml.service import strict_json

    body = b'{"tracks": [{"inf": 1e400, "nan": NaN, "neg": -Infinity, "x": 2.5, "big": -1E999}]}'
    assert strict_json(body) == {
        "tracks": [{"inf": "1e400", "nan": "NaN", "neg": "-Infinity", "x": 2.5, "big": "-1E999"}]
    }


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"tracks": [{"a": "x:y", "a": "z"}]}', r"tracks\[0\] gives the key 'a'"),
        (b'{"tracks": [{"a": 1}, {"b": {"c": 1, "c": 2}}]}', r"tracks\[1\]\.b gives the key 'c'"),
        (b'{"tracks": [{"a\\u003a": 1, "a:": 2, "b": 3}]}', r"tracks\[0\] gives the key 'a:'"),
        (b'{"tracks": [], "tracks": []}', r"the body gives the key 'tracks' twice"),
    ],
)
def test_strict_json_finds_a_repeated_key_in_bytes(body: bytes, where: str) -> None:
    from python_ml.service import RepeatedKey, strict_json

    with pytest.raises(RepeatedKey, match=where):
        strict_json(body)


def test_strict_json_reads_a_plain_body_with_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common body (text and numbers, no repeated key) does not pay for json.loads' look at
    every object."""
    from python_ml import service

    def slow(body: Any) -> Any:
        raise AssertionError("read by json.loads")

    monkeypatch.setattr(service, "_strict_json_read", slow)
    track = {c: "1" for c in TRACK_COLUMNS} | {"name": "Song: part 2", "tempo": 118.5}
    body = json.dumps({"tracks": [track] * 3}).encode()
    assert service.strict_json(body) == {"tracks": [track] * 3}
