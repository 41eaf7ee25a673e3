"""`make flask ARGS="..."`: any `flask` command against the `make run` stack (its SQLite file, Redis and sandbox)."""

import os
import sys

from devstack.run import DEV_ENV, INSTANCE, ROOT


def main(args: list[str], environment: dict[str, str] = DEV_ENV) -> None:
    """Run `flask --app app ARGS` with make run's settings, from the project folder; a `.env` is not read."""
    from flask.cli import main as flask_main

    INSTANCE.mkdir(exist_ok=True)
    os.chdir(ROOT)
    os.environ.update(environment)
    os.environ["FLASK_SKIP_DOTENV"] = "1"  # a production .env beside make run must not redirect the command
    sys.argv = ["flask", "--app", "app", *args]
    flask_main()


if __name__ == "__main__":
    main(sys.argv[1:])
