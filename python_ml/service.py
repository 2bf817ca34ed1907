"""`python -m python_ml serve` (`make serve`): the champion over HTTP (FastAPI on uvicorn).

Every track goes through the same fast path as ``predict`` and the app (tracks/scorer.py: the
dbt project's compiled validation and feature models, then the champion), so a value the
pipeline rejects comes back as a ``rejected`` entry naming its field, never as a guess.
Requests that arrive while a batch is being scored are scored together as the next batch
(tracks/scorer.py ``BatchingScorer``), each answered with its own rows: a batch's fixed cost
(DuckDB runs the validation models' statement, planned once, and plans the artists' join again
for every batch: about 20 ms, tracks/feature_path.py) is paid once for all.

- ``GET /health``: ``{"status": "ok", ...}``.
- ``GET /model``: the champion: run id, name, registered version, trained-at, data origin,
  features (and those whose values are the built-in generated data), decision-rule weights,
  holdout figures.
- ``POST /predict`` with ``{"tracks": [{tracks.csv columns; popularity, id, id_artists
  optional}]}``: one entry per input track, in order, and the run that scored them; each of a
  track's reasons says whether its feature's values are generated (``generated``: the artist
  features of a generated artists.csv beside the user's tracks, tracks/feature_origin.py).
- ``POST /reload``: look for a new champion now, in every worker process (it is also checked
  every few seconds).

A body that is not this shape, or a track missing a column, is HTTP 422 naming the key or
column; more tracks than the batch limit, or a larger body than the size limit, is 413. Every
error is JSON: ``{"error": "<one line>"}``.
"""

import json
import logging
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson

from python_ml.errors import UserError
from python_ml.raw.schemas import TRACK_COLUMNS
from python_ml.settings import Settings

log = logging.getLogger("python_ml")

# The service's limits, each from its environment variable (read when the service starts:
# :func:`limit`): tracks and bytes per request, and the seconds between two looks for a new
# champion.
LIMITS: dict[str, tuple[type, float, str]] = {
    "MUSIC_SERVE_MAX_TRACKS": (int, 10_000, "tracks per request"),
    "MUSIC_SERVE_MAX_BYTES": (int, 20 * 1024 * 1024, "bytes per request body"),
    "MUSIC_SERVE_CHECK_EVERY": (float, 5.0, "seconds between two looks for a new champion"),
}


class ServiceConfigError(UserError, ValueError):
    """A service setting that cannot be used; the message names it and what it takes."""


def limit(name: str) -> Any:
    """The limit ``name`` (a key of :data:`LIMITS`) from the environment, or its default; a
    value that is not a number above 0 is one line naming the variable."""
    kind, default, meaning = LIMITS[name]
    text = os.environ.get(name, "").strip()
    if not text:
        return kind(default)
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        wanted, shown = (
            ("a whole number", f"{default:,}") if kind is int else ("a number", f"{default:g}")
        )
        raise ServiceConfigError(
            f"{name}={text!r}: the {meaning} must be {wanted} above 0 (default {shown}); "
            "set it to one, or unset it"
        )
    return value


# `serve --workers N`: a file whose change tells every worker to look now (POST /reload reaches
# one worker; it touches this file, and each worker sees it on its next request).
RELOAD_SIGNAL_ENV = "MUSIC_SERVE_RELOAD_SIGNAL"
DRAIN_AT_MOST = 64 * 1024 * 1024  # bytes of an oversized body read before the 413

EXAMPLE_TRACK = {
    "name": "A new song",
    "artists": "['Some Artist']",
    "release_date": "2021-03-05",
    "duration_ms": 201000,
    "explicit": 0,
    "danceability": 0.68,
    "energy": 0.72,
    "key": 5,
    "loudness": -5.4,
    "mode": 1,
    "speechiness": 0.05,
    "acousticness": 0.12,
    "instrumentalness": 0.0,
    "liveness": 0.11,
    "valence": 0.55,
    "tempo": 118.0,
    "time_signature": 4,
}


TEXT_COLUMNS = ("id", "name", "artists", "id_artists", "release_date")


class RepeatedKey(UserError, ValueError):
    """An object of the body gives a key twice; the message names where and which key."""


class _Repeats(dict):
    """An object of the body that gave the key ``repeated`` more than once (kept: the last)."""

    repeated: str


# Bytes to "0" for a digit and " " otherwise: a run of 19 digits, found in one pass.
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))


def strict_json(body: bytes | str) -> Any:
    """The body as JSON, where an object giving a key twice is :class:`RepeatedKey` naming it
    (``tracks[3]`` gives 'energy' twice), not the silent last-one-wins of :func:`json.loads`:
    which of two values the sender meant is not ours to guess. Other faults raise as
    :func:`json.loads` does.

    Read by orjson (about 3 ms for 1,000 tracks, against 12 ms for :func:`json.loads` with a
    hook per object) when that is sure to give what :func:`json.loads` gives: the body is
    bytes orjson reads, no object lost a repeated key (a colon outside a string separates a
    key from its value, so the body has as many colons as orjson writes back for what it read,
    unless a string holds an escaped colon, ``\\u003a``), and no number has 19 digits or more
    (orjson reads an integer beyond 64 bits as a float). Anything else (a repeated key, NaN, a
    lone surrogate escape, text that is not JSON) is read by :func:`json.loads`, as before."""
    if isinstance(body, bytes) and b"\\u003" not in body:
        try:
            value = orjson.loads(body)
            written = orjson.dumps(value)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
        else:
            if body.count(b":") == written.count(b":") and b"0" * 19 not in body.translate(_DIGITS):
                return value
    return _strict_json_read(body)


def _strict_json_read(body: bytes | str) -> Any:
    """:func:`strict_json` by :func:`json.loads`, looking at every object's keys."""
    repeats: list[_Repeats] = []

    def to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        marked, keys = _Repeats(obj), set()
        for key, _ in pairs:
            if key in keys:
                marked.repeated = key
                break
            keys.add(key)
        repeats.append(marked)
        return marked

    # NaN, Infinity and a number too large for a float (1e400) as the text sent: the dbt rules
    # reject it as `predict` does the same text in a CSV ("danceability NaN (not a finite
    # number)"); it was read as a missing value, or shown as "inf".
    value = json.loads(
        body,
        object_pairs_hook=to_dict,
        parse_constant=str,
        parse_float=lambda text: number if math.isfinite(number := float(text)) else text,
    )
    if repeats:
        where, key = _first_repeat(value, "") or ("", repeats[0].repeated)
        if where:
            raise RepeatedKey(
                f"{where} gives the key {key!r} twice: send each key once (which of the two "
                "values was meant cannot be told)"
            )
        raise RepeatedKey(f'the body gives the key {key!r} twice: the body is {{"tracks": [...]}}')
    return value


def _first_repeat(value: Any, where: str) -> tuple[str, str] | None:
    """Where the first object giving a key twice is (``tracks[3]``; the body itself is "") and
    the key, looking at an object before what it holds."""
    if isinstance(value, _Repeats):
        return where, value.repeated
    if isinstance(value, dict):
        inner = [(f"{where}.{k}" if where else k, v) for k, v in value.items()]
    elif isinstance(value, list):
        inner = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for place, item in inner:
        found = _first_repeat(item, place)
        if found:
            return found
    return None


def track_schema() -> dict[str, Any]:
    """One track of POST /predict as OpenAPI shows it: tracks.csv's columns, described as the
    dbt source describes them, the required ones marked; a number may also come as text, as
    in the CSV. Documentation only: the body is checked by the service itself (a missing
    column is a 422 naming it; a value the pipeline rejects, a `rejected` entry)."""
    from python_ml.warehouse.catalog import raw_column_descriptions

    described = raw_column_descriptions("tracks")
    number_or_text = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    return {
        "type": "object",
        "properties": {
            column: {
                **({"type": "string"} if column in TEXT_COLUMNS else number_or_text),
                "description": described.get(column, ""),
            }
            for column in TRACK_COLUMNS
        },
        "required": required_columns(),
        "additionalProperties": True,
    }


def predict_request_model() -> Any:
    """The body of POST /predict (pydantic; imported when the service starts)."""
    from pydantic import BaseModel, ConfigDict, Field

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tracks: list[dict[str, Any]] = Field(
            description="Tracks with the columns of Kaggle's tracks.csv; popularity, id and "
            "id_artists may be left out (a track with no id gets one made from its content).",
            json_schema_extra={"items": track_schema()},
        )

    return PredictRequest


def response_models() -> dict[str, Any]:
    """What the service answers, for OpenAPI only (the answers are built as plain dicts, not
    validated: a model here costs nothing per request)."""
    from pydantic import BaseModel, Field

    class Reason(BaseModel):
        feature: str
        value: float | None = Field(description="The track's value (null: missing, imputed).")
        contribution: float = Field(
            description="The feature's part of the called class's score minus the runner-up's: "
            "positive favoured the class called."
        )
        over: str | None = Field(description="The runner-up the contribution compares with.")
        generated: bool = Field(
            description="The feature's values are the built-in generated data, not real: "
            "every feature of generated data, and the artist features (followers, genre "
            "count) when artists.csv was generated beside the user's real tracks.csv "
            "(data_origin `artists.csv: generated, tracks.csv: user files`)."
        )

    class Prediction(BaseModel):
        id: str | None = Field(description="The track's id, or the one made from its content.")
        status: str = Field(description="`scored` or `rejected`.")
        predicted_class: str | None
        class_probabilities: dict[str, float] | None = Field(
            description="Calibrated probability of each class, to 6 places (they sum to 1)."
        )
        reasons: list[Reason] = Field(description="The three largest contributions.")
        runner_up_class: str | None = Field(
            description="The class the decision rule ranks next after the one called."
        )
        explanation_baseline: float | None = Field(
            description="The called class's score minus the runner-up's before the track's "
            "features are looked at."
        )
        explained_score: float | None = Field(
            description="That difference with them: baseline plus every contribution (negative "
            "when the decision rule's weights, not the scores, made the call)."
        )
        rejection_reason: str | None
        rejection_detail: str | None = Field(
            description=(
                "What was wrong, naming the field: `key 5.5 (not a whole number written in "
                "digits)`."
            )
        )

    class PredictResponse(BaseModel):
        run_id: str = Field(description="The MLflow run whose model scored the batch.")
        model_version: int = Field(description="Its registered version.")
        data_origin: str = Field(
            description="`kaggle`, `generated` or `user files`; with files of different "
            "origins, each file's (`artists.csv: generated, tracks.csv: user files`)."
        )
        predictions: list[Prediction] = Field(description="One per track sent, in order.")
        warnings: list[str] = Field(
            description="Keys not scored, tracks whose artist features are imputed."
        )

    class Error(BaseModel):
        error: str = Field(description="One line: what was wrong and what to do.")

    return {"predict": PredictResponse, "error": Error}


ERROR_STATUSES = {
    400: "The body could not be read as UTF-8 JSON.",
    404: "No such path.",
    405: "The path does not take this method.",
    413: "More tracks than the batch limit, or a larger body than the size limit.",
    422: 'A body that is not {"tracks": [...]}, or a track missing a column (named).',
    500: "The service failed; its log has the details.",
    503: "No champion of the warehouse's data to score with (the message says why and what "
    "to run).",
}


def required_columns() -> list[str]:
    from python_ml.tracks.feature_path import OPTIONAL_COLUMNS

    return [c for c in TRACK_COLUMNS if c not in OPTIONAL_COLUMNS]


def classes_text(settings: Settings) -> str:
    """The popularity classes as the warehouse's seed table defines them: "ice-cold (0-30),
    lukewarm (31-69), ..."."""
    import duckdb

    from python_ml.reports.classes import read_classes
    from python_ml.warehouse import db

    try:
        with db.connect(settings.warehouse) as con:
            return read_classes(con).described() or "none in the warehouse yet"
    except (db.WarehouseError, duckdb.Error):  # no warehouse or seed table: the champion says
        return "those of seeds/popularity_classes.csv"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class ChunkedBodyLimit:
    """ASGI middleware: a body sent without Content-Length (chunked) is counted as it arrives;
    over ``max_bytes`` the client gets the same one-line 413 as a declared one, and the app
    never sees the body whole (it is told the client left; its answer is dropped)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if scope["type"] != "http" or b"content-length" in headers:
            await self.app(scope, receive, send)
            return
        state = {"received": 0, "over": False}

        async def counted() -> Any:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    # Read (and drop) what is still coming, up to a bound, before answering.
                    more, drained = message.get("more_body", False), state["received"]
                    while more and drained < DRAIN_AT_MOST:
                        message = await receive()
                        if message["type"] != "http.request":
                            break
                        drained += len(message.get("body", b""))
                        more = message.get("more_body", False)
                    return {"type": "http.disconnect"}
            return message

        async def unless_over(message: Any) -> None:
            if not state["over"]:
                await send(message)

        await self.app(scope, counted, unless_over)
        if state["over"]:
            body = json.dumps(
                {
                    "error": f"the body is over the limit of {self.max_bytes:,} bytes: send the "
                    "tracks in smaller batches"
                },
                separators=(",", ":"),  # as every other error's JSON is written
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def _endpoints(app: Any) -> str:
    """The service's paths with their methods (``GET /health, ..., GET /docs``)."""
    listed = []
    for route in app.routes:
        methods = sorted((getattr(route, "methods", None) or set()) - {"HEAD"})
        path = getattr(route, "path", "")
        if methods and path and not path.startswith(("/openapi", "/docs/")):
            listed.extend(f"{method} {path}" for method in methods)
    return ", ".join(listed)


def create_app(
    settings: Settings,
    scorer: Any = None,
    max_tracks: int | None = None,
    max_body_bytes: int | None = None,
    reload_signal: Path | None = None,
) -> Any:
    """The FastAPI application (the champion and the compiled models loaded once, here).
    ``reload_signal``: a file shared by the worker processes of one service (see
    :data:`RELOAD_SIGNAL_ENV`)."""
    from fastapi import Body, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.routing import APIRoute
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from python_ml.tracking.champion_files import ChampionUnavailable
    from python_ml.tracks.explain import CONTRIBUTION_DECIMALS
    from python_ml.tracks.feature_origin import is_generated_feature
    from python_ml.tracks.feature_path import gives_artist_ids, misspelt_columns
    from python_ml.tracks.scorer import (
        SCORED,
        BatchingScorer,
        Scorer,
        artist_warnings,
        recency_warnings,
    )

    max_tracks = max_tracks or limit("MUSIC_SERVE_MAX_TRACKS")
    max_body_bytes = max_body_bytes or limit("MUSIC_SERVE_MAX_BYTES")
    # With no champion of the warehouse's data (none trained yet on a rebuilt warehouse, or
    # its data changed), the service starts and answers 503 saying why, as it does when the
    # data changes while it runs, and scores once a champion of the data is promoted.
    scorer = scorer or Scorer(
        settings, check_every=limit("MUSIC_SERVE_CHECK_EVERY"), wait_for_champion=True
    )
    # Concurrent requests are scored together (one query, one model call), each answered
    # with its own rows: the fixed cost of a batch is paid once for all of them.
    batches = BatchingScorer(scorer)
    required = required_columns()
    PredictRequest = predict_request_model()  # noqa: N806 (a class)
    answers = response_models()

    app = FastAPI(
        title="music-popularity scoring service",
        description="Scores tracks with the warehouse's champion through the dbt project's own "
        f"validation and feature rules. Classes (by popularity): {classes_text(settings)}.",
        version="1",
        docs_url=None,
        redoc_url=None,
        # `/predict/` is "no such path" in one JSON line, not a 307 with an empty body (a
        # client that does not follow it for a POST saw nothing said).
        redirect_slashes=False,
    )
    app.openapi_version = "3.0.3"  # what Swagger UI 4 (served below without a CDN) reads
    _offline_docs(app)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"error": message})

    app.add_middleware(ChunkedBodyLimit, max_bytes=max_body_bytes)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            # Read (and drop) what the client sends before answering, up to a bound: a client
            # still sending when the connection closes sees a broken pipe, not the 413.
            drained = 0
            async for chunk in request.stream():
                drained += len(chunk)
                if drained > DRAIN_AT_MOST:
                    break
            return error(
                413,
                f"the body is {int(length):,} bytes, over the limit of {max_body_bytes:,}: "
                "send the tracks in smaller batches",
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        # A misspelt key first: it explains the missing one ({"songs": ...} for "tracks").
        first = next((e for e in errors if e.get("type") == "extra_forbidden"), None)
        first = first or (errors[0] if errors else {})
        where = ""  # as the service names places elsewhere: tracks[0].name
        for part in first.get("loc", ()):
            if part != "body":
                where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else part
        where = where or "body"
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            # FastAPI reads a body as JSON only when it is sent as JSON.
            message = (
                f"the body was sent as {media}: send it as JSON (content-type: "
                'application/json) of the form {"tracks": [{...}, ...]}'
            )
        elif where == "body" and first.get("type") == "missing":
            message = 'the body is empty: send JSON of the form {"tracks": [{...}, ...]}'
        elif not media:  # JSON sent without a content-type was called "not JSON"
            message = (
                "the body has no content-type: send it as JSON (content-type: "
                'application/json) of the form {"tracks": [{...}, ...]}'
            )
        elif first.get("type") == "extra_forbidden":
            message = f'unknown key {where!r}: the body is {{"tracks": [...]}}'
        elif first.get("type") == "missing":
            message = f'missing key {where!r}: the body is {{"tracks": [...]}}'
        elif first.get("type") == "dict_type":
            message = f'{where} is not an object: each track is {{"column": value, ...}}'
        elif first.get("type") == "list_type":
            message = f'{where} is not a list: the body is {{"tracks": [{{...}}, ...]}}'
        elif first.get("type") == "json_invalid":  # where the reader stopped, and why
            at = next((p for p in first.get("loc", ())[1:] if isinstance(p, int)), None)
            why = (first.get("ctx") or {}).get("error")
            said = f" ({why}{f' at character {at:,}' if at is not None else ''})" if why else ""
            message = (
                f'the body is not JSON{said}: send JSON of the form {{"tracks": [{{...}}, ...]}}'
            )
        elif first.get("type") == "model_attributes_type":
            message = 'the body is not JSON of the form {"tracks": [{...}, ...]}'
        else:
            message = f"{where}: {first.get('msg', 'invalid')}"
        return error(422, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """The router's own refusals (no such path, a method the path does not take, a body
        that cannot be read) in the service's one shape, saying what would work."""
        where = request.url.path
        if exc.status_code == 404:
            message = f"no such path {where}: the service answers {_endpoints(app)}"
        elif exc.status_code == 405:
            allowed = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), "")
            message = f"{request.method} is not allowed on {where}: use {allowed or 'another'}"
        elif exc.status_code == 400:
            message = (
                'the body could not be read: send UTF-8 JSON of the form {"tracks": [{...}, ...]}'
            )
        else:
            message = " ".join(str(exc.detail).split())
        return JSONResponse(
            status_code=exc.status_code, content={"error": message}, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("the service failed on %s", request.url.path)
        return error(500, f"the service failed ({type(exc).__name__}); its log has the details")

    signal_seen = [_signal_time(reload_signal)]

    def refresh() -> None:
        signalled = _signal_time(reload_signal)
        force = signalled != signal_seen[0]  # another worker was asked to reload
        signal_seen[0] = signalled
        try:
            if scorer.refresh(force=force):
                log.info("new champion: run %s", scorer.champion.run_id)
        except Exception as exc:  # the warehouse busy or mid-write: keep scoring with this one
            scoring = "not scoring" if scorer.unavailable else f"still run {scorer.champion.run_id}"
            log.warning("could not look for a new champion (%s): %s", exc, scoring)

    unavailable = {503: {"model": answers["error"], "description": ERROR_STATUSES[503]}}

    # HEAD too (below): a liveness probe that sends it got a 405.
    @app.head("/health", include_in_schema=False)
    @app.get("/health", summary="Is the service up, and which run scores", responses=unavailable)
    def health() -> Any:
        refresh()
        if scorer.unavailable:  # up, but not scoring: the champion's data changed under it
            return JSONResponse(
                status_code=503,
                content={
                    "status": "unavailable",
                    "error": scorer.unavailable,
                    # (A run that will promote a champion of this data may be under way.)
                    **_being_written(scorer.writer),
                },
            )
        return {
            "status": "ok",
            "run_id": scorer.champion.run_id,
            "model_version": scorer.champion.version,
            **_being_written(scorer.writer),
            **_files_problem(scorer),
        }

    @app.get(
        "/model",
        summary="The champion: run, version, data, rule, holdout figures",
        responses=unavailable,
    )
    def model() -> Any:
        refresh()
        if scorer.unavailable:
            return error(503, scorer.unavailable)
        champion = scorer.champion
        details = champion.details
        return {
            "run_id": champion.run_id,
            "name": champion.label,
            "registered_version": champion.version,
            "trained_at": details.get("trained_at"),
            "data_origin": champion.data_origin,
            "data_fingerprint": details.get("data_fingerprint"),
            # The fold it was fitted on; the calibration and validation folds are apart.
            "fit_rows": details.get("n_train"),
            "classes": champion.model.class_names,
            "features": champion.model.features,
            # Those whose values are the built-in generated data (tracks/feature_origin.py).
            "generated_features": [
                f for f in champion.model.features if is_generated_feature(f, champion.data_origin)
            ],
            "decision_rule_weights": dict(
                zip(champion.model.class_names, champion.model.decision_weights or [], strict=False)
            ),
            "holdout": {
                k.removeprefix("holdout_"): _number(details.get(k))
                for k in ("holdout_accuracy", "holdout_macro_f1", "holdout_log_loss", "holdout_ece")
            },
            # Why the figures are null, when they are (they read as if missing by a fault).
            "holdout_note": (
                None
                if details.get("holdout_accuracy") is not None
                else "not measured yet: `python -m python_ml score` measures the champion on "
                "the predict split (`train` promoted it and has not scored it)"
            ),
            **_being_written(scorer.writer),
            **_files_problem(scorer),
        }

    @app.post("/reload", summary="Look for a new champion now")
    def reload() -> Any:
        from python_ml.warehouse.db import WarehouseError

        try:
            changed = scorer.refresh(force=True)
        except WarehouseError as exc:
            # A run writes it (looked at again after it), or it is gone or damaged (deleted
            # while serving: it was a 500 "the service failed"): the champion it had scores on.
            champion = scorer.champion  # None: started before a champion of its data
            still = (
                f" (still scoring with run {champion.run_id})"
                if champion is not None and scorer.unavailable is None
                else ""
            )
            return error(503, f"{exc}{still}")
        if reload_signal is not None:  # the other workers look on their next request
            os.utime(reload_signal)
            signal_seen[0] = _signal_time(reload_signal)
        if scorer.unavailable:
            return error(503, scorer.unavailable)
        if scorer.files_problem:  # its files unreadable now: it scores on as it was loaded
            return error(
                503, f"{scorer.files_problem} (still scoring with run {scorer.champion.run_id})"
            )
        return {"run_id": scorer.champion.run_id, "changed": changed}

    class StrictJSONRequest(Request):
        async def json(self) -> Any:
            if not hasattr(self, "_json"):
                try:
                    self._json = strict_json(await self.body())
                except RepeatedKey as exc:  # FastAPI passes an HTTP error on: the 422 below
                    raise StarletteHTTPException(422, str(exc)) from None
                except RecursionError:
                    # JSON, nested deeper than Python's reader goes: it was "could not be
                    # read: send UTF-8 JSON" (a 400), which sends the sender after the encoding.
                    raise StarletteHTTPException(
                        422,
                        "the body nests lists or objects thousands of levels deep: send JSON "
                        'of the form {"tracks": [{"column": value, ...}, ...]}',
                    ) from None
                except ValueError as exc:
                    # Python reads no integer of more digits than this (a guard against slow
                    # conversions); the body is JSON, so not "could not be read" (a 400).
                    if "int_max_str_digits" not in str(exc):
                        raise
                    raise StarletteHTTPException(
                        422,
                        f"the body holds an integer of more than {sys.get_int_max_str_digits():,} "
                        "digits: send each value as an ordinary number or as text",
                    ) from None
            return self._json

    class StrictJSONRoute(APIRoute):
        """A route whose JSON body is read by :func:`strict_json`: an object giving a key
        twice is a 422 naming it (FastAPI reads the body with ``request.json()``)."""

        def get_route_handler(self) -> Any:
            handler = super().get_route_handler()

            async def strict(request: Request) -> Any:
                return await handler(StrictJSONRequest(request.scope, request.receive))

            return strict

    app.router.route_class = StrictJSONRoute  # the routes below: /predict takes a body

    @app.post(
        "/predict",
        summary="Score tracks (one entry per track, in order)",
        response_model=None,
        responses={
            200: {"model": answers["predict"], "description": "The tracks, scored or rejected."},
            **{
                status: {"model": answers["error"], "description": meaning}
                for status, meaning in ERROR_STATUSES.items()
                if status not in (404, 405)
            },
        },
    )
    def predict(
        body: Annotated[
            PredictRequest,
            Body(openapi_examples={"one track": {"value": {"tracks": [EXAMPLE_TRACK]}}}),
        ],
    ) -> Any:
        if len(body.tracks) > max_tracks:
            return error(
                413,
                f"{len(body.tracks):,} tracks in one request, over the limit of {max_tracks:,}: "
                "send them in smaller batches",
            )
        for index, track in enumerate(body.tracks):
            missing = [c for c in required if c not in track]
            if missing:
                return error(
                    422,
                    f"tracks[{index}] lacks the column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}{misspelt_columns(missing, list(track))} "
                    "(popularity, id and id_artists may be left out)",
                )
            if isinstance(track.get("id"), list | dict | bool):  # was answered as its repr
                kind = {list: "a list", dict: "an object"}.get(type(track["id"]), "true/false")
                return error(
                    422,
                    f"tracks[{index}].id is {kind}: send a track's id as text, or leave it out "
                    "(one is made from the track's values)",
                )
        warnings = _unknown_keys(body.tracks)  # keys as their repr: escapes stay escaped
        refresh()
        try:
            champion, scored = batches.score_records(body.tracks)
        except ChampionUnavailable as exc:  # its data changed: as `predict`, it does not score
            return error(503, str(exc))
        except UnicodeEncodeError:
            # A lone surrogate escape ("\ud800") in a value: looked for only when the text
            # failed to encode (a look at every value costs 6 ms per 1,000 tracks).
            return error(422, _not_unicode(body.tracks) or "a track holds text that is not Unicode")
        warnings += artist_warnings(
            scored,
            lambda line: gives_artist_ids(body.tracks[line - 1].get("id_artists")),
            lambda line: f"tracks[{line - 1}]",
        )
        warnings += recency_warnings(
            scored, champion.details.get("last_release_year"), lambda line: f"tracks[{line - 1}]"
        )
        classes = champion.model.class_names

        def _rounded(reasons: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
            # Each contribution to CONTRIBUTION_DECIMALS, in place: the entries are this
            # batch's own (a new dict per reason cost about 3 ms per 1,000 tracks).
            for reason in reasons or []:
                reason["contribution"] = round(reason["contribution"], CONTRIBUTION_DECIMALS)
            return reasons or []

        # Column by column as Python values, then one dict per track (no pandas row objects).
        probabilities = scored[[f"prob_{c}" for c in classes]].to_numpy(dtype=float).tolist()
        predictions = [
            {
                "id": track_id if isinstance(track_id, str) else None,
                "status": status,
                "predicted_class": called if status == SCORED else None,
                "class_probabilities": (
                    dict(zip(classes, probs, strict=True)) if status == SCORED else None
                ),
                "reasons": _rounded(reasons) if status == SCORED else [],
                "runner_up_class": over if status == SCORED else None,
                "explanation_baseline": _number(baseline) if status == SCORED else None,
                "explained_score": _number(lead) if status == SCORED else None,
                "rejection_reason": None if status == SCORED else reason,
                "rejection_detail": None if status == SCORED else _text(detail),
            }
            for track_id, status, called, probs, reasons, over, baseline, lead, reason, detail in zip(  # noqa: E501
                scored["id"].tolist(),
                scored["status"].tolist(),
                scored["predicted_class"].tolist(),
                probabilities,
                scored["reasons"].tolist(),
                scored["runner_up_class"].tolist(),
                scored["explanation_baseline"].tolist(),
                scored["explained_score"].tolist(),
                scored["rejection_reason"].tolist(),
                scored["rejection_detail"].tolist(),
                strict=True,
            )
        ]
        # Written by orjson, as it is (plain dicts, lists, text and numbers): FastAPI's own
        # encoding walks every value in Python first (jsonable_encoder), then json.dumps; that
        # was about a third of a 1,000-track request's time.
        return Response(
            orjson.dumps(
                {
                    "run_id": champion.run_id,
                    "model_version": champion.version,
                    "data_origin": champion.data_origin,
                    "predictions": predictions,
                    "warnings": warnings,
                }
            ),
            media_type="application/json",
        )

    return app


def _files_problem(scorer: Any) -> dict[str, str]:
    """``{"warning": ...}`` while the champion scores as loaded, its files unreadable now
    (moved, damaged): said by /health and /model too, not by /reload alone."""
    if not scorer.files_problem:
        return {}
    return {"warning": f"{scorer.files_problem} (still scoring with run {scorer.champion.run_id})"}


MAX_KEY_WARNINGS = 20  # lines of the answer's warnings, one per key not scored


def _being_written(writer: str | None) -> dict[str, str]:
    """While a command writes the warehouse, the service does not look at it (DuckDB lets no
    writer in beside a reader): a champion that command promotes, which MLflow's alias names
    at once, scores from the first request after it finishes (`make run` holds the warehouse
    through scoring, the marts, the docs and the charts after training). Said beside the run
    that scores, which `/model` named as if it were the last word. ``writer`` is the lock's
    holder as it records itself (``PID 123: python -m python_ml run``, or a plain dbt's)."""
    if not writer:
        return {}
    return {
        "warehouse_busy": (
            f"the warehouse is being written by another command ({writer}): what it changes "
            "(a new champion, new data) is taken up at the first look after it finishes"
        )
    }


def _unknown_keys(tracks: list[dict[str, Any]]) -> list[str]:
    """One line per key of the tracks that is not a tracks.csv column (not scored: a misspelt
    ``id_artists`` would leave the artist features imputed without a word), naming the first
    track that has it and how many more do."""
    from python_ml.tracks.feature_path import not_track_columns

    known = set(TRACK_COLUMNS)
    where: dict[str, list[int]] = {}
    for index, track in enumerate(tracks):
        for key in track.keys() - known:
            where.setdefault(key, []).append(index)
    warnings = []
    ordered = sorted(where.items(), key=lambda item: (item[1][0], item[0]))
    for key, indexes in ordered[:MAX_KEY_WARNINGS]:
        (described,) = not_track_columns([key])
        more = f" (and {len(indexes) - 1:,} more)" if len(indexes) > 1 else ""
        warnings.append(
            f"tracks[{indexes[0]}]{more}: key {described} is not a tracks.csv column; "
            "not used in scoring"
        )
    if len(ordered) > MAX_KEY_WARNINGS:
        warnings.append(
            f"and {len(ordered) - MAX_KEY_WARNINGS:,} more keys that are not tracks.csv columns"
        )
    return warnings


def _not_unicode(tracks: list[dict[str, Any]]) -> str | None:
    """The first key or text value that is not Unicode text (JSON's ``\\ud800`` escapes decode
    to a lone surrogate, which no table or answer can hold), or None."""

    def bad(text: Any) -> bool:
        if type(text) is not str or text.isascii():  # nearly every value: checked at once
            return False
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    for index, track in enumerate(tracks):
        for key, value in track.items():
            values = value if isinstance(value, list) else [value]
            if bad(key) or any(bad(v) for v in values):
                shown = ascii(key) if bad(key) else key
                return (
                    f"tracks[{index}].{shown} is not Unicode text: it holds a lone surrogate "
                    f"escape ({ascii(value)[:60]}); send the text as UTF-8 (a character beyond "
                    "\\uffff as its pair of escapes)"
                )
    return None


def _offline_docs(app: Any) -> None:
    """OpenAPI's Swagger UI at /docs from the swagger-ui-bundle package, so the page works on a
    machine without internet (FastAPI's default loads it from a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Any:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title}: OpenAPI",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon-32x32.png",
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _signal_time(path: Path | None) -> int | None:
    try:
        return None if path is None else path.stat().st_mtime_ns
    except OSError:
        return None


def app_from_environment() -> Any:
    """The application for one worker process of ``serve --workers N`` (its settings from the
    environment, as the command's were)."""
    from python_ml.settings import load_settings
    from python_ml.steps import configure_logging

    # A worker is a new process: without this its warnings (the feature models not checked,
    # a champion unavailable) came out as bare text, with no time or level.
    configure_logging()
    signal = os.environ.get(RELOAD_SIGNAL_ENV)
    return create_app(load_settings(), reload_signal=Path(signal) if signal else None)


def check_address(host: str, port: int, option: str = "--port", example: str = "") -> None:
    """The service can listen on ``host``:``port`` (bound and let go at once, as uvicorn then
    binds it), or one line saying why not and what to pass instead: ``option``, how the port
    is given (``serve``'s ``--port``, or a make variable), and ``example``, a command with a
    free port, said after it."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, OverflowError):
        raise ServiceConfigError(
            f"--host {host}: not an address or host name this machine knows: pass --host "
            "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "is in use (another service, or this one already running)"
                advice = f"stop it, or pass another {option}{example}"
            elif exc.errno == errno.EACCES:
                reason = "needs privileges (ports below 1024)"
                advice = f"pass {option} 1024 or above"
            else:
                reason = f"cannot be listened on ({exc.strerror})"
                advice = "pass --host 127.0.0.1 or 0.0.0.0"
            raise ServiceConfigError(f"{host}:{port} {reason}: {advice}") from None


def _free_port_near(host: str, port: int) -> int | None:
    """The first of the next 20 ports that ``host`` takes, for a message's example."""
    import socket

    for candidate in range(port + 1, min(port + 21, 65536)):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def check_port_for_make(argv: list[str]) -> int:
    """``make app``, ``serve``, ``dagster``, ``mlflow-ui`` and ``docs-serve`` before their
    server starts (``argv``: the make variable, its value, the target): 0 when 127.0.0.1 takes
    the port, else 1 and one line naming it and the variable to set. On a port in use Streamlit
    said only ``Port 8501 is not available``, Dagster's ``dev`` kept running (its daemons beside
    the first one's, without its UI), MLflow's exited 0 after uvicorn's ``[Errno 98]`` and dbt's
    docs server ended in a traceback."""
    variable, value, target = argv
    host = "127.0.0.1"
    try:
        port = int(value)
        if not 1 <= port <= 65535:
            raise ValueError(value)
    except ValueError:
        print(
            f"make {target}: {variable}={value!r}: a port number from 1 to 65535", file=sys.stderr
        )
        return 1
    try:
        check_address(host, port, option=variable)
    except ServiceConfigError:
        free = _free_port_near(host, port)
        example = f": make {target} {variable}={free}" if free is not None else ""
        try:
            check_address(host, port, option=variable, example=example)
        except ServiceConfigError as exc:
            print(f"make {target}: {exc}", file=sys.stderr)
            return 1
    return 0


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service until Ctrl-C: one process, or ``workers`` processes sharing the port
    (each with its own champion and compiled models; Python scores one batch per process at a
    time, so one per core is what scales)."""
    import uvicorn

    for name in LIMITS:  # a bad limit is named before anything starts
        limit(name)
    check_address(host, port)

    def announce() -> None:
        log.info(
            "scoring service on http://%s:%d (OpenAPI: /docs), %d worker process(es); Ctrl-C "
            "stops it",
            host,
            port,
            workers,
        )

    if workers == 1:
        # The champion and the compiled models first: a warehouse another program holds is
        # said before the service's address (it was announced, then the service exited).
        app = create_app(settings)
        announce()
        uvicorn.run(app, host=host, port=port, log_level="warning")
    else:
        announce()
        with tempfile.TemporaryDirectory(prefix="music-serve-") as tmp:
            signal = Path(tmp) / "reload"
            signal.touch()
            os.environ[RELOAD_SIGNAL_ENV] = str(signal)  # read by each worker process
            uvicorn.run(
                "python_ml.service:app_from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
            )
