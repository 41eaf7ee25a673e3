"""GET /v1/usage: a caller's own credits per day and model, its quota, and hostile query strings."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Caller, Motion, Status


def _motion(caller_id, model="2.0", status=Status.COMPLETED, **fields):
    return Motion(caller_id=caller_id, status=status, image_url="https://example.com/a.png", name="n",
                  voice_id="v", model=model, **fields)  # fmt: skip


def _headers(key):
    return {"Authorization": f"Bearer {key}"}


def test_usage_counts_charges_by_day_and_model_and_reuse_for_nothing(client, session, make_caller):
    """Charged motions on their charge day, reused ones with 0 credits on their creation day, nothing uncharged."""
    caller_id, key = make_caller()
    day = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    session.add_all([
        _motion(caller_id, credits=2, charged_at=day),
        _motion(caller_id, credits=2, charged_at=day + timedelta(minutes=10)),  # 23:40, same day
        _motion(caller_id, model="2.0-Pro", credits=3, charged_at=day + timedelta(hours=1)),  # next day
        _motion(caller_id, credits=0, created_at=day),  # reused: counted, free
        _motion(caller_id, status=Status.QUEUED),  # not charged yet: not counted
        _motion(caller_id, credits=2, charged_at=day + timedelta(days=40)),  # outside the range
    ])  # fmt: skip
    session.commit()
    response = client.get("/v1/usage?from=2026-03-01&to=2026-03-31", headers=_headers(key))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-31"
    assert body["items"] == [
        {"day": "2026-03-10", "model": "2.0", "motions": 3, "credits": 4},
        {"day": "2026-03-11", "model": "2.0-Pro", "motions": 1, "credits": 3},
    ]
    assert (body["total_credits"], body["total_motions"], body["quota"]) == (7, 4, None)


def test_another_callers_motions_never_appear(client, session, make_caller):
    """Usage is the calling caller's only."""
    mine, key = make_caller()
    theirs, _ = make_caller()
    now = datetime.now(UTC)
    session.add_all(
        [_motion(theirs, credits=3, model="2.0-Pro", charged_at=now), _motion(mine, credits=2, charged_at=now)]
    )
    session.commit()
    body = client.get("/v1/usage", headers=_headers(key)).get_json()
    assert [(item["model"], item["credits"]) for item in body["items"]] == [("2.0", 2)]
    assert body["from"] == now.date().replace(day=1).isoformat()


def test_usage_shows_the_quota_with_used_and_reserved(client, session, make_caller):
    """A caller with a daily quota sees what it used today and what its queued motions reserve."""
    caller_id, key = make_caller()
    caller = session.get(Caller, caller_id)
    caller.quota_credits, caller.quota_period = 10, "day"
    session.add_all([_motion(caller_id, credits=2, charged_at=datetime.now(UTC)),
                     _motion(caller_id, model="2.0-Pro", status=Status.QUEUED)])  # fmt: skip
    session.commit()
    quota = client.get("/v1/usage", headers=_headers(key)).get_json()["quota"]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert quota == {"credits": 10, "period": "day", "used": 2, "reserved": 3,
                     "resets_at": f"{tomorrow.isoformat()}T00:00:00+00:00"}  # fmt: skip


def test_invalid_days_are_named(client, auth):
    """Not a day, an impossible day, from after to and a too-long range: 422 naming the field."""
    for query, field in [("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-02-30", "from"),
                         ("from=2026-03-02&to=2026-03-01", "from"), ("from=2020-01-01&to=2026-01-01", "to"),
                         ("since=2026-01-01", "since")]:  # fmt: skip
        response = client.get(f"/v1/usage?{query}", headers=auth)
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], (query, response.get_json())


def test_usage_needs_an_api_key(client):
    """No key, no usage."""
    assert client.get("/v1/usage").status_code == 401


def test_usage_is_in_the_openapi_document(client):
    """The route, its query and its answer are documented."""
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/usage"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}
    assert "200" in operation["responses"] and "422" in operation["responses"]


query_value = st.one_of(
    st.text(max_size=30),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0000-00-00",
            "9999-12-31",
            "2026-02-29",
            "-1",
            "2026-1-1",
            "２０２６-01-01",
            "%00",
            "\x00",
            "\ud800",
            "2026-01-01\n",
        ]
    ),
)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=query_value, last=query_value)
def test_hostile_query_strings_never_5xx(client, auth, first, last):
    """Any from and to: 200 or a 4xx problem, never a server error."""
    raw = {
        name: quote(value.encode("utf-8", "surrogatepass"), safe="") for name, value in (("from", first), ("to", last))
    }
    response = client.get(f"/v1/usage?from={raw['from']}&to={raw['to']}", headers=auth)
    assert response.status_code in (200, 400, 422), (first, last, response.status_code)
    if response.status_code != 200:
        assert response.mimetype == "application/problem+json"
