"""`/docs` in a real browser with no other host reachable: Swagger UI is served by the app and lists every operation."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, needs_chromium, run_chromium, served

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OFFLINE = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name resolves, so no other host is reached
    "--proxy-server=127.0.0.1:9",  # and a bare IP address goes to a closed port (loopback bypasses proxies)
]
PAGE = ["--window-size=1280,1200", "--virtual-time-budget=8000", *OFFLINE]

pytestmark = needs_chromium


@pytest.fixture
def live_url(app):
    """The app served over real HTTP in a thread; yields its base URL."""
    with served(app) as url:
        yield url


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once, offline, with a throwaway profile."""
    return run_chromium(tmp_path / "profile", *PAGE, *args)


def page_requests(net_log: Path, origin: str) -> list[str]:
    """Every URL the page itself asked for (its initiator is the page's origin), from Chromium's net log."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and event.get("params", {}).get("initiator") == origin
    ]


def listed_operations(dom: str) -> set[tuple[str, str]]:
    """(METHOD, path) of each operation block Swagger UI rendered."""
    pattern = r'opblock-summary-method">(\w+)<.*?data-path="([^"]+)"'
    return {(method, path) for method, path in re.findall(pattern, dom, flags=re.DOTALL)}


def test_docs_list_every_operation_offline_and_ask_nothing_of_other_hosts(live_url, client, tmp_path):
    """Chromium, unable to reach any other host, renders every documented operation; all requests stay on the app."""
    spec = client.get("/openapi.json").json
    documented = {(key.upper(), path) for path, item in spec["paths"].items() for key in item if key in HTTP_METHODS}
    net_log = tmp_path / "net-log.json"
    dom = chromium(tmp_path, f"--log-net-log={net_log}", "--dump-dom", f"{live_url}/docs").stdout
    assert listed_operations(dom) == documented, dom[-2000:]
    requested = page_requests(net_log, live_url)
    assert f"{live_url}/openapi.json" in requested
    assert f"{live_url}/static/swagger-ui/swagger-ui-bundle.js" in requested
    assert [url for url in requested if not url.startswith(f"{live_url}/")] == []


def test_docs_screenshot_shows_the_page(live_url, tmp_path):
    """A screenshot of the rendered page is kept in test-artifacts/docs.png (docs/screenshots/ holds a copy)."""
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "docs.png"
    screenshot.unlink(missing_ok=True)
    shot = chromium(tmp_path, f"--screenshot={screenshot}", f"{live_url}/docs")
    assert screenshot.exists(), shot.stderr[-2000:]
    assert screenshot.stat().st_size > 50_000  # a blank page is a few kilobytes


def test_docs_html_names_no_other_host(client):
    """The page's own HTML loads Swagger UI from /static/swagger-ui/ and turns off the online validator."""
    html = client.get("/docs").get_data(as_text=True)
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "/static/swagger-ui/swagger-ui.css",
        "/static/swagger-ui/swagger-ui-standalone-preset.js",
        "/static/swagger-ui/swagger-ui-bundle.js",
    ]
    assert '"validatorUrl": null' in html
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
