"""The web process remembers recognised API keys for KEY_CACHE_SECONDS at most; unknown keys are never remembered."""

from contextlib import contextmanager

from sqlalchemy import event

from app.domain import callers


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def caller_reads(engine):
    """Record the statements that read the callers table inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        if "FROM callers" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_known_key_is_not_looked_up_again_within_the_bound(client, make_caller, engine, monkeypatch):
    """A second request with the same key reads no caller row."""
    clock = Clock()
    monkeypatch.setattr(callers.time, "monotonic", clock)
    _, key = make_caller()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/motions", headers=headers).status_code == 200
    with caller_reads(engine) as seen:
        assert client.get("/v1/motions", headers=headers).status_code == 200
    assert seen == []


def test_a_revoked_key_is_refused_once_the_bound_has_passed(client, session, make_caller, monkeypatch):
    """Revocation applies within KEY_CACHE_SECONDS: accepted from memory just before, refused just after."""
    clock = Clock()
    monkeypatch.setattr(callers.time, "monotonic", clock)
    _, key = make_caller("revoked-later")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/motions", headers=headers).status_code == 200
    callers.disable(session, "revoked-later")
    session.commit()
    clock.now += callers.KEY_CACHE_SECONDS - 0.1
    assert client.get("/v1/motions", headers=headers).status_code == 200
    clock.now += 0.2
    assert client.get("/v1/motions", headers=headers).status_code == 401


def test_unknown_keys_cost_one_lookup_each_and_are_not_remembered(client, engine):
    """Each wrong key is one indexed lookup, every time."""
    with caller_reads(engine) as seen:
        for _ in range(3):
            assert client.get("/v1/motions", headers={"Authorization": "Bearer mgw_wrong"}).status_code == 401
    assert len(seen) == 3
