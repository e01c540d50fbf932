"""Serve one of the bench's ASGI apps exactly as the service is served (plugin.serving.server: one SO_REUSEPORT socket
per worker), so a floor measured against the service shares its whole stack:
python -m bench.serve_app APP PORT WORKERS."""

from __future__ import annotations

import sys

from bench.processes import LOOPBACK
from plugin.serving.server import ServeOptions, serve


def main(argv: list[str]) -> int:
    app, port, workers = argv
    options = ServeOptions(
        host=LOOPBACK, port=int(port), workers=int(workers), header_timeout_seconds=10, app=app, factory=False
    )
    return serve(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
