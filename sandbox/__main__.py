"""`python -m sandbox`: serve the JoggAI sandbox in the foreground."""

import logging
import sys

from sandbox.config import ConfigError
from sandbox.server import serve_forever


def main() -> int:
    """Serve until Ctrl-C; a bad SANDBOX_* setting stops start-up with a one-line error."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        serve_forever()
    except ConfigError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
