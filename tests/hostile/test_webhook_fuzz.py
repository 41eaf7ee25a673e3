"""Generated hostile webhooks: unsigned ones are refused (401 problem), signed ones acknowledged and kept raw."""

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.models import JoggEvent
from tests.hostile.conftest import assert_answered, sign
from tests.hostile.strategies import HOSTILE, deep_value, dumps, header_value, hostile_text, json_value

EVENTS = ["generated_motion_success", "generated_motion_failed", "generated_video_success", ""]
# Bodies shaped like JoggAI's, with any value where a field would be; and bodies of any bytes at all.
webhook_body = st.one_of(
    st.fixed_dictionaries(
        {"event": st.one_of(st.sampled_from(EVENTS), json_value), "event_id": st.one_of(hostile_text, json_value)},
        optional={"data": st.one_of(st.fixed_dictionaries({"motion_id": json_value}), json_value, deep_value)},
    ).map(lambda body: dumps(body).encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
)


def post(client, raw: bytes, headers: dict):
    """Send a webhook with the given headers."""
    return client.post("/webhooks/jogg", data=raw, content_type="application/json", headers=headers)


def events_stored(session) -> int:
    """How many webhook events are stored."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(JoggEvent))


@HOSTILE
@given(raw=webhook_body, signature=st.one_of(st.none(), header_value), event=header_value)
def test_unsigned_or_badly_signed_webhooks_are_401(client, session, raw, signature, event):
    """Any body with a missing or odd signature (non-ASCII, NUL, long): 401 problem, nothing stored."""
    headers = {"X-Webhook-Event": event} | ({"X-Webhook-Signature": signature} if signature is not None else {})
    resp = post(client, raw, headers)
    assert_answered(resp)
    assert resp.status_code == 401
    assert events_stored(session) == 0


@HOSTILE
@given(raw=webhook_body, event=header_value)
def test_signed_webhooks_are_acknowledged_and_kept_raw(client, session, raw, event):
    """Any correctly signed body (odd text, NUL, wrong types, deep nesting, not JSON): 200, its raw bytes stored."""
    resp = post(client, raw, {"X-Webhook-Signature": sign(raw), "X-Webhook-Event": event})
    assert resp.status_code == 200, resp.data
    assert raw in {stored for stored in session.scalars(select(JoggEvent.raw_body))} or resp.get_json()["duplicate"]
