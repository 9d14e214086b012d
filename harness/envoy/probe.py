"""The activation probe: one TLS handshake with a host's SNI, then ``GET /``.

A host is active on the data plane when a new connection to the listener, presenting the
host as SNI, matches a filter chain (Envoy's ``FilterChainManagerImpl::findFilterChain``),
completes the handshake with that chain's certificate, and its HTTP connection manager routes
``GET /`` to the host's virtual host, answered 200 by a ``direct_response``. TCP_NODELAY is
set (else Nagle adds about 40 ms per probe); the response is read up to its Content-Length,
never to EOF (Envoy keeps the connection open for its delayed-close timeout).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from gwbench.errors import HarnessError

MAX_HEADER_BYTES = 64 * 1024
# Envoy's worker answers a handshake in milliseconds even while its main thread applies an
# update; a longer wait means something else holds the port, and the caller retries anyway.
PROBE_TIMEOUT_S = 1.0


class ProbeTimeout(HarnessError):
    """An update did not take effect on the data plane in time."""


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw. ``status`` 0 means no HTTP response (refused, reset, no chain)."""

    host: str
    status: int
    body: bytes
    cert_der: bytes
    error: str

    @property
    def ok(self) -> bool:
        return self.status == 200


def client_context() -> ssl.SSLContext:
    """TLS client context: no verification (served certificates are compared by bytes)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


_CONTEXT = client_context()


def probe(
    port: int,
    host: str,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    address: str = "127.0.0.1",
    authority: str | None = None,
) -> ProbeResult:
    """Connect, handshake with SNI ``host``, send ``GET /`` (``Host: authority``, default the
    host) and parse the response head."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with _CONTEXT.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert(binary_form=True) or b""
                name = authority if authority is not None else host
                request = f"GET / HTTP/1.1\r\nHost: {name}\r\nUser-Agent: gwbench\r\n\r\n"
                tls.sendall(request.encode())
                status, body = _read_response(tls)
                return ProbeResult(host, status, body, cert, "")
    except (OSError, ValueError) as exc:
        return ProbeResult(host, 0, b"", b"", f"{type(exc).__name__}: {exc}")


def _read_response(tls: ssl.SSLSocket) -> tuple[int, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = tls.recv(16384)
        if not chunk:
            raise ValueError("connection closed before the response head")
        buffer += chunk
        if len(buffer) > MAX_HEADER_BYTES:
            raise ValueError("response head too large")
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0]!r}")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = tls.recv(length - len(rest))
        if not chunk:
            break
        rest += chunk
    return int(parts[1]), rest[:length]


def next_interval(
    elapsed_s: float, *, floor_s: float = 0.001, share: float = 0.02, ceiling_s: float = 0.05
) -> float:
    """Pause before the next probe: 1 ms at first, then 2% of the time waited so far (at
    most 50 ms). Each probe is a full TLS handshake on Envoy's worker; on a small machine a
    tight loop would take CPU from the main thread applying the update, so the probe's share
    of the machine stays bounded while the timing error stays within about 2%."""
    return min(ceiling_s, max(floor_s, share * elapsed_s))


def wait_until(
    attempt: Callable[[], ProbeResult],
    accept: Callable[[ProbeResult], bool],
    *,
    timeout_s: float,
    check: Callable[[], None] | None = None,
    check_every_s: float = 0.05,
    what: str = "activation",
    start: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[float, ProbeResult]:
    """Retry ``attempt`` until ``accept``; returns (seconds since ``start``, last result).

    ``start`` is a ``clock()`` value taken just before the update was handed to Envoy
    (default: now). ``check`` runs every ``check_every_s`` (Envoy alive, no rejection in its
    log) and raises to stop early; after ``timeout_s`` a :class:`ProbeTimeout` names the last
    probe's outcome. Probes are spaced by :func:`next_interval`.
    """
    if start is None:
        start = clock()
    last_check = start
    while True:
        result = attempt()
        now = clock()
        if accept(result):
            return now - start, result
        if check is not None and now - last_check >= check_every_s:
            check()
            last_check = now
        if now - start > timeout_s:
            seen = result.error or f"HTTP {result.status}"
            raise ProbeTimeout(
                f"timeout waiting for {what} of {result.host} after {timeout_s:.0f} s "
                f"(last probe: {seen})"
            )
        sleep(next_interval(now - start))
