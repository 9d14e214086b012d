"""Envoy admin statistics: the listener manager's LDS counters and gauges.

Reads ``/stats?filter=<regex>`` from Envoy's admin endpoint (``source/server/admin/
stats_handler.cc``) and keeps the integer counters and gauges. Admin shares Envoy's main
thread with configuration updates, so callers read it only after a probe has seen an update
take effect, never while timing one.
"""

from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass

from gwbench.errors import HarnessError

LISTENER_MANAGER = r"^listener_manager\."


@dataclass(frozen=True)
class ListenerManagerStats:
    """Snapshot of ``listener_manager.*`` (cumulative counters, current gauges)."""

    lds_update_attempt: int
    lds_update_success: int
    lds_update_rejected: int
    listener_added: int
    listener_modified: int
    listener_in_place_updated: int
    total_filter_chains_draining: int
    total_listeners_active: int

    @classmethod
    def from_stats(cls, stats: dict[str, int]) -> ListenerManagerStats:
        def get(name: str) -> int:
            return stats.get(f"listener_manager.{name}", 0)

        return cls(
            lds_update_attempt=get("lds.update_attempt"),
            lds_update_success=get("lds.update_success"),
            lds_update_rejected=get("lds.update_rejected"),
            listener_added=get("listener_added"),
            listener_modified=get("listener_modified"),
            listener_in_place_updated=get("listener_in_place_updated"),
            total_filter_chains_draining=get("total_filter_chains_draining"),
            total_listeners_active=get("total_listeners_active"),
        )


def parse_stats(text: str) -> dict[str, int]:
    """``name: value`` lines -> integers; histogram and text lines are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and value.strip().lstrip("-").isdigit():
            values[name.strip()] = int(value)
    return values


class AdminClient:
    """Minimal HTTP/1.1 client for Envoy's admin endpoint on loopback."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s

    def get(self, path: str) -> str:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read().decode(errors="replace")
        except OSError as exc:
            raise HarnessError(f"Envoy admin {path} failed: {exc}") from exc
        finally:
            conn.close()
        if response.status != 200:
            raise HarnessError(f"Envoy admin {path} answered {response.status}: {body[:200]}")
        return body

    def stats(self, filter_regex: str) -> dict[str, int]:
        query = urllib.parse.urlencode({"filter": filter_regex})
        return parse_stats(self.get(f"/stats?{query}"))

    def listener_manager(self) -> ListenerManagerStats:
        return ListenerManagerStats.from_stats(self.stats(LISTENER_MANAGER))

    def server_version(self) -> str:
        """Envoy's version as admin ``/server_info`` reports it (``1.40.0``)."""
        import json

        info = json.loads(self.get("/server_info"))
        build = str(info.get("version", ""))
        parts = build.split("/")
        return parts[1] if len(parts) > 1 else build
