"""The operator token guards every ops route: a Bearer header, or the cookie the login form sets."""

import pytest

from app.ops.views import COOKIE

ROUTES = ("/ops", "/ops/data.json")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def login(client, token: str):
    """POST the login form as a browser would."""
    return client.post("/ops/login", data={"token": token})


@pytest.mark.parametrize("path", ROUTES)
def test_refuses_a_request_without_credentials(ops_client, path):
    """No token at all is a 401 problem for an API client."""
    resp = ops_client.get(path)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_without_credentials_is_sent_to_the_login_form(ops_client):
    """A browser navigation to /ops is redirected to /ops/login, which shows a password form."""
    resp = ops_client.get("/ops", headers={"Accept": BROWSER_ACCEPT})
    assert resp.status_code == 303 and resp.headers["Location"] == "/ops/login"
    form = ops_client.get("/ops/login")
    assert form.status_code == 200 and form.mimetype == "text/html"
    page = form.get_data(as_text=True)
    assert '<form method="post" action="/ops/login"' in page and 'type="password"' in page


@pytest.mark.parametrize("path", ROUTES)
def test_refuses_a_wrong_token(ops_client, ops_token, path):
    """A wrong Bearer token is refused, and so is a wrong or non-ASCII one in the form."""
    assert ops_client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ops_client.get(path, headers={"Authorization": f"Bearer {ops_token}x"}).status_code == 401
    for wrong in ("wrong", ops_token + "x", "ünïcode", "nul\x00", ""):
        resp = login(ops_client, wrong)
        assert resp.status_code in (400, 401) and COOKIE not in resp.headers.get("Set-Cookie", "")
    assert ops_client.get(path).status_code == 401


@pytest.mark.parametrize("path", ROUTES)
def test_the_query_token_is_no_longer_accepted(ops_client, ops_token, path):
    """`?token=` opens nothing, even with the right token."""
    resp = ops_client.get(path, query_string={"token": ops_token})
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    browser = ops_client.get(path, query_string={"token": ops_token}, headers={"Accept": BROWSER_ACCEPT})
    assert browser.status_code == 303 and browser.headers["Location"] == "/ops/login"


@pytest.mark.parametrize("path", ROUTES)
def test_accepts_the_bearer_token(ops_client, ops_token, path):
    """The right Bearer token opens the route, and the answer is not cached."""
    resp = ops_client.get(path, headers={"Authorization": f"Bearer {ops_token}"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_the_login_form_sets_a_signed_cookie_that_opens_the_page(ops_client, ops_token):
    """A correct login redirects to /ops with an HttpOnly, SameSite=Strict cookie that is not the token."""
    resp = login(ops_client, ops_token)
    assert resp.status_code == 303 and resp.headers["Location"] == "/ops"
    set_cookie = resp.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=") and ops_token not in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/ops" in set_cookie
    assert "Secure" not in set_cookie  # plain http here; https requests get Secure
    for path in ROUTES:
        assert ops_client.get(path).status_code == 200


def test_the_cookie_is_secure_over_https(ops_client, ops_token):
    """A login over https, or through a proxy that terminated https, sets a Secure cookie."""
    resp = ops_client.post("/ops/login", data={"token": ops_token}, base_url="https://localhost")
    assert "Secure" in resp.headers["Set-Cookie"]
    proxied = ops_client.post("/ops/login", data={"token": ops_token}, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["Set-Cookie"]


def test_a_forged_or_foreign_cookie_opens_nothing(ops_app, ops_client, ops_token, make_ops_app, settings):
    """A made-up cookie, or one signed under another operator token, is refused."""
    ops_client.set_cookie(COOKIE, "operator", path="/ops")
    assert ops_client.get("/ops/data.json").status_code == 401
    other = make_ops_app(settings.with_overrides(ops_token="another-token-entirely")).test_client()
    foreign = login(other, "another-token-entirely").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    ops_client.set_cookie(COOKIE, foreign, path="/ops")
    assert ops_client.get("/ops/data.json").status_code == 401


def test_logout_forgets_the_cookie(ops_client, ops_token):
    """After logging out the page asks for credentials again."""
    login(ops_client, ops_token)
    assert ops_client.get("/ops/data.json").status_code == 200
    assert ops_client.post("/ops/logout").status_code == 303
    assert ops_client.get("/ops/data.json").status_code == 401


def test_the_page_never_contains_the_token(ops_client, ops_token):
    """The token is not written into the page (the refresh reloads the same URL with the cookie)."""
    page = ops_client.get("/ops", headers={"Authorization": f"Bearer {ops_token}"}).get_data(as_text=True)
    assert ops_token not in page
    assert '<meta http-equiv="refresh" content="10">' in page
