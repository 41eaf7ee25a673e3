"""Liveness, readiness and the published API description."""

from app import create_app
from devstack.redis import free_port


def test_healthz(client):
    """healthz answers 200 while the process runs."""
    assert client.get("/healthz").status_code == 200


def test_readyz_ok(client):
    """readyz is 200 when the database and Redis answer."""
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_503_when_redis_is_unreachable(settings):
    """readyz is 503 naming Redis when Redis does not answer."""
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert "redis" in body["detail"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


def test_readyz_503_when_the_database_is_unreachable(settings, tmp_path):
    """readyz is 503 naming the database when it cannot be opened."""
    app = create_app(settings.with_overrides(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert "database" in resp.get_json()["detail"]


def test_openapi_covers_every_v1_route(app, client):
    """/openapi.json is OpenAPI 3 and documents every /v1 route and method, with bearer auth."""
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {
        (path, method.upper()) for path, ops in spec["paths"].items() for method in ops if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, (path, method)


def test_docs_page(client):
    """/docs serves the interactive API documentation."""
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert b"swagger" in resp.data.lower()
