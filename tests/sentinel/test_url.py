"""REDIS_URL in its Sentinel form: sentinels, service and database parsed; anything malformed a clear setting error."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.config import SettingsError, load_settings
from app.redis_connection import SentinelUrl, check_url, limits_storage, parse_sentinel_url

SEEDED = settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://db.internal/mg",
    "JOGG_API_KEY": "k",
    "PUBLIC_BASE_URL": "https://mg.example.com/",
    "OPS_TOKEN": "t",
}


def test_full_url_is_parsed():
    """Password, several sentinels (one IPv6, one without a port), the service and the database."""
    url = "redis+sentinel://:p%40ss@s1.internal:26379,[::1]:26380,s3/mymaster/4"
    parsed = parse_sentinel_url(url)
    assert parsed.sentinels == (("s1.internal", 26379), ("::1", 26380), ("s3", 26379))
    assert (parsed.service, parsed.db, parsed.password, parsed.username) == ("mymaster", 4, "p@ss", None)
    assert "p@ss" not in repr(parsed)


def test_database_defaults_to_zero_and_user_is_optional():
    """`/SERVICE` alone means database 0; `user:password@` is accepted for ACL users."""
    parsed = parse_sentinel_url("redis+sentinel://app:secret@127.0.0.1:5000/svc")
    assert (parsed.service, parsed.db, parsed.username, parsed.password) == ("svc", 0, "app", "secret")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://127.0.0.1:26379", "service name"),
        ("redis+sentinel:///svc", "names no sentinel"),
        ("redis+sentinel://127.0.0.1:0/svc", "port of sentinel 1"),
        ("redis+sentinel://a:1,b:99999/svc", "port of sentinel 2"),
        ("redis+sentinel://a:1,/svc", "sentinel 2 has no valid host"),
        ("redis+sentinel://[::1/svc", "IPv6"),
        ("redis+sentinel://a:1/svc/x", "database"),
        ("redis+sentinel://a:1/svc/0/extra", "database"),
        ("redis+sentinel://a:1/s vc", "control characters"),
        ("redis+sentinel://a:1/svc?ssl=true", "no query"),
        ("redis+sentinel://a:1//", "service name"),
        ("redis+sentinel://secret@a:1/svc", ":password@"),
        ("http://a:1/svc", "must start with"),
        ("127.0.0.1:6379", "must start with"),
    ],
)
def test_malformed_urls_stop_start_up_with_a_clear_message(monkeypatch, url, says):
    """Production start-up refuses a bad REDIS_URL with one line saying what is wrong."""
    for name, value in {**PRODUCTION, "REDIS_URL": url}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value.code)
    assert message.startswith("motion-gateway: bad setting: ") and "REDIS_URL" in message
    assert says in message and "\n" not in message


def test_plain_urls_are_unchanged():
    """redis://, rediss:// and unix:// pass through as before, and `limits` gets them as they are."""
    for url in ("redis://127.0.0.1:6379/0", "rediss://:pw@r.internal:6380/1", "unix:///run/redis.sock?db=2"):
        assert check_url(url) == url
        assert limits_storage(url) == (url, {})


HOSTS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: str(a)),
)


@SEEDED
@given(
    sentinels=st.lists(st.tuples(HOSTS, st.integers(1, 65535)), min_size=1, max_size=5),
    service=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", fullmatch=True),
    db=st.integers(0, 1000),
    password=st.none() | st.text(min_size=1, max_size=30),
)
def test_any_well_formed_url_round_trips(sentinels, service, db, password):
    """A URL built from any valid parts parses back into the same parts (passwords percent-encoded)."""
    built = SentinelUrl(tuple(sentinels), service, db, None, password)
    url = f"redis+sentinel://{built.userinfo()}{built.hosts()}/{service}/{db}"
    assert parse_sentinel_url(url) == built
    assert check_url(url) == url


@SEEDED
@given(
    tail=st.text(max_size=80),
    password=st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=8, max_size=16),
)
@example(tail="@:/,[]", password="hunter2hunter2")
def test_hostile_urls_are_a_setting_error_or_valid_never_a_crash_nor_a_leak(tail, password):
    """Whatever follows the scheme, the URL is accepted or refused with ValueError, never quoting the password."""
    password = f"pw-{password}"  # marked, so a password that happens to spell a word of a message is not a false leak
    url = f"redis+sentinel://:{password}{tail}"
    try:
        parsed = parse_sentinel_url(url)
    except ValueError as exc:
        assert password not in str(exc)
        assert str(exc).startswith(("REDIS_URL", "a Sentinel REDIS_URL"))
    else:
        assert parsed.sentinels and parsed.service and parsed.db >= 0
        assert all(1 <= port <= 65535 for _, port in parsed.sentinels)
