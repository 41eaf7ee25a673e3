"""A GET on the caller API runs its statements without a transaction; the connection then serves writes as before."""

import pytest
from sqlalchemy import event

from tests.api.test_motions import VALID, create


@pytest.fixture
def statements(engine):
    """For each statement the app sends, whether its connection was in autocommit."""
    seen = []

    def note(connection, *_args):
        dbapi = connection.connection.dbapi_connection
        seen.append(bool(dbapi.autocommit if hasattr(dbapi, "autocommit") else dbapi.isolation_level is None))

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_get_reads_in_autocommit_and_a_post_after_it_writes_in_a_transaction(client, auth, statements):
    """The GET's reads (the key's lookup included) run on their own; the next request on the same pooled
    connection, a POST, is back in a transaction (all of its writes commit together or not at all)."""
    made = create(client, auth)
    statements.clear()
    assert client.get("/v1/motions/" + made["id"], headers=auth).status_code == 200
    assert statements and all(statements)
    statements.clear()
    assert client.post("/v1/motions", json={**VALID, "name": "Bo"}, headers=auth).status_code == 202
    assert statements and not any(statements)


@pytest.mark.parametrize("path", ["/v1/motions", "/v1/events", "/v1/usage"])
def test_every_caller_api_read_runs_without_a_transaction(client, auth, statements, path):
    """The list, the event feed and the usage report read the same way; each answers as before."""
    create(client, auth)
    statements.clear()
    assert client.get(path, headers=auth).status_code == 200
    assert statements and all(statements)


def test_a_get_whose_caller_key_is_unknown_still_answers_401(client, statements):
    """The key's lookup is the first read of the request: it runs in autocommit too, and refuses as before."""
    answer = client.get("/v1/motions", headers={"Authorization": "Bearer mg_unknown"})
    assert answer.status_code == 401
    assert all(statements)
