"""Pre-flight and credit settings: defaults, parsing, and start-up stopping on a bad value."""

import pytest

from app.config import SettingsError, load_settings, parse_credit_costs
from tests.test_config import PRODUCTION

NAMES = (
    "PREFLIGHT",
    "PREFLIGHT_UNREACHABLE",
    "VOICE_CACHE_SECONDS",
    "JOGG_CREDIT_COSTS",
    "CREDIT_LOW_HOURS",
    "REUSE_MAX_AGE",
)


@pytest.fixture
def environ(monkeypatch):
    """Production values plus what the test sets; none of NAMES inherited."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return lambda values: [monkeypatch.setenv(name, value) for name, value in values.items()]


def test_defaults(environ):
    """Section 11's defaults."""
    settings = load_settings()
    assert settings.preflight is True and settings.preflight_unreachable == "fail"
    assert settings.voice_cache_seconds == 3600
    assert settings.jogg_credit_costs == {"1.0": 2, "2.0": 2, "2.0-Pro": 3, "3.0": 2}
    assert settings.credit_low_hours == 24.0 and settings.reuse_max_age == 30 * 86400


def test_values_are_parsed(environ):
    """Booleans, choices, numbers and the cost table from the environment."""
    environ({"PREFLIGHT": "false", "PREFLIGHT_UNREACHABLE": "submit", "VOICE_CACHE_SECONDS": "60",
             "JOGG_CREDIT_COSTS": " 3.0=4 , 2.0-Pro=5,2.0=1,1.0=0", "CREDIT_LOW_HOURS": "6.5",
             "REUSE_MAX_AGE": "3600"})  # fmt: skip
    settings = load_settings()
    assert settings.preflight is False and settings.preflight_unreachable == "submit"
    assert settings.voice_cache_seconds == 60 and settings.credit_low_hours == 6.5
    assert settings.jogg_credit_costs == {"1.0": 0, "2.0": 1, "2.0-Pro": 5, "3.0": 4}
    assert settings.reuse_max_age == 3600


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PREFLIGHT", "maybe", "PREFLIGHT"),
        ("PREFLIGHT_UNREACHABLE", "retry", "PREFLIGHT_UNREACHABLE"),
        ("VOICE_CACHE_SECONDS", "0", "VOICE_CACHE_SECONDS"),
        ("VOICE_CACHE_SECONDS", "an hour", "VOICE_CACHE_SECONDS"),
        ("JOGG_CREDIT_COSTS", "1.0=2,2.0=2,2.0-Pro=3", "no cost for model(s) 3.0"),
        ("JOGG_CREDIT_COSTS", "1.0=2,2.0=2,2.0-Pro=3,3.0=two", "'3.0=two'"),
        ("JOGG_CREDIT_COSTS", "1.0=2,2.0=2,2.0-Pro=-3,3.0=2", "'2.0-Pro=-3'"),
        ("JOGG_CREDIT_COSTS", "1.0=2,2.0=2,2.0-Pro=3,3.0=2,4.0=9", "unknown model '4.0'"),
        ("JOGG_CREDIT_COSTS", "1.0=2,1.0=3,2.0=2,2.0-Pro=3,3.0=2", "given twice"),
        ("JOGG_CREDIT_COSTS", "1.0=2,,2.0=2,2.0-Pro=3,3.0=2", "''"),
        ("JOGG_CREDIT_COSTS", "1.0=2.5,2.0=2,2.0-Pro=3,3.0=2", "'1.0=2.5'"),
        ("CREDIT_LOW_HOURS", "-1", "CREDIT_LOW_HOURS"),
        ("REUSE_MAX_AGE", "30d", "REUSE_MAX_AGE"),
    ],
)
def test_bad_values_stop_start_up(environ, name, value, says):
    """One line naming the setting (and, for the cost table, the entry at fault)."""
    environ({name: value})
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value.code)
    assert says in message and "\n" not in message


def test_the_cost_table_round_trips():
    """The parser gives one whole number per model."""
    assert parse_credit_costs("1.0=2,2.0=2,2.0-Pro=3,3.0=2") == {"1.0": 2, "2.0": 2, "2.0-Pro": 3, "3.0": 2}
