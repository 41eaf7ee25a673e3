"""JoggAI sandbox: a faithful stand-in for JoggAI's v2 API for development, tests and benchmarks."""

from sandbox.app import create_app, sandbox_state
from sandbox.config import ConfigError, SandboxConfig
from sandbox.server import RunningSandbox, serve_forever, serve_in_thread
from sandbox.state import SandboxState
from sandbox.webhooks import sign

__all__ = [
    "ConfigError",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "sandbox_state",
    "serve_forever",
    "serve_in_thread",
    "sign",
]
