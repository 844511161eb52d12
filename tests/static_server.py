"""A static file server on loopback for the tests: ``python -m http.server``, with a listen backlog
that parallel clients (uv opens many connections at once) cannot overflow (see helpers.BACKLOG).

    python -m tests.static_server PORT DIRECTORY     (from the project root)
"""

from __future__ import annotations

import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler

from tests.helpers import LoopbackHTTPServer


def main(argv: list[str]) -> None:
    port, directory = int(argv[0]), argv[1]
    with LoopbackHTTPServer(("127.0.0.1", port), partial(SimpleHTTPRequestHandler, directory=directory)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
