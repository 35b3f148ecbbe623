"""`python -m ghostguard status -c config.json`: see `ghostguard.status`."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "status":
        print("usage: python -m ghostguard status -c config.json [--db-url URL] "
              "[--logfile FILE] [--json]", file=sys.stderr)
        return 2
    from ghostguard.status import main as status

    return status(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
