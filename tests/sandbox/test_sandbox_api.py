"""The /v2 surface: envelope, API key, permission, add_motion validation and the status check."""

import pytest

from tests.sandbox.conftest import OMIT


def test_missing_key_is_10105_with_http_401(sandbox):
    """No x-api-key header: code 10105, HTTP 401, data null."""
    response = sandbox.add_motion(api_key=None)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 10105 and body["data"] is None
    assert set(body) == {"code", "msg", "data", "rid"}


def test_wrong_key_is_10105_on_gets_too(sandbox):
    """A wrong key is refused on every route, not only on POSTs."""
    response = sandbox.call("GET", "/v2/user/remaining_quota", api_key="not-the-key")
    assert (response.status_code, response.json()["code"]) == (401, 10105)


def test_any_of_several_configured_keys_is_accepted(start_sandbox):
    """api_key may list several comma-separated keys."""
    sandbox = start_sandbox(api_key="key-a, key-b")
    assert sandbox.add_motion(api_key="key-b").json()["code"] == 0
    assert sandbox.add_motion(api_key="sandbox-key").json()["code"] == 10105


def test_permission_denied_answers_18025(start_sandbox):
    """The permission_denied knob makes a valid key get 18025 (HTTP 403)."""
    sandbox = start_sandbox(permission_denied=True)
    response = sandbox.add_motion()
    assert (response.status_code, response.json()["code"]) == (403, 18025)


def test_errors_as_http_200_keeps_the_code_in_the_envelope(start_sandbox):
    """With errors_as_http_200 every error is HTTP 200 and only the envelope code tells."""
    sandbox = start_sandbox(errors_as_http_200=True)
    response = sandbox.add_motion(api_key="wrong")
    assert (response.status_code, response.json()["code"]) == (200, 10105)
    response = sandbox.add_motion(model="9.9")
    assert (response.status_code, response.json()["code"]) == (200, 40000)


def test_add_motion_returns_a_pending_motion_id(sandbox):
    """Success is code 0 with data {motion_id, status: pending} and a request id."""
    body = sandbox.add_motion().json()
    assert body["code"] == 0 and body["msg"] == "success" and body["rid"]
    assert set(body["data"]) == {"motion_id", "status"}
    assert body["data"]["status"] == "pending"


def test_v1_response_adds_avatar_id(start_sandbox):
    """The v1_response knob returns avatar_id (an int) at once, as the v1 API did."""
    data = start_sandbox(v1_response=True).add_motion().json()["data"]
    assert isinstance(data["avatar_id"], int)


@pytest.mark.parametrize("field", ["image_url", "name", "voice_id", "model"])
def test_missing_required_field_is_40000_naming_it(sandbox, field):
    """Each required field, when missing, gives 40000 (HTTP 400) with its name in msg."""
    response = sandbox.add_motion(**{field: OMIT})
    assert response.status_code == 400
    assert response.json()["code"] == 40000 and field in response.json()["msg"]


@pytest.mark.parametrize("image_url", ["ftp://example.com/a.png", "not a url", "https://", 42])
def test_image_url_must_be_an_http_uri(sandbox, image_url):
    """image_url must be an absolute http(s) URI."""
    body = sandbox.add_motion(image_url=image_url).json()
    assert body["code"] == 40000 and "image_url" in body["msg"]


@pytest.mark.parametrize("model", [2.0, "4.0", "2.0-pro", ""])
def test_model_must_be_one_of_the_known_strings(sandbox, model):
    """model is the string 1.0, 2.0, 2.0-Pro or 3.0; numbers and other spellings are refused."""
    body = sandbox.add_motion(model=model).json()
    assert body["code"] == 40000 and "model" in body["msg"]


@pytest.mark.parametrize(
    ("model", "description", "accepted"),
    [
        ("1.0", "a" * 299, True),
        ("1.0", "a" * 300, False),
        ("1.0", "é" * 149, True),  # 298 bytes of UTF-8
        ("1.0", "é" * 150, False),  # 150 characters, but 300 bytes
        ("2.0", "a" * 1500, True),
        ("3.0", "a" * 1501, False),
        ("2.0-Pro", "é" * 751, False),
    ],
)
def test_description_is_limited_in_utf8_bytes_by_model(sandbox, model, description, accepted):
    """description: under 300 bytes for model 1.0, at most 1500 bytes otherwise."""
    body = sandbox.add_motion(model=model, description=description).json()
    assert (body["code"] == 0) is accepted
    if not accepted:
        assert "description" in body["msg"]


def test_body_must_be_a_json_object(sandbox):
    """A body that is not a JSON object is a 40000."""
    response = sandbox.call("POST", "/v2/photo_avatar/add_motion", data=b"[1, 2]")
    assert response.json()["code"] == 40000


def test_unknown_motion_id_is_10104(sandbox):
    """The status check of an unknown motion: 10104, HTTP 404."""
    response = sandbox.call("GET", "/v2/photo_avatar", params={"motion_id": "nope"})
    assert (response.status_code, response.json()["code"]) == (404, 10104)


def test_status_check_requires_motion_id(sandbox):
    """No motion_id parameter is a 40000 naming it."""
    body = sandbox.call("GET", "/v2/photo_avatar").json()
    assert body["code"] == 40000 and "motion_id" in body["msg"]


def test_status_check_shows_every_documented_field(sandbox):
    """The status data carries motion_id, avatar_id (int), image_url, name, status, preview, voice, error."""
    motion_id = sandbox.new_motion_id(name="fields")
    data = sandbox.status(motion_id)["data"]
    assert set(data) == {
        "motion_id",
        "avatar_id",
        "image_url",
        "name",
        "status",
        "motion_preview_url",
        "voice_id",
        "error_msg",
    }
    assert isinstance(data["avatar_id"], int) and data["name"] == "fields"


def test_unknown_route_answers_json(sandbox):
    """An unknown path is a JSON 404, never an HTML page."""
    response = sandbox.call("GET", "/v2/nothing-here")
    assert response.status_code == 404 and response.json()["data"] is None


def test_remaining_quota_reports_credits(start_sandbox):
    """remaining_quota returns data.remaining_quota."""
    sandbox = start_sandbox(credits=77)
    assert sandbox.call("GET", "/v2/user/remaining_quota").json()["data"] == {"remaining_quota": 77}
