"""Filesystem xDS: a DiscoveryResponse written beside a watched file, then renamed over it.

Models Envoy's filesystem subscription (``source/extensions/config_subscription/filesystem/
filesystem_subscription_impl.cc``) with a ``path_config_source`` and a ``watched_directory``:
Envoy ignores writes in place and reloads the watched path when a file is *moved into* the
watched directory. So an update is two steps: :meth:`XdsFile.stage` serializes the resources
to a temporary file in the same directory (Python-side cost, not part of any measured
latency), and :meth:`XdsFile.commit` renames it over the watched path (the moment Envoy is
told). The file extension picks Envoy's parser: ``.pb`` binary, ``.yaml`` text (written as
JSON, which is YAML and avoids dumping protobuf ``Any`` payloads through PyYAML).

Each resource type gets its own directory, because a watched directory reloads every
subscription watching it on any rename into it (a route update would otherwise make Envoy
re-read and re-hash the whole listener file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

Format = Literal["pb", "yaml"]
FORMATS: tuple[Format, ...] = ("pb", "yaml")

LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"


def discovery_response(
    type_url: str, version: int, resources: Sequence[Message]
) -> discovery_pb2.DiscoveryResponse:
    """A state-of-the-world response: every resource of the type, packed as Any."""
    packed = []
    for resource in resources:
        value = any_pb2.Any()
        value.Pack(resource, deterministic=True)
        packed.append(value)
    return discovery_pb2.DiscoveryResponse(
        version_info=str(version), type_url=type_url, resources=packed
    )


def serialize(message: Message, fmt: Format) -> bytes:
    """Bytes of ``message`` in the wire format Envoy's file parser expects for ``fmt``."""
    if fmt == "pb":
        return bytes(message.SerializeToString(deterministic=True))
    text = str(json_format.MessageToJson(message, indent=None, preserving_proto_field_name=True))
    return text.encode()


class XdsFile:
    """One watched xDS file of one resource type, updated by rename."""

    def __init__(self, directory: Path, stem: str, type_url: str, fmt: Format) -> None:
        self.directory = directory
        self.type_url = type_url
        self.fmt: Format = fmt
        self.path = directory / f"{stem}.{fmt}"
        self._staged = directory / f".{stem}.next.{fmt}"
        self.version = 0
        directory.mkdir(parents=True, exist_ok=True)

    def write_initial(self, resources: Sequence[Message] = ()) -> None:
        """Create the watched file before Envoy starts (it must exist at startup)."""
        self.path.write_bytes(self._encode(resources))

    def stage(self, resources: Sequence[Message]) -> None:
        """Serialize the next version next to the watched file; Envoy does not see it yet."""
        self._staged.write_bytes(self._encode(resources))

    def staged_bytes(self) -> int:
        """Size of the staged file (what the next commit hands to Envoy)."""
        return self._staged.stat().st_size

    def commit(self) -> None:
        """Move the staged version over the watched file: this is the update Envoy sees."""
        os.rename(self._staged, self.path)

    def _encode(self, resources: Sequence[Message]) -> bytes:
        self.version += 1
        return serialize(discovery_response(self.type_url, self.version, resources), self.fmt)
