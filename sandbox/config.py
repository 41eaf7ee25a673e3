"""Sandbox knobs: their defaults, SANDBOX_* environment parsing and validation."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "SANDBOX_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
CHOICES = {"status_vocabulary": ("v2", "v1"), "webhook_event_id": ("unique", "motion_id")}
KIND_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", tuple: "a list"}
VOICE_FIELDS = ("voice_id", "name", "language")
MAX_CUSTOM_VOICES = 1000
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A knob name or value the sandbox does not accept."""


@dataclass(frozen=True)
class SandboxConfig:
    """Every behaviour knob of the sandbox; immutable, replaced whole on each update."""

    api_key: str = "sandbox-key"  # comma separated: several accepted keys, one rate limit each
    permission_denied: bool = False
    errors_as_http_200: bool = False
    v1_response: bool = False
    status_vocabulary: str = "v2"
    rate_limit: int = 20
    rate_window_seconds: float = 60.0
    rate_limit_headers: bool = False
    credits: int = 1000
    motion_seconds: float = 150.0
    failure_rate: float = 0.0
    seed: int | None = None
    preview_base_url: str = "https://cdn.sandbox.invalid/motions"
    error_rate: float = 0.0
    error_status: int = 502
    business_error_rate: float = 0.0
    hang_rate: float = 0.0  # created and charged, then the answer is held hang_seconds
    hang_before_rate: float = 0.0  # held hang_seconds, then the connection drops: nothing created
    drop_after_create_rate: float = 0.0  # created and charged, then the connection drops at once
    hang_seconds: float = 30.0
    list_motion_avatars: bool = True  # whether GET /v2/avatars/photo_avatars lists avatars made by add_motion
    webhook_url: str = ""
    # A development default, never a real credential.
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105
    webhook_retries: int = 3
    webhook_retry_delay_seconds: float = 5.0
    webhook_timeout_seconds: float = 5.0
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_delay_seconds: float = 0.0
    webhook_event_id: str = "unique"
    photo_avatar_events: bool = False
    # The account's custom voices (GET /v2/voices/custom): ids, or objects with voice_id, name, language.
    voices: tuple = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Read every knob from its SANDBOX_<NAME> variable, keeping defaults for the unset ones."""
        environ = os.environ if environ is None else environ
        changes = {name: parse_env_value(name, environ[env_name(name)]) for name in KNOBS if env_name(name) in environ}
        return cls().with_changes(changes)

    def with_changes(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """Return a copy with `changes` applied; unknown knobs or bad values raise ConfigError."""
        unknown = sorted(set(changes) - KNOBS)
        if unknown:
            raise ConfigError(f"unknown knob(s): {', '.join(unknown)}")
        checked = {name: check_value(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **checked)

    def api_keys(self) -> frozenset[str]:
        """The accepted x-api-key values."""
        return frozenset(key.strip() for key in self.api_key.split(",") if key.strip())

    def as_dict(self) -> dict[str, Any]:
        """The knobs as a JSON-ready dict."""
        return dataclasses.asdict(self)


KNOBS = frozenset(field.name for field in dataclasses.fields(SandboxConfig))
KINDS: dict[str, type] = {field.name: type(field.default) for field in dataclasses.fields(SandboxConfig)}
KINDS["seed"] = int  # the only knob that may also be null


def env_name(knob: str) -> str:
    """The environment variable that sets `knob`."""
    return ENV_PREFIX + knob.upper()


def listen_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Where `python -m sandbox` listens: SANDBOX_HOST and SANDBOX_PORT."""
    environ = os.environ if environ is None else environ
    port = environ.get("SANDBOX_PORT", str(DEFAULT_PORT))
    if not port.isdigit():
        raise ConfigError(f"SANDBOX_PORT must be a port number, got {port!r}")
    return environ.get("SANDBOX_HOST", DEFAULT_HOST), int(port)


def parse_env_value(name: str, raw: str) -> Any:
    """Turn the text of SANDBOX_<NAME> into a value of the knob's type."""
    kind = KINDS[name]
    text = raw.strip()
    try:
        if name == "seed" and text == "":
            return None
        if kind is bool:
            return parse_bool(text)
        if kind in (int, float):
            return kind(text)
        if kind is tuple:
            return [entry.strip() for entry in text.split(",") if entry.strip()]
    except ValueError:
        raise ConfigError(f"{env_name(name)} must be {KIND_NAMES[kind]}, got {raw!r}") from None
    return raw


def parse_bool(text: str) -> bool:
    """Read yes/no words the way shells and .env files spell them."""
    word = text.lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(text)


def check_value(name: str, value: Any) -> Any:
    """Validate one knob value (from JSON or the environment) and normalise its type."""
    if name == "seed" and value is None:
        return None
    if name == "voices":
        return check_voices(value)
    kind = KINDS[name]
    if not is_of_kind(value, kind):
        raise ConfigError(f"{name} must be {KIND_NAMES[kind]}")
    if kind is float:
        value = float(value)
    if kind in (int, float) and (value < 0 or not math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number >= 0")
    check_range(name, value)
    return value


def is_of_kind(value: Any, kind: type) -> bool:
    """Type check that keeps JSON booleans out of numeric knobs."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def check_range(name: str, value: Any) -> None:
    """Knob-specific limits beyond the type."""
    if name.endswith("_rate") and value > 1:
        raise ConfigError(f"{name} must be between 0 and 1")
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(f"{name} must be one of {', '.join(CHOICES[name])}")
    if name == "error_status" and not 500 <= value <= 599:
        raise ConfigError("error_status must be a 5xx HTTP status")
    if name == "rate_window_seconds" and value == 0:
        raise ConfigError("rate_window_seconds must be > 0")
    if name == "api_key" and not SandboxConfig(api_key=value).api_keys():
        raise ConfigError("api_key must name at least one key")


def check_voices(value: Any) -> tuple[dict[str, str], ...]:
    """Custom voices: a list of ids or {voice_id, name?, language?} objects, ids unique and non-empty."""
    if not isinstance(value, list | tuple) or len(value) > MAX_CUSTOM_VOICES:
        raise ConfigError(f"voices must be a list of at most {MAX_CUSTOM_VOICES} voices")
    voices = tuple(_one_voice(entry) for entry in value)
    if len({voice["voice_id"] for voice in voices}) != len(voices):
        raise ConfigError("voices: each voice_id may appear once")
    return voices


def _one_voice(entry: Any) -> dict[str, str]:
    """One custom voice as a dict of strings; a bare string is its voice_id."""
    if isinstance(entry, str):
        entry = {"voice_id": entry}
    if not isinstance(entry, dict) or set(entry) - set(VOICE_FIELDS):
        raise ConfigError(f"voices: each entry is a voice id or an object with {', '.join(VOICE_FIELDS)}")
    if not all(isinstance(v, str) for v in entry.values()) or not str(entry.get("voice_id", "")).strip():
        raise ConfigError("voices: voice_id must be a non-empty string, name and language strings")
    return {field: entry[field] for field in VOICE_FIELDS if field in entry}
