"""Standard Webhooks signatures: the published test vector, the reference verifier and secret rotation."""

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.notifications.signing import headers, sign, signature_header

SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
OTHER = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_loFOjxBNrRLzqYUf"
BODY = '{"event_type":"ping","data":{"success":true}}'


def now() -> int:
    """Current unix seconds, within the verifier's 5-minute tolerance."""
    return int(time.time())


def test_spec_test_vector():
    """The Standard Webhooks test vector signs to the published value."""
    assert sign(SECRET, MSG_ID, 1731705121, BODY) == "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="


def test_headers_carry_everything():
    """The headers hold the id, the timestamp as a string, the signature and the JSON content type."""
    got = headers([SECRET], MSG_ID, 1731705121, BODY)
    assert got == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1731705121",
        "webhook-signature": "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=",
        "Content-Type": "application/json",
    }


def test_reference_verifier_accepts_our_headers():
    """The package's own verifier accepts what we send and returns the parsed body."""
    stamp = now()
    assert Webhook(SECRET).verify(BODY, headers([SECRET], MSG_ID, stamp, BODY)) == {
        "event_type": "ping",
        "data": {"success": True},
    }


def test_rotation_sends_both_signatures_current_first():
    """During rotation the header has one signature per secret, space separated, current first."""
    stamp = now()
    value = signature_header([OTHER, SECRET], MSG_ID, stamp, BODY)
    assert value.split(" ") == [sign(OTHER, MSG_ID, stamp, BODY), sign(SECRET, MSG_ID, stamp, BODY)]


@pytest.mark.parametrize("verifier_secret", [SECRET, OTHER])
def test_rotation_satisfies_old_and_new_verifiers(verifier_secret):
    """A receiver holding only the old, or only the new, secret accepts a rotated delivery."""
    stamp = now()
    Webhook(verifier_secret).verify(BODY, headers([OTHER, SECRET], MSG_ID, stamp, BODY))


def test_unknown_secret_is_rejected():
    """A receiver whose secret we do not sign with rejects the delivery."""
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(BODY, headers([SECRET], MSG_ID, now(), BODY))


def test_tampered_body_is_rejected():
    """Changing one byte of the body breaks the signature."""
    sent = headers([SECRET], MSG_ID, now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace("true", "false"), sent)


def test_tampered_timestamp_is_rejected():
    """Moving the timestamp by one second (still within tolerance) breaks the signature."""
    stamp = now()
    sent = headers([SECRET], MSG_ID, stamp, BODY) | {"webhook-timestamp": str(stamp - 1)}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, sent)


def test_tampered_id_is_rejected():
    """Replaying a signature under another message id fails."""
    sent = headers([SECRET], MSG_ID, now(), BODY) | {"webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, sent)


@pytest.mark.parametrize("secrets", [[], (), SECRET])
def test_signature_header_needs_a_sequence_of_secrets(secrets):
    """No secret, or a bare string mistaken for a list, is refused rather than sent unsigned or garbled."""
    with pytest.raises(ValueError, match="non-empty sequence"):
        signature_header(secrets, MSG_ID, now(), BODY)


def test_unicode_body_is_signed_as_utf8():
    """Non-ASCII bodies verify too: signing covers the UTF-8 bytes."""
    body = '{"name":"Zoë 🎬"}'
    stamp = now()
    Webhook(SECRET).verify(body.encode(), headers([SECRET], MSG_ID, stamp, body))
