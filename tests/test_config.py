"""Settings: typed, with development defaults, and failing fast in production."""

import pytest

from app.config import REQUIRED_IN_PRODUCTION, SettingsError, load_settings

PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://db.internal/mg",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "JOGG_API_KEY": "k",
    "JOGG_WEBHOOK_SECRET": "s",
    "PUBLIC_BASE_URL": "https://mg.example.com/",
    "OPS_TOKEN": "t",
}


@pytest.fixture
def environ(monkeypatch):
    """A clean environment holding only what the test sets."""
    for name in [*PRODUCTION, "POLL_INTERVALS", "JOGG_POST_RATE_LIMIT", "CALLBACK_ALLOWED_NETWORKS", "MOTION_MAX_AGE"]:
        monkeypatch.delenv(name, raising=False)

    def set_all(values: dict):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_all


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_stops_on_a_missing_required_setting(environ, missing):
    """A missing required value stops start-up with one line naming it."""
    environ({k: v for k, v in PRODUCTION.items() if k != missing})
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value.code)
    assert missing in message and "\n" not in message


def test_production_values_are_typed(environ):
    """Lists, numbers and URLs are parsed and normalised."""
    environ({**PRODUCTION, "POLL_INTERVALS": "60,120", "CALLBACK_ALLOWED_NETWORKS": "10.0.0.0/8,orders-svc"})
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://db.internal/mg"
    assert settings.poll_intervals == (60, 120)
    assert settings.callback_allowed_networks == ("10.0.0.0/8", "orders-svc")
    assert settings.public_base_url == "https://mg.example.com"
    assert settings.jogg_post_rate_limit == "20/minute"
    assert settings.callback_retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.is_production


def test_secrets_stay_out_of_repr(environ):
    """The settings' repr never shows keys or tokens."""
    environ({**PRODUCTION, "JOGG_API_KEY": "very-secret-key", "OPS_TOKEN": "ops-secret"})
    text = repr(load_settings())
    assert "very-secret-key" not in text and "ops-secret" not in text


@pytest.mark.parametrize(("name", "value"), [("POLL_INTERVALS", "60,soon"), ("MOTION_MAX_AGE", "-5")])
def test_malformed_values_stop_start_up(environ, name, value):
    """A malformed value is a one-line error too."""
    environ({**PRODUCTION, name: value})
    with pytest.raises(SettingsError):
        load_settings()


def test_production_starts_without_a_webhook_secret(environ):
    """JOGG_WEBHOOK_SECRET is optional: `flask jogg register-webhook` stores the secret JoggAI returns."""
    environ({k: v for k, v in PRODUCTION.items() if k != "JOGG_WEBHOOK_SECRET"})
    assert load_settings().jogg_webhook_secret == ""


def test_development_fills_in_local_defaults(environ):
    """APP_ENV=development needs nothing set."""
    environ({"APP_ENV": "development"})
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.jogg_base_url == "http://127.0.0.1:8100"


def test_development_database_is_the_make_run_file_from_any_folder(environ, monkeypatch, tmp_path):
    """The default SQLite URL is absolute: the file `make run` uses, whatever the working folder."""
    from pathlib import Path

    from app import create_app
    from app.extensions import db

    monkeypatch.chdir(tmp_path)
    environ({"APP_ENV": "development"})
    expected = Path(__file__).resolve().parent.parent / "instance" / "motion-gateway.db"
    assert load_settings().database_url == f"sqlite:///{expected}"
    with create_app().app_context():
        assert db.engine.url.database == str(expected)


def test_unknown_environment_is_refused(environ):
    """APP_ENV must be one of the three."""
    environ({"APP_ENV": "staging"})
    with pytest.raises(SettingsError, match="APP_ENV"):
        load_settings()


def test_env_example_lists_every_setting():
    """Every variable the settings read appears in .env.example with a comment above it."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = (root / "app" / "config.py").read_text()
    read = set(re.findall(r'(?:text|env\.\w+|_positive_ints\(\s*env,)\(?\s*"([A-Z][A-Z0-9_]+)"', source))
    lines = (root / ".env.example").read_text().splitlines()
    listed = {line.split("=", 1)[0]: i for i, line in enumerate(lines) if re.match(r"^[A-Z][A-Z0-9_]*=", line)}
    assert read, "the pattern found no settings"
    assert read - set(listed) == set()
    for name in read:
        above = lines[listed[name] - 1]
        assert above.startswith("#") or re.match(r"^[A-Z][A-Z0-9_]*=", above), name


def test_malformed_callback_allowlist_stops_start_up(environ):
    """A bad CIDR in CALLBACK_ALLOWED_NETWORKS is caught at start-up, not at every delivery."""
    environ({**PRODUCTION, "CALLBACK_ALLOWED_NETWORKS": "10.0.0.0/33"})
    with pytest.raises(SettingsError, match="bad setting"):
        load_settings()


def test_malformed_image_allowlist_is_named_in_the_error(environ, monkeypatch):
    """A bad entry in IMAGE_ALLOWED_NETWORKS stops start-up with that setting's name, not the callback one."""
    environ(PRODUCTION)
    monkeypatch.setenv("IMAGE_ALLOWED_NETWORKS", "host/path")
    with pytest.raises(SettingsError, match="IMAGE_ALLOWED_NETWORKS: 'host/path'") as caught:
        load_settings()
    assert "CALLBACK_ALLOWED_NETWORKS" not in str(caught.value)
