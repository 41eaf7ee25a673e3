"""Every error the app produces is an RFC 9457 problem: never HTML, never a stack trace."""

import pytest

from app import create_app

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def assert_problem(resp, status):
    """The response is a problem document with the given status."""
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    assert b"<html" not in resp.data.lower() and b"Traceback" not in resp.data
    return body


def test_malformed_json_is_400(client, auth):
    """Broken JSON is a 400 problem."""
    resp = client.post("/v1/motions", data='{"name": ', content_type="application/json", headers=auth)
    assert_problem(resp, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(client, auth, content_type):
    """A body that is not JSON is a 415 problem."""
    resp = client.post("/v1/motions", data="name=Ann", content_type=content_type, headers=auth)
    assert_problem(resp, 415)


def test_json_with_charset_is_fine(client, auth):
    """application/json; charset=utf-8 is JSON."""
    import json

    resp = client.post(
        "/v1/motions", data=json.dumps(VALID), content_type="application/json; charset=utf-8", headers=auth
    )
    assert resp.status_code == 202


def test_body_over_the_limit_is_413(client, auth):
    """A body over 64 KiB is a 413 problem."""
    big = {**VALID, "description": "x" * (70 * 1024)}
    problem = assert_problem(client.post("/v1/motions", json=big, headers=auth), 413)
    assert "65536 bytes" in problem["detail"]


def test_unknown_route_is_404(client, auth):
    """Unknown paths, inside and outside /v1, are 404 problems."""
    assert_problem(client.get("/v1/nothing-here", headers=auth), 404)
    assert_problem(client.get("/nothing-here"), 404)


def test_wrong_method_is_405_with_allow(client, auth):
    """A wrong method is a 405 problem that lists the allowed ones."""
    resp = client.delete("/v1/motions", headers=auth)
    assert_problem(resp, 405)
    assert "POST" in resp.headers["Allow"] and "GET" in resp.headers["Allow"]


def test_unhandled_exception_is_a_bare_500(settings):
    """A bug answers a 500 problem with no stack trace."""
    app = create_app(settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/boom")
    body = assert_problem(resp, 500)
    assert "secret internals" not in resp.get_data(as_text=True)
    assert body["title"] == "Internal Server Error"


def test_validation_problem_shape(client, auth):
    """A 422 carries errors: {field: [messages]} and names the fields in detail."""
    body = assert_problem(client.post("/v1/motions", json={**VALID, "model": "9"}, headers=auth), 422)
    assert body["errors"] == {"model": ["Must be one of: 1.0, 2.0, 2.0-Pro, 3.0."]}
    assert "model" in body["detail"]


def test_database_outage_is_503_with_retry_after(settings, make_caller):
    """With the database unreachable, requests get 503 problem+json with Retry-After, never 500."""
    from devstack.redis import free_port

    _, key = make_caller()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(settings.with_overrides(database_url=url))
    resp = app.test_client().get("/v1/motions", headers={"Authorization": f"Bearer {key}"})
    body = assert_problem(resp, 503)
    assert resp.headers["Retry-After"] == "5" and "database" in body["detail"]
