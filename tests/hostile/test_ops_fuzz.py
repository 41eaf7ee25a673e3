"""Generated hostile requests at /ops: odd tokens, cookies, forms and queries never cause a 5xx."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.conftest import assert_answered
from tests.hostile.strategies import HOSTILE, header_value, hostile_text, url_part

PAGES = ["/ops", "/ops/data.json", "/ops/login", "/ops/logout", "/ops/nothing"]


@pytest.mark.filterwarnings("ignore:The 'mg_ops' cookie is too large")  # an over-long cookie is the point
@HOSTILE
@given(page=st.sampled_from(PAGES), token=header_value, cookie=header_value, query=hostile_text)
def test_odd_credentials_never_open_ops_nor_fail(app, page, token, cookie, query):
    """An odd Bearer token, login cookie and query: never a 5xx, never the operator data."""
    client = app.test_client()
    client.set_cookie("mg_ops", cookie, path="/ops")
    resp = client.get(f"{page}?token={url_part(query)}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code < 500 and not (page == "/ops/data.json" and resp.status_code == 200)
    if resp.mimetype != "text/html":  # the login form is a page for people; everything else a problem
        assert_answered(resp)


@HOSTILE
@given(token=hostile_text)
def test_odd_login_forms_are_refused_cleanly(client, token):
    """Any text posted to the login form: the form again with 401, never a 5xx."""
    resp = client.post("/ops/login", data={"token": token.encode("utf-8", "surrogatepass")})
    assert resp.status_code == 401 and b"Traceback" not in resp.data


@HOSTILE
@given(query=st.dictionaries(hostile_text, hostile_text, max_size=3), accept=header_value)
def test_the_operator_is_served_whatever_else_is_sent(app, client, query, accept):
    """With the real token, odd query parameters and Accept headers do not break the data."""
    query_string = "&".join(f"{url_part(name)}={url_part(value)}" for name, value in query.items())
    token = app.config["SETTINGS"].ops_token
    resp = client.get(f"/ops/data.json?{query_string}", headers={"Authorization": f"Bearer {token}", "Accept": accept})
    assert resp.status_code == 200 and resp.is_json
