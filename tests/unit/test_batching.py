"""The service's batching of concurrent requests (tracks/scorer.py BatchingScorer): requests
that arrive while a batch is scored are scored together, and each gets back exactly its own
rows, as if scored alone; requests sharing a track id never share a batch; a failing batch is
retried request by request. A fake scorer stands in for the champion and the dbt rules."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from python_ml.tracks.scorer import BatchingScorer


class FakeScorer:
    """Scores a track as its ``value``; fails on a track named ``boom``. The first batch waits
    until ``release`` is set, so that the requests sent meanwhile queue up."""

    champion = "champion-1"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()

    def score_records(self, records):
        if not self.batches:
            self.release.wait(10)
        self.batches.append([r["id"] for r in records])
        if any(r.get("name") == "boom" for r in records):
            raise RuntimeError("boom")
        return self.champion, pd.DataFrame(
            {
                "line": range(1, len(records) + 1),
                "id": [r["id"] for r in records],
                "predicted_class": [r["value"] for r in records],
            }
        )


def _send(batching: BatchingScorer, requests: list[list[dict]]) -> list:
    with ThreadPoolExecutor(len(requests)) as pool:
        futures = [pool.submit(batching.score_records, request) for request in requests]
        time.sleep(0.3)  # every request queued behind the first batch
        batching.scorer.release.set()
        return [f.exception() or f.result() for f in futures]


def test_queued_requests_are_scored_together_and_each_gets_its_own_rows() -> None:
    fake = FakeScorer()
    batching = BatchingScorer(fake)
    requests = [[{"id": f"r{i}t{j}", "value": f"v{i}.{j}"} for j in range(i + 1)] for i in range(5)]
    results = _send(batching, requests)
    for request, (champion, rows) in zip(requests, results, strict=True):
        assert champion == "champion-1"
        assert rows["line"].tolist() == list(range(1, len(request) + 1))
        assert rows["id"].tolist() == [t["id"] for t in request]
        assert rows["predicted_class"].tolist() == [t["value"] for t in request]
    assert len(fake.batches) <= 2  # the requests queued behind the first batch went together
    assert sorted(i for batch in fake.batches for i in batch) == sorted(
        t["id"] for request in requests for t in request
    )


def test_requests_sharing_a_track_id_are_never_in_one_batch() -> None:
    fake = FakeScorer()
    batching = BatchingScorer(fake)
    # The dbt rules trim ids: " shared" is the same track as "shared".
    sent = [[{"id": i, "value": "a"}] for i in ("shared", "shared", " shared", "shared ")]
    results = _send(batching, sent)
    assert [rows["predicted_class"].tolist() for _, rows in results] == [["a"]] * 4
    assert all(sum(i.strip() == "shared" for i in batch) <= 1 for batch in fake.batches)


def test_a_failing_request_fails_alone() -> None:
    fake = FakeScorer()
    batching = BatchingScorer(fake)
    good = [[{"id": f"g{i}", "value": "ok"}] for i in range(3)]
    bad = [{"id": "b", "name": "boom", "value": "x"}]
    results = _send(batching, [good[0], bad, good[1], good[2]])
    assert isinstance(results[1], RuntimeError)
    for result in (results[0], results[2], results[3]):
        assert result[1]["predicted_class"].tolist() == ["ok"]


def test_a_large_request_is_scored_alone() -> None:
    fake = FakeScorer()
    fake.release.set()
    batching = BatchingScorer(fake, alone_from=3)
    tracks = [{"id": f"t{i}", "value": str(i)} for i in range(3)]
    _, rows = batching.score_records(tracks)
    assert rows["id"].tolist() == ["t0", "t1", "t2"] and fake.batches == [["t0", "t1", "t2"]]


@pytest.mark.parametrize("id_value", [None, "", "  "])
def test_a_track_without_an_id_is_batched_under_the_id_made_from_its_content(id_value) -> None:
    fake = FakeScorer()
    batching = BatchingScorer(fake)
    # The same content in two requests queued together: the same made-up id, so never in one
    # batch.
    track = {"id": id_value, "name": "x", "value": "v"}
    first = {"id": "first", "value": "f"}
    results = _send(batching, [[first], [dict(track)], [dict(track)]])
    assert all(not isinstance(r, Exception) for r in results)
    assert all(batch.count(id_value) == 1 for batch in fake.batches if id_value in batch)
    assert sum(batch.count(id_value) for batch in fake.batches) == 2
