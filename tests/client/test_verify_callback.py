"""verify_callback on hostile input: tampered bodies, garbled headers, old timestamps raise InvalidCallback only."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from motion_gateway_client import Event, InvalidCallback, verify_callback
from motion_gateway_client.flask import callback_blueprint
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"client-test-secret-0123456789abc").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-for-the-rotation").decode()
NOW = 1_800_000_000
MOTION = {
    "id": "mot_1", "status": "completed", "image_url": "https://img.example.com/a.png", "name": "n",
    "voice_id": "v", "model": "2.0", "priority": "normal", "preview_url": "https://cdn.example.com/m.mp4",
    "created_at": "2026-11-24T08:00:00+00:00", "updated_at": "2026-11-24T08:02:02+00:00",
}  # fmt: skip
EVENT = {"id": "evt_1", "type": "motion.completed", "created_at": "2026-11-24T08:02:02.436130+00:00",
         "sequence": 2, "data": MOTION}  # fmt: skip
BODY = json.dumps(EVENT).encode()
FUZZ = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def signature(secret: str, msg_id: str, at: int, body: bytes) -> str:
    """One v1 signature: by the standardwebhooks library (the service's signer), by hand for non-UTF-8 bodies."""
    try:
        return Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, tz=UTC), body.decode())
    except UnicodeDecodeError:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{at}.".encode() + body, hashlib.sha256).digest()
        return "v1," + base64.b64encode(mac).decode()


def signed(body: bytes = BODY, msg_id: str = "evt_1", at: int = NOW, secrets: tuple[str, ...] = (SECRET,)) -> dict:
    """Headers as the gateway sends them."""
    signatures = " ".join(signature(secret, msg_id, at, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": signatures}


def outcome(headers, body, secret=SECRET, now=NOW):
    """verify_callback's event, or the InvalidCallback it raised (any other exception fails the test)."""
    try:
        return verify_callback(headers, body, secret, now=now)
    except InvalidCallback as exc:
        return exc


def test_a_genuine_callback_gives_its_event():
    """Signed with the secret, on time: the typed event, equal whatever the case of the header names."""
    event = verify_callback(signed(), BODY, SECRET, now=NOW)
    assert isinstance(event, Event) and event.id == "evt_1" and event.sequence == 2
    assert event.data.preview_url == MOTION["preview_url"] and event.raw == EVENT
    shouting = {name.upper(): value for name, value in signed().items()}
    assert verify_callback(shouting, BODY.decode(), SECRET, now=NOW) == event


def test_rotation_either_secret_verifies_two_signatures():
    """Two signatures (new and old): a receiver holding either one, or both, accepts; a third secret does not."""
    headers = signed(secrets=(OTHER_SECRET, SECRET))
    for secret in (SECRET, OTHER_SECRET, [SECRET, OTHER_SECRET], ["whsec_QUJD", SECRET]):
        assert verify_callback(headers, BODY, secret, now=NOW).id == "evt_1"
    with pytest.raises(InvalidCallback, match="no signature"):
        verify_callback(headers, BODY, "whsec_" + base64.b64encode(b"x" * 24).decode(), now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, -(10**6), NOW])
def test_timestamps_outside_the_tolerance_are_refused(skew):
    """Older or newer than 5 minutes (or any other tolerance given): refused, even when correctly signed."""
    headers = signed(at=max(0, NOW + skew))
    with pytest.raises(InvalidCallback, match="webhook-timestamp"):
        verify_callback(headers, BODY, SECRET, now=NOW)
    assert verify_callback(signed(at=NOW - 250), BODY, SECRET, now=NOW).id == "evt_1"
    with pytest.raises(InvalidCallback):
        verify_callback(signed(at=NOW - 250), BODY, SECRET, now=NOW, tolerance=60)


def test_missing_headers_and_a_mismatched_id_are_refused():
    """Each header is required; a webhook-id that is not the event's id is refused."""
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in signed().items() if k != missing}
        with pytest.raises(InvalidCallback, match=missing):
            verify_callback(headers, BODY, SECRET, now=NOW)
    with pytest.raises(InvalidCallback, match="event's id"):
        verify_callback(signed(msg_id="evt_other"), BODY, SECRET, now=NOW)


def test_a_malformed_secret_is_a_value_error_not_a_refusal():
    """The receiver's own secret is checked apart from the callback: a ValueError naming it."""
    for secret in ("whsec_not base64!", "whsec_", []):
        with pytest.raises(ValueError, match="secret") as caught:
            verify_callback(signed(), BODY, secret, now=NOW)
        assert not isinstance(caught.value, InvalidCallback)


@FUZZ
@given(position=st.integers(min_value=0), replacement=st.integers(min_value=0, max_value=255), extra=st.binary())
def test_tampered_bodies_are_refused(position, replacement, extra):
    """Any changed byte, or bytes added, breaks the signature."""
    body = bytearray(BODY)
    position %= len(body)
    body[position] = replacement if replacement != body[position] else (replacement + 1) % 256
    for tampered in (bytes(body), BODY + (extra or b" ")):
        result = outcome(signed(), tampered)
        assert isinstance(result, InvalidCallback)


header_text = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["", " ", "v1,", "v1", ",", "v1,!!!", "v2,abc", "v1,AAAA", "1e3", "-1", "NaN", "99999999999999999999", "\x00"]
)


@FUZZ
@given(
    names=st.fixed_dictionaries({}, optional={n: header_text for n in ("webhook-id", "webhook-timestamp")}),
    signature=header_text,
    junk=st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3),
)
def test_garbled_headers_are_refused_never_crash(names, signature, junk):
    """Random header values (non-ASCII, NUL, garbled signatures): InvalidCallback, nothing else."""
    headers = {**junk, **names, "webhook-signature": signature}
    result = outcome(headers, BODY)
    assert isinstance(result, InvalidCallback)


@FUZZ
@given(good=st.sampled_from(["webhook-id", "webhook-timestamp"]), value=header_text)
def test_one_garbled_header_among_good_ones_is_refused(good, value):
    """Genuine headers with one replaced by junk: refused (the signature covers the id and the timestamp)."""
    headers = {**signed(), good: value}
    result = outcome(headers, BODY)
    assert isinstance(result, InvalidCallback) or headers == signed()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()), field=st.sampled_from(
    ["id", "type", "created_at", "sequence", "data"]), value=json_values)  # fmt: skip
def test_signed_bodies_that_are_not_events_are_refused(body, field, value):
    """A correctly signed body that is not an event (binary, other JSON, a field of the wrong type): refused."""
    for candidate in (body, json.dumps({**EVENT, field: value}).encode()):
        result = outcome(signed(candidate), candidate)
        assert isinstance(result, InvalidCallback | Event)
        if isinstance(result, Event):
            assert result.raw == json.loads(candidate)


def test_deeply_nested_signed_json_is_refused():
    """A signed body nested far deeper than any event: refused, not a RecursionError."""
    body = b"[" * 100_000 + b"]" * 100_000
    assert isinstance(outcome(signed(body), body), InvalidCallback)


def test_too_many_signatures_are_refused_before_any_work():
    """A signature header with hundreds of entries is refused outright."""
    headers = {**signed(), "webhook-signature": " ".join(["v1,AAAA"] * 500)}
    with pytest.raises(InvalidCallback, match="too many"):
        verify_callback(headers, BODY, SECRET, now=NOW)


def test_the_flask_helper_answers_401_or_hands_the_event_over():
    """Mounted in a Flask app: a forged callback is 401 problem+json; a genuine one reaches on_event, 204."""
    received: list[Event] = []
    app = Flask(__name__)
    app.register_blueprint(callback_blueprint(SECRET, received.append, path="/hooks"))
    client = app.test_client()
    now_headers = signed(at=int(time.time()))
    forged = client.post("/hooks", data=BODY + b" ", headers=now_headers)
    assert forged.status_code == 401 and forged.mimetype == "application/problem+json"
    assert forged.get_json()["detail"] == "no signature matches the secret" and received == []
    genuine = client.post("/hooks", data=BODY, headers=now_headers)
    assert genuine.status_code == 204 and [event.id for event in received] == ["evt_1"]
