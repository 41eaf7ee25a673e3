"""image_url must name a host JoggAI can reach: no loopback, private or reserved address, no userinfo."""

import pytest

from app import create_app

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}

REFUSED = [
    "http://localhost/a.png",
    "http://app.localhost/a.png",
    "http://127.0.0.1/a.png",
    "http://127.1.2.3:8080/a.png",
    "http://2130706433/a.png",  # 127.0.0.1 written as one number
    "http://[::1]/a.png",
    "http://10.0.0.5/a.png",
    "http://192.168.1.20/a.png",
    "http://172.16.0.1/a.png",
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.10.10/a.png",
    "http://224.0.0.1/a.png",
    "http://240.0.0.1/a.png",
    "http://0.0.0.0/a.png",
    "http://[fe80::1]/a.png",
    "http://[::ffff:10.0.0.1]/a.png",
    "http://intranet/a.png",
    "http://images./a.png",
    "http://user:secret@img.example.com/a.png",
    "http://token@img.example.com/a.png",
    "http://metadata.google.internal/a.png",
]


@pytest.mark.parametrize("url", REFUSED)
def test_hosts_joggai_cannot_reach_are_422(client, auth, url):
    """Loopback, private, link-local, multicast, reserved, single-label hosts and userinfo: 422 naming image_url."""
    resp = client.post("/v1/motions", json={**VALID, "image_url": url}, headers=auth)
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    messages = resp.get_json()["errors"]["image_url"]
    assert "secret" not in " ".join(messages) and "CALLBACK_ALLOWED_NETWORKS" not in " ".join(messages)


@pytest.mark.parametrize(
    "url", ["https://img.example.com/a.png", "http://93.184.215.14/a.png", "https://[2606:4700::1111]/a.png"]
)
def test_public_hosts_are_accepted(client, auth, url):
    """A public name or address is accepted and read back as sent."""
    resp = client.post("/v1/motions", json={**VALID, "image_url": url}, headers=auth)
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["image_url"] == url


def test_a_private_address_names_the_setting_that_would_admit_it(client, auth):
    """The message for a private address points at IMAGE_ALLOWED_NETWORKS."""
    resp = client.post("/v1/motions", json={**VALID, "image_url": "http://10.0.0.5/a.png"}, headers=auth)
    assert "IMAGE_ALLOWED_NETWORKS" in " ".join(resp.get_json()["errors"]["image_url"])


@pytest.fixture
def allowlisting_client(settings, make_caller):
    """A client of an app whose IMAGE_ALLOWED_NETWORKS admits loopback, 10.0.0.0/8 and the host `images`."""
    allowed = ("127.0.0.0/8", "::1", "10.0.0.0/8", "images")
    app = create_app(settings.with_overrides(image_allowed_networks=allowed))
    _, key = make_caller()
    return app.test_client(), {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8100/a.png", "http://localhost/a.png", "http://[::1]/a.png", "http://10.0.0.5/a.png",
     "http://images/a.png"],
)  # fmt: skip
def test_allowlisted_hosts_are_accepted(allowlisting_client, url):
    """Hosts in IMAGE_ALLOWED_NETWORKS (by network or by name) are accepted, as `make run` needs for loopback."""
    client, auth = allowlisting_client
    resp = client.post("/v1/motions", json={**VALID, "image_url": url}, headers=auth)
    assert resp.status_code == 202, resp.get_json()


@pytest.mark.parametrize(
    "url", ["http://user:pw@127.0.0.1/a.png", "http://169.254.169.254/a.png", "http://192.168.1.1/a.png"]
)
def test_the_allowlist_admits_only_what_it_lists(allowlisting_client, url):
    """Userinfo, metadata addresses and networks not listed stay refused under an allowlist."""
    client, auth = allowlisting_client
    resp = client.post("/v1/motions", json={**VALID, "image_url": url}, headers=auth)
    assert resp.status_code == 422 and "image_url" in resp.get_json()["errors"]
