"""The operator token guards every ops route."""

import pytest

ROUTES = ("/ops", "/ops/data.json")


@pytest.mark.parametrize("path", ROUTES)
def test_refuses_a_request_without_a_token(ops_client, path):
    """No token at all is a 401 problem."""
    resp = ops_client.get(path)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ROUTES)
def test_refuses_a_wrong_token_in_header_or_query(ops_client, ops_token, path):
    """A wrong token is refused whether it comes as a header or in the query string."""
    assert ops_client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ops_client.get(path, query_string={"token": "wrong"}).status_code == 401
    assert ops_client.get(path, query_string={"token": ops_token + "x"}).status_code == 401
    assert ops_client.get(path, query_string={"token": "ünïcode"}).status_code == 401


@pytest.mark.parametrize("path", ROUTES)
def test_accepts_the_token_in_header_or_query(ops_client, ops_token, path):
    """The right token opens the route either way, and the answer is not cached."""
    by_header = ops_client.get(path, headers={"Authorization": f"Bearer {ops_token}"})
    by_query = ops_client.get(path, query_string={"token": ops_token})
    assert by_header.status_code == by_query.status_code == 200
    assert by_query.headers["Cache-Control"] == "no-store"
    assert by_query.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_never_contains_the_token(ops_client, ops_token):
    """The token is not written into the page (the refresh reloads the same URL instead)."""
    page = ops_client.get("/ops", query_string={"token": ops_token}).get_data(as_text=True)
    assert ops_token not in page
    assert '<meta http-equiv="refresh" content="10">' in page
