"""Drive a real headless Chromium over the DevTools protocol (CDP) for report tests.

Starts Debian's ``chromium`` with ``--remote-debugging-port=0``, reads the port Chromium
picked from ``DevToolsActivePort`` in its profile folder, and speaks CDP over a websocket
(``websocket-client``). A :class:`Page` records what a test needs to know about a page:
console errors, uncaught exceptions, and every request that is not to a ``file:``,
``data:`` or ``about:`` URL (a self-contained report makes none).

Host name resolution is disabled (``--host-resolver-rules``) so that a report which *does*
try the network fails fast and visibly instead of reaching the internet from CI.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "devtools:", "chrome-error:")

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
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def find_chromium() -> str | None:
    """Path of a Chromium binary, or ``None``."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class CDPError(RuntimeError):
    """A CDP command failed or timed out."""


@dataclass
class Page:
    """What was seen while a page loaded and ran."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


class Session:
    """One CDP connection to one page target."""

    def __init__(self, ws_url: str, timeout_s: float = 30.0) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=timeout_s, suppress_origin=True)
        self._next_id = 0
        self.timeout_s = timeout_s
        self.page = Page()
        self.dialog_answer: str | None = None
        self.frames: dict[str, str] = {}
        """Child sessions (out-of-process frames) -> their URL."""

    def close(self) -> None:
        self._ws.close()

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        """Send a command (to a child frame's ``session`` if given) and return its result,
        handling events that arrive meanwhile."""
        msg_id = self._post(method, params, session)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") == msg_id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._dispatch(message)
        raise CDPError(f"{method}: no answer within {self.timeout_s} s")

    def _post(self, method: str, params: dict[str, Any] | None, session: str | None) -> int:
        """Send without waiting for the answer (used from event handlers)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        return self._next_id

    def _dispatch(self, message: dict[str, Any]) -> None:
        self._on_event(message["method"], message.get("params", {}), message.get("sessionId"))

    def wait_for(self, event: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Process events until ``event`` arrives; return its parameters."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if "method" in message:
                self._dispatch(message)
                if message["method"] == event:
                    params: dict[str, Any] = message.get("params", {})
                    return params
        raise CDPError(f"no {event} within {timeout_s or self.timeout_s} s")

    def drain(self, seconds: float) -> None:
        """Keep processing events for a while (late console messages, timers)."""
        deadline = time.monotonic() + seconds
        self._ws.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    message = json.loads(self._ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if "method" in message:
                    self._dispatch(message)
        finally:
            self._ws.settimeout(self.timeout_s)

    def evaluate(self, expression: str, *, session: str | None = None) -> Any:
        """Evaluate JavaScript in the page (or a child frame's session); return its value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in result:
            raise CDPError(f"evaluate failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def navigate(self, url: str, settle_s: float = 0.5) -> Page:
        """Load ``url``, wait for the load event, then let timers run for ``settle_s``."""
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        self.drain(settle_s)
        return self.page

    def screenshot(self, path: Path, width: int = 1400, height: int = 3000) -> None:
        """Save a PNG of the top ``height`` pixels of the page at ``width``."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.drain(0.3)
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def enable(self, session: str | None = None) -> None:
        """Turn on the events a test reads, and follow child frames in other processes
        (sandboxed iframes are out of process), in the page or a child session."""
        for domain in ("Runtime", "Log", "Network", "Page"):
            self._post(f"{domain}.enable", None, session)
        self._post(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session,
        )
        if session is not None:
            self._post("Runtime.runIfWaitingForDebugger", None, session)

    def _on_event(self, method: str, params: dict[str, Any], session: str | None) -> None:
        page = self.page
        if method == "Target.attachedToTarget":
            child = params["sessionId"]
            self.frames[child] = params["targetInfo"].get("url", "")
            self.enable(child)
        elif method == "Target.detachedFromTarget":
            self.frames.pop(params.get("sessionId", ""), None)
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            page.console_errors.append(text)
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            page.console_errors.append(f"{entry.get('text')} ({entry.get('url', '')})")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {}).get("description") or details.get("text")
            page.exceptions.append(str(exc))
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
        elif method == "Page.javascriptDialogOpening":
            page.dialogs.append(params.get("message", ""))
            answer: dict[str, Any] = {"accept": self.dialog_answer is not None}
            if self.dialog_answer is not None:
                answer["promptText"] = self.dialog_answer
            self._post("Page.handleJavaScriptDialog", answer, session)


class Chromium:
    """A headless Chromium process with a throwaway profile."""

    def __init__(self, binary: str, startup_timeout_s: float = 30.0) -> None:
        self.binary = binary
        self.startup_timeout_s = startup_timeout_s
        self._profile = Path(tempfile.mkdtemp(prefix="gwbench-chromium-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Chromium:
        self._proc = subprocess.Popen(
            [
                self.binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if port_file.exists():
                text = port_file.read_text().split()
                if text:
                    self.port = int(text[0])
                    return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__(None, None, None)
        raise CDPError(f"{self.binary} did not start its DevTools endpoint")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A CDP session on a fresh page with Runtime, Log, Network and Page events on."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        session = Session(target["webSocketDebuggerUrl"])
        try:
            session.enable()
            session.send("Runtime.evaluate", {"expression": "1"})
            yield session
        finally:
            session.close()
            close = f"http://127.0.0.1:{self.port}/json/close/{target['id']}"
            with contextlib.suppress(OSError), urllib.request.urlopen(close, timeout=5):
                pass


def chromium_or_skip() -> str:
    """The Chromium binary; skip the test when absent, unless under CI (then fail)."""
    import pytest

    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("chromium is required under CI (.ci/run installs it)")
        pytest.skip("chromium not installed (set CI=1 to make this a failure)")
    return binary
