"""Callbacks connect to the address the URL check approved: no second DNS lookup, TLS still checks the name."""

import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app import create_app, jobs, queues
from app.extensions import db
from app.models import Delivery, DeliveryAttempt, Status
from app.notifications import delivery
from app.notifications.http import UnpinnedRequest, new_session
from app.notifications.url_safety import check_callback_url
from tests.notifications.conftest import FAST_SCHEDULE
from workers.worker import GatewayWorker

PUBLIC = "93.184.216.34"  # a global address the rebinding name answers first; this test never lets it be reached
REAL_GETADDRINFO = socket.getaddrinfo


class Receiver(ThreadingHTTPServer):
    """An HTTP(S) receiver on 127.0.0.1 that records every connection it accepts and every request it reads."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        """Listen on a free loopback port; with tls, speak HTTPS and record the SNI names offered."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections, self.requests, self.sni = [], [], []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        """Accept one connection and note it (before any request is read)."""
        connection, peer = super().get_request()
        self.connections.append(peer)
        return connection, peer

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Answers every POST with 200 and keeps what came."""

    def do_POST(self):  # noqa: N802 - the name http.server looks for
        """Record the request and answer 200."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "host": self.headers["Host"], "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args):
        """Quiet."""


class RebindingDns:
    """A DNS that answers a name with a public address the first time, then with loopback (DNS rebinding).

    Connecting to the public address is refused here without any network traffic, but recorded.
    """

    def __init__(self, names: dict[str, list[str]]):
        """names: the answers per host name, in the order they are given out (the last one repeats)."""
        self.names, self.asked = names, []

    def __call__(self, host, port, *args, **kwargs):
        """socket.getaddrinfo, with our names answered from the table."""
        self.asked.append(host)
        if host == PUBLIC:
            raise socket.gaierror(socket.EAI_NONAME, "the public address is not reachable from this test")
        answers = self.names.get(host)
        if answers is None:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        address = answers[min(self.asked.count(host), len(answers)) - 1]
        return REAL_GETADDRINFO(address, port, *args, **kwargs)


@pytest.fixture
def receiver():
    """A plain HTTP receiver on loopback."""
    server = Receiver()
    yield server
    server.stop()


def deliver_with(app) -> None:
    """Enqueue the due deliveries and run them with a real RQ worker in this process."""
    with app.app_context():
        jobs.enqueue_due_deliveries()
        connection = queues.connect(app.config["SETTINGS"].redis_url, socket_timeout=None)
        GatewayWorker([queues.CALLBACKS], connection=connection).work(burst=True)
        db.session.remove()


def app_allowing(settings, *networks: str):
    """An app whose callbacks may reach these private networks (and public addresses)."""
    overrides = {"callback_retry_schedule": FAST_SCHEDULE, "callback_allowed_networks": networks}
    return create_app(settings.with_overrides(events_feed_lag=0.0, **overrides))


def test_a_rebinding_name_never_gets_a_connection_to_loopback(
    app, settings, receiver, motion_with_callback, move, session, monkeypatch
):
    """The check sees a public address; a second lookup would say 127.0.0.1: the POST still goes to the first."""
    dns = RebindingDns({"rebind.example": [PUBLIC, "127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    motion_id = motion_with_callback(f"http://rebind.example:{receiver.port}/hooks")
    move(motion_id, Status.CANCELLED)
    deliver_with(app_allowing(settings))  # loopback is not allowed: only the public answer passes the check

    assert receiver.connections == [] and receiver.requests == []
    assert dns.asked.count("rebind.example") == 1  # one lookup, for the check
    assert PUBLIC in dns.asked  # the connection went to the address the check approved
    attempt = session.scalars(select(DeliveryAttempt)).one()
    assert attempt.status_code is None and attempt.error == "ConnectionError"


def test_an_allowed_loopback_name_is_delivered_end_to_end(
    app, settings, receiver, motion_with_callback, move, session, monkeypatch
):
    """A host name resolving to allowed loopback is checked once, connected by address, sent with its own Host."""
    dns = RebindingDns({"hooks.internal": ["127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    url = f"http://hooks.internal:{receiver.port}/hooks?x=1"
    motion_id = motion_with_callback(url)
    move(motion_id, Status.PROCESSING, Status.COMPLETED)
    deliver_with(app_allowing(settings, "127.0.0.0/8"))

    assert [r["path"] for r in receiver.requests] == ["/hooks?x=1", "/hooks?x=1"]
    assert {r["host"] for r in receiver.requests} == {f"hooks.internal:{receiver.port}"}
    assert dns.asked.count("hooks.internal") == 2  # one check per delivery, no lookup to connect
    statuses = session.scalars(select(Delivery.status).where(Delivery.motion_id == motion_id)).all()
    assert statuses == ["delivered", "delivered"]


def test_the_next_approved_address_is_tried_when_one_refuses(receiver, monkeypatch):
    """Two approved addresses, the first refusing connections (nothing listens there): the POST lands on the second."""
    if not _can_bind("127.0.0.2"):
        pytest.skip("this host has no 127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", RebindingDns({}))
    url = f"http://multi.internal:{receiver.port}/hooks"
    prepared = delivery.Prepared(1, url, "{}", {}, ("127.0.0.2", "127.0.0.1"))
    answer = delivery.post(new_session(), prepared)
    assert answer.status_code == 200 and len(receiver.requests) == 1


def test_the_callbacks_session_refuses_an_unpinned_request():
    """Nothing can use the callbacks session without a checked address (it would resolve the name again)."""
    with pytest.raises(UnpinnedRequest):
        new_session().post("http://127.0.0.1:9/never", timeout=1)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a server certificate for callbacks.test, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is absent")
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]
    _openssl(
        folder, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ca", *ca_ext
    )
    _openssl(folder, "req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=callbacks.test")
    (folder / "leaf.ext").write_text("subjectAltName=DNS:callbacks.test\nbasicConstraints=CA:FALSE\n")
    _openssl(
        folder, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext",
    )  # fmt: skip
    return folder


@pytest.fixture
def tls_receiver(certificates):
    """An HTTPS receiver on loopback presenting the callbacks.test certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    server = Receiver(tls=context)
    yield server
    server.stop()


def test_tls_sends_the_host_name_and_verifies_the_certificate_against_it(tls_receiver, certificates, monkeypatch):
    """Connected by address, TLS still offers the URL's host as SNI and checks the certificate names it."""
    monkeypatch.setattr(socket, "getaddrinfo", RebindingDns({"callbacks.test": ["127.0.0.1"]}))
    http = new_session()
    http.verify = str(certificates / "ca.pem")
    url = f"https://callbacks.test:{tls_receiver.port}/hooks"
    answer = delivery.post(http, _prepared(url))
    assert answer.status_code == 200, answer.error
    assert tls_receiver.sni == ["callbacks.test"]
    assert tls_receiver.requests[0]["host"] == f"callbacks.test:{tls_receiver.port}"


def test_tls_refuses_a_certificate_for_another_name(tls_receiver, certificates, monkeypatch):
    """The same server reached under a name its certificate does not carry: no request is sent."""
    monkeypatch.setattr(socket, "getaddrinfo", RebindingDns({"impostor.test": ["127.0.0.1"]}))
    http = new_session()
    http.verify = str(certificates / "ca.pem")
    answer = delivery.post(http, _prepared(f"https://impostor.test:{tls_receiver.port}/hooks"))
    assert answer.status_code is None and answer.error == "SSLError"
    assert tls_receiver.sni == ["impostor.test"] and tls_receiver.requests == []


def _prepared(url: str) -> delivery.Prepared:
    """A delivery of an empty body to url, checked like the job checks it (loopback allowed)."""
    return delivery.Prepared(1, url, "{}", {}, tuple(check_callback_url(url, ("127.0.0.0/8",))))


def _openssl(folder, *args: str) -> None:
    """Run one openssl command in folder."""
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _can_bind(address: str) -> bool:
    """Whether this host has the loopback address (Linux answers for all of 127.0.0.0/8)."""
    probe = socket.socket()
    try:
        probe.bind((address, 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()
