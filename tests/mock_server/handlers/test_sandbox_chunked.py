"""The chunked sandbox controls over HTTP: same contract, idempotent, and the clock tells progress.

``advance_clock`` and ``reset`` commit in chunks outside the request's unit of work (and, by
default, run in a child process), so their ``Idempotency-Key`` handling takes a separate path in the
gateway; these tests pin that it still replays instead of advancing twice.
"""

from __future__ import annotations

from tests.fixtures.sandbox import RunningSandbox


def test_a_keyed_advance_is_replayed_not_repeated(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory()
    with box.client(**{"Idempotency-Key": "advance-once"}) as keyed, box.client() as plain:
        first = keyed.post("/v1/sandbox/clock/advance", json={"days": 3})
        again = keyed.post("/v1/sandbox/clock/advance", json={"days": 3})
        other = keyed.post("/v1/sandbox/clock/advance", json={"days": 4})
        clock = plain.get("/v1/sandbox/clock").json()
    assert first.status_code == 200 and first.json()["offset_seconds"] == 3 * 86_400
    assert first.json()["generated"]["pain_entries"] > 0
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert clock["offset_seconds"] == 3 * 86_400 and "advancing_to" not in clock


def test_reset_over_http_returns_the_seeded_world(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory()
    with box.client() as alpha, box.client(box.second_api_key) as beta:
        patients = alpha.get("/v1/patients").json()["data"]
        patient = patients[0]["id"]
        page = alpha.get(f"/v1/patients/{patient}/pain-entries", params={"per_page": 100}).json()
        beta_before = beta.get("/v1/sandbox/patients").json()
        assert alpha.post("/v1/sandbox/clock/advance", json={"days": 20}).status_code == 200
        reset = alpha.post("/v1/sandbox/reset")
        assert reset.status_code == 200, reset.text
        assert reset.json()["removed_records"] > 0 and reset.json()["patients"] == 25
        assert alpha.get("/v1/sandbox/clock").json()["offset_seconds"] == 0
        assert [p["id"] for p in alpha.get("/v1/patients").json()["data"]] == [p["id"] for p in patients]
        assert alpha.get(f"/v1/patients/{patient}/pain-entries", params={"per_page": 100}).json() == page
        assert beta.get("/v1/sandbox/patients").json() == beta_before  # the other workspace untouched
