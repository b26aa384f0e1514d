#!/usr/bin/env python3
"""Serve the inventory page (web/) on 127.0.0.1, on another origin than the API.

The page and the API must have *different* origins for the browser to apply CORS, as it does
when a real front end calls API Gateway: here the page is ``http://127.0.0.1:<port>`` and the
local API is the gateway's port (or ``https://<id>.execute-api...`` on AWS).

    python scripts/serve_frontend.py               # port 8000, API looked up for you
    python scripts/serve_frontend.py --port 0      # any free port
    python scripts/serve_frontend.py --api http://127.0.0.1:4567/abc123/prod

It prints the page's URL with ``?api=`` filled in when it finds your deployed API (on the local
target that lookup starts the local cloud if it is not running, as the notebooks do); the page
remembers the API URL in the browser's localStorage. Stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import errno
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = REPO_ROOT / "web"
HOST = "127.0.0.1"  # never reachable from another machine
DEFAULT_PORT = 8000


class StaticHandler(SimpleHTTPRequestHandler):
    """Serve files from web/ and tell the browser not to cache them, so edits show on reload."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write(f"[web] {self.address_string()} {format % args}\n")


def make_server(port: int, directory: Path = WEB_DIR) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1:``port`` (0 picks a free port); not started."""
    handler = functools.partial(StaticHandler, directory=str(directory))
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    return server


def page_url(port: int, api_url: str | None, credentials: dict[str, str] | None = None) -> str:
    """The page's URL; lab 08's key and token go in the fragment, which browsers never send."""
    base = f"http://{HOST}:{port}/"
    url = f"{base}?api={quote(api_url, safe=':/')}" if api_url else base
    fragment = []
    if credentials and credentials.get("x-api-key"):
        fragment.append(f"apiKey={quote(credentials['x-api-key'], safe='')}")
    if credentials and credentials.get("Authorization", "").startswith("Bearer "):
        fragment.append(f"token={quote(credentials['Authorization'][len('Bearer '):], safe='')}")
    return url + ("#" + "&".join(fragment) if fragment else "")


def lookup_credentials() -> dict[str, str]:
    """Lab 08's API key and token for your stack, or {} before lab 08 (or when unreadable)."""
    try:
        from workshop.protection import api_credentials

        return api_credentials()
    except Exception as error:  # noqa: BLE001 - the page works without them
        print(f"note: no credentials filled in ({error}).", file=sys.stderr)
        return {}


def lookup_api_url() -> str | None:
    """Your deployed API's invoke URL, or None (with the reason on stderr) when there is none."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from postman_env import ApiNotDeployedError, find_invoke_url
        from workshop.target import TargetError, connect

        return find_invoke_url(connect(quiet=True))
    except (ApiNotDeployedError, TargetError, ValueError) as error:
        print(f"note: no API URL filled in: {error}", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - serving the page matters more than the lookup
        print(f"note: could not look up your API ({error}); enter its URL in the page.",
              file=sys.stderr)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--api", help="the API's invoke URL to fill in (default: look it up)")
    parser.add_argument("--no-lookup", action="store_true",
                        help="do not look up the deployed API (the page asks for the URL)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")

    try:
        server = make_server(args.port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(f"error: port {args.port} on {HOST} is in use: choose another with --port "
                  "(or --port 0 for any free one).", file=sys.stderr)
            return 1
        raise
    api_url = args.api or (None if args.no_lookup else lookup_api_url())
    credentials = lookup_credentials() if api_url and not args.no_lookup else {}
    port = server.server_address[1]
    print(f"Serving {WEB_DIR} at {page_url(port, api_url, credentials)}", flush=True)
    print("Open that URL in your browser; press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
