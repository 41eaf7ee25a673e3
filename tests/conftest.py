"""Shared fixtures: one database and one Redis per run, the app, callers, and a real RQ worker."""

import contextlib
import os
import tempfile
import uuid
import weakref

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

os.environ["APP_ENV"] = "test"
# Every process of a test run (this one and the workers it starts) shares one fresh metrics folder.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mg-metrics-")
pytest_plugins = ["tests.jogg_fixtures"]

from app import create_app  # noqa: E402
from app.config import load_settings, normalise_database_url  # noqa: E402
from app.domain import callers  # noqa: E402
from app.extensions import db  # noqa: E402
from devstack.redis import EmbeddedRedis  # noqa: E402


def _temporary_postgres(url: str):
    """Create a fresh database beside the given one, yield its URL, drop it afterwards."""
    server = make_url(normalise_database_url(url))
    name = f"mg_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """TEST_DATABASE_URL's server with a fresh database, else a SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield from _temporary_postgres(url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/test.db"


GUARD_DB_OFFSET = 8  # the guard key's database: far from the run's own, so runs on neighbouring databases never meet


@contextlib.contextmanager
def other_database_untouched(url: str):
    """Plant a key in another database of the run's Redis; the run fails at its end if a test removed it."""
    pool = redis.ConnectionPool.from_url(url)
    guard_db = (pool.connection_kwargs.get("db", 0) + GUARD_DB_OFFSET) % 16
    pool.connection_kwargs["db"] = guard_db
    other, key = redis.Redis(connection_pool=pool), f"motion-gateway:test-guard:{uuid.uuid4().hex}"
    try:
        other.set(key, "must outlive the test session", ex=86400)
    except redis.ResponseError:  # the server has no such database: there is nothing else to protect
        guard_db = None
    yield
    if guard_db is not None:
        assert other.delete(key) == 1, f"the test session wiped Redis database {guard_db} (not its own): no FLUSHALL"
    pool.disconnect()


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL, else an embedded redis-server for this run; another database of it must survive the run."""
    url = os.environ.get("TEST_REDIS_URL")
    with contextlib.ExitStack() as stack:
        url = url or stack.enter_context(EmbeddedRedis()).url
        stack.enter_context(other_database_untouched(url))
        yield url


@pytest.fixture(scope="session")
def settings(database_url, redis_url):
    """Test settings pointing at this run's database and Redis.

    Pre-flight is off here: most suites queue motions with made-up image URLs (https://example.com/...) and
    voice "v", and test what happens after the checks (submission, tracking, callbacks); fetching those images
    would fail every motion. The suites about pre-flight, charges and weights (tests/preflight/, tests/credits/)
    turn it on with images and voices the sandbox and a local image server really serve.
    """
    return load_settings().with_overrides(database_url=database_url, redis_url=redis_url, preflight=False)


@pytest.fixture(scope="session")
def app(settings):
    """The app, with the migrations applied to its database."""
    app = create_app(settings)
    with app.app_context():
        upgrade(directory="migrations")
        _session_engines.add(db.engine)
    return app


@pytest.fixture(scope="session")
def engine(app):
    """The app's SQLAlchemy engine."""
    with app.app_context():
        return db.engine


# Every engine that opened a connection in this run: apps a test builds for itself keep their pooled
# connections open until disposed, and a few hundred such apps would exhaust PostgreSQL's connections.
_engines: weakref.WeakSet = weakref.WeakSet()
_session_engines: weakref.WeakSet = weakref.WeakSet()
event.listen(Engine, "engine_connect", lambda connection: _engines.add(connection.engine))


@pytest.fixture(autouse=True)
def _close_test_built_engines():
    """After each test, close the pooled connections of every engine but the session app's."""
    yield
    for engine in list(_engines):
        if engine not in _session_engines:
            engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty every table and the Redis database after each test that used them."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        app.extensions["redis"].flushdb()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def session(engine):
    """A plain SQLAlchemy session on the test database, for setting up and checking rows."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def redis_client(app) -> redis.Redis:
    """The app's Redis connection."""
    return app.extensions["redis"]


@pytest.fixture
def make_caller(session):
    """Create a caller; returns (caller_id, api_key)."""

    def make(name: str | None = None, callback_url: str | None = None):
        creds = callers.create_caller(session, name or f"svc-{uuid.uuid4().hex[:8]}", callback_url)
        session.commit()
        return creds.caller_id, creds.api_key

    return make


@pytest.fixture
def auth(make_caller):
    """Authorization headers of a fresh caller."""
    _, key = make_caller()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def run_jobs(app):
    """Run every queued job with a real RQ worker (in-process), until the queues are empty."""
    from tests.jogg_fixtures import work_off

    return lambda: work_off(app)
