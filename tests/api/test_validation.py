"""Every rule of POST /v1/motions, accepted and rejected, with the field named in the error."""

import json

import pytest

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def post(client, auth, body):
    """POST a motion body and return the response."""
    return client.post("/v1/motions", json=body, headers=auth)


def assert_rejected(resp, field):
    """A 422 problem naming the field."""
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["status"] == 422 and problem["title"] and problem["type"]
    assert field in problem["errors"], problem
    assert all(isinstance(m, str) for m in problem["errors"][field])


ACCEPTED = [
    ("model", "1.0"),
    ("model", "2.0"),
    ("model", "2.0-Pro"),
    ("model", "3.0"),
    ("name", "x"),
    ("name", "n" * 200),
    ("voice_id", "v" * 128),
    ("image_url", "http://img.example.com/a.png"),
    ("image_url", "https://img.example.com/" + "a" * (2048 - 24)),
    ("photo_id", "ph_1"),
    ("photo_id", None),
    ("welcome_msg", "w" * 1000),
    ("welcome_msg", ""),
    ("callback_url", "http://billing-svc:8080/hooks"),
    ("callback_url", None),
    ("metadata", {"order": 7, "tags": ["a"]}),
    ("metadata", {"k": "v" * 4000}),
    ("external_id", "e" * 255),
    ("priority", "low"),
    ("priority", "normal"),
    ("priority", "high"),
    ("description", "d" * 1500),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_accepts_valid_values(client, auth, field, value):
    """A value inside every rule is accepted and echoed back."""
    resp = post(client, auth, {**VALID, field: value})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()[field] == value


REJECTED = [
    ("model", "4.0"),
    ("model", 2.0),
    ("model", "2.0-pro"),
    ("name", ""),
    ("name", "n" * 201),
    ("name", 5),
    ("voice_id", ""),
    ("voice_id", "v" * 129),
    ("image_url", "ftp://img.example.com/a.png"),
    ("image_url", "/relative/a.png"),
    ("image_url", "not a url"),
    ("image_url", "https://img.example.com/" + "a" * 2048),
    ("photo_id", ""),
    ("photo_id", 12),
    ("welcome_msg", "w" * 1001),
    ("callback_url", "javascript:alert(1)"),
    ("callback_url", "ftp://files.example.com/x"),
    ("callback_url", "https://x.example.com/" + "a" * 2048),
    ("metadata", ["not", "an", "object"]),
    ("metadata", "text"),
    ("metadata", {"k": "v" * 4100}),
    ("external_id", ""),
    ("external_id", "e" * 256),
    ("priority", "urgent"),
    ("description", "d" * 1501),
    ("description", 7),
]


@pytest.mark.parametrize(("field", "value"), REJECTED)
def test_rejects_invalid_values(client, auth, field, value):
    """A value outside a rule is refused with that field named."""
    assert_rejected(post(client, auth, {**VALID, field: value}), field)


@pytest.mark.parametrize("field", ["image_url", "name", "voice_id", "model"])
def test_required_fields(client, auth, field):
    """Each required field is named when missing."""
    body = {k: v for k, v in VALID.items() if k != field}
    assert_rejected(post(client, auth, body), field)


@pytest.mark.parametrize("field", ["image_url", "name", "voice_id", "model"])
def test_required_fields_refuse_null(client, auth, field):
    """A required field may not be null."""
    assert_rejected(post(client, auth, {**VALID, field: None}), field)


def test_unknown_field_is_refused(client, auth):
    """Unknown fields get 422 naming them."""
    assert_rejected(post(client, auth, {**VALID, "colour": "red"}), "colour")


def test_description_limit_for_model_1_0_is_under_300_bytes(client, auth):
    """Model 1.0 takes descriptions under 300 bytes: 299 passes, 300 fails."""
    ok = post(client, auth, {**VALID, "model": "1.0", "description": "d" * 299})
    assert ok.status_code == 202
    assert_rejected(post(client, auth, {**VALID, "model": "1.0", "description": "d" * 300}), "description")


def test_description_limits_count_utf8_bytes(client, auth):
    """Limits are in UTF-8 bytes, not characters: 150 three-byte characters are 450 bytes."""
    text = "€" * 100  # 300 bytes
    assert_rejected(post(client, auth, {**VALID, "model": "1.0", "description": text}), "description")
    assert post(client, auth, {**VALID, "model": "2.0", "description": text}).status_code == 202
    assert_rejected(post(client, auth, {**VALID, "model": "3.0", "description": "€" * 501}), "description")


def test_metadata_limit_is_on_serialized_size(client, auth):
    """Metadata counts as its compact JSON: just under 4 KiB passes, just over fails."""
    filler = "x" * (4096 - len(json.dumps({"k": ""}, separators=(",", ":"))))
    assert post(client, auth, {**VALID, "metadata": {"k": filler}}).status_code == 202
    assert_rejected(post(client, auth, {**VALID, "metadata": {"k": filler + "x"}}), "metadata")


def test_metadata_is_echoed_untouched(client, auth):
    """Nested metadata comes back exactly as sent."""
    meta = {"a": {"b": [1, 2.5, None, True, "ü"]}, "z": ""}
    resp = post(client, auth, {**VALID, "metadata": meta})
    assert client.get(resp.headers["Location"], headers=auth).get_json()["metadata"] == meta


def test_several_errors_are_reported_together(client, auth):
    """One response names every invalid field."""
    resp = post(client, auth, {"model": "9", "name": ""})
    assert resp.status_code == 422
    assert {"model", "name", "image_url", "voice_id"} <= set(resp.get_json()["errors"])


def test_body_must_be_an_object(client, auth):
    """A JSON array body is refused."""
    resp = client.post("/v1/motions", data="[1,2]", content_type="application/json", headers=auth)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"


def test_defaults_are_filled(client, auth):
    """Omitted optional fields come back null, priority normal, and no JoggAI data yet."""
    body = post(client, auth, VALID).get_json()
    assert body["priority"] == "normal"
    assert body["status"] == "queued"
    assert body["id"].startswith("mot_")
    for name in (
        "photo_id",
        "description",
        "welcome_msg",
        "callback_url",
        "metadata",
        "external_id",
        "jogg_motion_id",
        "avatar_id",
        "preview_url",
        "error",
        "submitted_at",
        "completed_at",
    ):
        assert body[name] is None, name
    assert body["created_at"].endswith("+00:00")
