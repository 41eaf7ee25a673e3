"""`make run`: migrate the SQLite database, create a demo caller, then run the stack under honcho."""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
REDIS_PORT = 6389
WEB_URL = "http://127.0.0.1:8000"
DEMO_CALLER = "demo"
# A portrait the sandbox draws, so the demo needs no internet (IMAGE_ALLOWED_NETWORKS admits loopback here).
DEMO_IMAGE_URL = "http://127.0.0.1:8100/_sandbox/images/1024x1536.png"

DEV_ENV = {
    "APP_ENV": "development",
    "DATABASE_URL": f"sqlite:///{INSTANCE / 'motion-gateway.db'}",
    "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "PUBLIC_BASE_URL": WEB_URL,
    "OPS_TOKEN": "dev-ops-token",
    "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
    "IMAGE_ALLOWED_NETWORKS": "127.0.0.0/8,::1,localhost",  # the sandbox never fetches images; local demos may
    "LOG_LEVEL": "INFO",
    "JOGG_BASE_URL": "http://127.0.0.1:8100",
    "JOGG_API_KEY": "sandbox-key",
    "JOGG_WEBHOOK_SECRET": "sandbox-webhook-secret",
    "SANDBOX_HOST": "127.0.0.1",
    "SANDBOX_PORT": "8100",
    "SANDBOX_API_KEY": "sandbox-key",
    "SANDBOX_MOTION_SECONDS": "10",
    "SANDBOX_WEBHOOK_URL": f"{WEB_URL}/webhooks/jogg",
    "SANDBOX_WEBHOOK_SECRET": "sandbox-webhook-secret",
}


def prepare() -> str:
    """Migrate the database and (re)issue the demo caller's key; returns the key."""
    from flask_migrate import upgrade

    from app import create_app
    from app.domain import callers
    from app.domain.errors import NotFound
    from app.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        try:
            creds = callers.rotate_key(db.session, DEMO_CALLER)
        except NotFound:
            creds = callers.create_caller(db.session, DEMO_CALLER)
        db.session.commit()
    return creds.api_key


def banner(api_key: str) -> str:
    """What a newcomer needs: URLs, the demo key and a first request."""
    body = json.dumps({"image_url": DEMO_IMAGE_URL, "name": "Demo", "voice_id": "en-US-JennyNeural", "model": "2.0"})
    ops_token = DEV_ENV["OPS_TOKEN"]
    return f"""
motion-gateway is starting (Ctrl-C stops everything)
  API        {WEB_URL}/v1/motions
  API docs   {WEB_URL}/docs   (OpenAPI: {WEB_URL}/openapi.json)
  operators  {WEB_URL}/ops   (log in with the token {ops_token}; scripts send Authorization: Bearer {ops_token})
  JoggAI     sandbox on http://127.0.0.1:8100 (stats: http://127.0.0.1:8100/_sandbox/stats)
  health     {WEB_URL}/healthz  {WEB_URL}/readyz
  flask CLI  make flask ARGS="callers list"   (any flask command, against this stack)
  demo key   {api_key}

Try:
  curl -s -X POST {WEB_URL}/v1/motions -H 'Authorization: Bearer {api_key}' \\
       -H 'Content-Type: application/json' -d '{body}'
  curl -s {WEB_URL}/v1/motions -H 'Authorization: Bearer {api_key}'
"""


def main() -> None:
    """Prepare, print the banner, then hand over to honcho with the development environment."""
    INSTANCE.mkdir(exist_ok=True)
    # Metrics go to instance/metrics (app/metrics.py), emptied by the first process of a run: counters start at zero.
    os.chdir(ROOT)
    os.environ.update(DEV_ENV)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env_file = INSTANCE / "dev.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in DEV_ENV.items()))
    print(banner(prepare()), flush=True)
    honcho = str(Path(sys.executable).with_name("honcho"))
    args = ["--procfile", "Procfile.dev", "--env", str(env_file), "start", "--concurrency", "worker=2"]
    os.execv(honcho, [honcho, *args])


if __name__ == "__main__":
    main()
