"""Drive headless Chromium through the DevTools protocol over a pipe, with the standard library.

Why a pipe and not a WebSocket: ``chromium --remote-debugging-pipe`` reads protocol messages from
file descriptor 3 and writes its answers to descriptor 4, each message a JSON text ended by a NUL
byte. That is the transport Playwright and Puppeteer use too; it needs no WebSocket client (no
extra package to install) and no TCP port that another process on the machine could reach.

Only the few commands the browser tests need are wrapped: open a page, evaluate JavaScript (with
``awaitPromise``, so a test can wait for the page's own ``fetch`` to settle), and collect network
events, which say *why* the browser blocked a request (``corsErrorStatus``).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The flags this machine needs (see the environment notes): headless without a sandbox (we run as
# root in CI), no GPU, and no background traffic to Google's hosts, which a closed network refuses
# many times a second. A fresh profile per browser keeps every run independent.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")


class CdpError(RuntimeError):
    """Chromium answered a command with an error, or stopped answering."""


def find_chromium() -> str | None:
    """The Chromium to drive: ``$CHROMIUM`` if set, else the first candidate on PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Page:
    """One browser tab, attached with a flat session id."""

    browser: "Chromium"
    session_id: str
    target_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 20) -> dict:
        return self.browser.send(method, params, session_id=self.session_id, timeout=timeout)

    def navigate(self, url: str, timeout: float = 20) -> None:
        """Open ``url`` and return once its ``load`` event fired."""
        self.send("Page.enable")
        answer = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if answer.get("errorText"):
            raise CdpError(f"could not open {url}: {answer['errorText']}")
        self.browser.wait_for_event("Page.loadEventFired", self.session_id, timeout=timeout)

    def evaluate(self, expression: str, timeout: float = 20) -> Any:
        """Run ``expression`` in the page; a promise is awaited. Returns its JSON value."""
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"the page's JavaScript threw: {text}")
        return answer.get("result", {}).get("value")

    def close(self) -> None:
        """Close the tab (the browser keeps running for the next test)."""
        if self.browser.process.poll() is None:
            self.browser.send("Target.closeTarget", {"targetId": self.target_id})
        self.browser.pages.pop(self.session_id, None)

    def console_errors(self) -> list[str]:
        """The texts of the browser's own console messages (``Log.entryAdded``) so far."""
        self.browser.drain()
        return [
            e["params"]["entry"]["text"] for e in self.events if e.get("method") == "Log.entryAdded"
        ]

    def network_events(self, name: str) -> list[dict[str, Any]]:
        """The params of every ``Network.<name>`` event seen so far on this page."""
        self.browser.drain()
        return [e["params"] for e in self.events if e.get("method") == f"Network.{name}"]


class Chromium:
    """A headless Chromium process; use as a context manager so it is always stopped."""

    def __init__(self, executable: str, *, extra_flags: tuple[str, ...] = ()) -> None:
        self._profile = tempfile.mkdtemp(prefix="workshop-chromium-")
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()
        self._log = open(Path(self._profile) / "chromium.log", "wb")  # noqa: SIM115
        args = [executable, *CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={self._profile}"]
        # Chromium expects the pipe on descriptors 3 (its input) and 4 (its output). Move our ends
        # above 10 first so the dup2 calls below never overwrite each other.
        child_in = _fd_above(to_browser_read, 10)
        child_out = _fd_above(from_browser_write, 10)

        def _wire_pipe() -> None:  # runs in the child, before exec
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(  # noqa: S603 - our own fixed argv
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(3, 4),
            preexec_fn=_wire_pipe,  # noqa: PLW1509 - single-threaded use in tests
        )
        for fd in (child_in, child_out):  # the originals were closed by _fd_above
            os.close(fd)
        self._write_fd = to_browser_write
        self._read_fd = from_browser_read
        self._buffer = b""
        self._next_id = 0
        self._inbox: list[dict[str, Any]] = []
        self.pages: dict[str, Page] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Chromium":
        try:
            self.send("Browser.getVersion", timeout=30)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser (politely, then by force) and delete its profile."""
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except (CdpError, OSError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for fd in (self._write_fd, self._read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def log_text(self) -> str:
        """What Chromium printed so far (for a failing test's message)."""
        try:
            return (Path(self._profile) / "chromium.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # -- protocol ----------------------------------------------------------------------------
    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"], target)
        self.pages[page.session_id] = page
        page.send("Network.enable")
        page.send("Runtime.enable")
        page.send("Log.enable")  # the console messages the browser itself writes (CORS errors)
        return page

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float = 20,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        answer = self._read_until(lambda m: m.get("id") == message["id"], timeout, method)
        if "error" in answer:
            raise CdpError(f"{method} failed: {answer['error'].get('message')}")
        return answer.get("result", {})

    def wait_for_event(self, method: str, session_id: str | None, timeout: float = 20) -> dict:
        return self._read_until(
            lambda m: m.get("method") == method and m.get("sessionId") == session_id,
            timeout,
            method,
        )

    def drain(self) -> None:
        """Read whatever messages are already waiting in the pipe, without blocking."""
        while self._pump(0):
            pass

    def _read_until(self, matches, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self._inbox):
                if matches(message):
                    return self._inbox.pop(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"Chromium did not answer {what} within {timeout:.0f} s")
            if not self._pump(remaining) and self.process.poll() is not None:
                raise CdpError(
                    f"Chromium exited ({self.process.returncode}) while waiting for {what}:\n"
                    + self.log_text()
                )

    def _pump(self, timeout: float) -> bool:
        """Read one chunk from the pipe (waiting at most ``timeout``); False when none came."""
        ready, _, _ = select.select([self._read_fd], [], [], max(0.0, min(timeout, 0.5)))
        if not ready:
            return False
        chunk = os.read(self._read_fd, 1 << 16)
        if not chunk:
            if self.process.poll() is None:
                self.process.wait(timeout=5)
            raise CdpError("Chromium closed the DevTools pipe:\n" + self.log_text())
        self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(raw)
            self._record(message)
            if not message.get("method", "").startswith(("Network.", "Log.")):
                self._inbox.append(message)  # network events live on their page only
        return True

    def _record(self, message: dict[str, Any]) -> None:
        page = self.pages.get(message.get("sessionId", ""))
        if page is not None and "method" in message:
            page.events.append(message)


def _fd_above(fd: int, minimum: int) -> int:
    """A duplicate of ``fd`` numbered at least ``minimum`` (the original is closed)."""
    import fcntl

    duplicate = fcntl.fcntl(fd, fcntl.F_DUPFD, minimum)
    os.close(fd)
    return duplicate
