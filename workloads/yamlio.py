"""Workloads to and from multi-document YAML, the format ``kubectl apply -f`` takes.

Objects are turned into the plain dicts the kubernetes client sends to the API server (wire
names such as ``apiVersion`` and ``pathType``, ``None`` fields left out): the same dicts as
its ``ApiClient.sanitize_for_serialization`` (:func:`sanitize`, tests check they are equal),
computed by the models' own pydantic serializer in one call, six times faster. They are
written by libyaml (``yaml.CSafeDumper``) with keys in the models' field order and multi-line
strings (server snippets) as literal blocks, so the same workload always gives the same
bytes. A Namespace document for every namespace used comes first, so that
``kubectl apply -f`` can create everything in one go on an empty cluster.

Speed (20,000 Ingresses in a few seconds): the dumper's representer skips PyYAML's alias
bookkeeping (Kubernetes manifests never use anchors) and remembers how plain scalars
resolve; documents that differ only by namespace (Namespaces, the copies of the wildcard
Secret) are rendered once and filled in; the cyclic garbage collector is paused while tens
of thousands of small objects are built. :func:`dump_reference` is the plain single
``yaml.dump_all``; tests check both give the same bytes. Cost: O(total size).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any, ClassVar

import yaml
from kubernetes.client import ApiClient, V1Ingress, V1Secret
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gwbench.errors import InputError
from gwbench.heap import paused_gc
from gwbench.workloads.model import Workload

_CDumper: type[yaml.CSafeDumper] | type[yaml.SafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)
_CLoader: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

_API_CLIENT: ApiClient | None = None


def _api_client() -> ApiClient:
    global _API_CLIENT
    if _API_CLIENT is None:
        _API_CLIENT = ApiClient()
    return _API_CLIENT


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


_INT = "tag:yaml.org,2002:int"


class _ManifestDumper(_CDumper):  # type: ignore[misc,valid-type]
    """libyaml dumper for plain manifest dicts: no anchors, literal blocks for multi-line text."""

    # plain scalar -> the tag it would read back as; manifests repeat the same few strings
    _plain_tags: ClassVar[dict[str, str]] = {}

    def represent_data(self, data: Any) -> Node:
        kind = type(data)
        if kind is str:
            return ScalarNode(_STR, data, style="|" if "\n" in data else None)
        if kind is dict:
            rep = self.represent_data
            return MappingNode(_MAP, [(rep(k), rep(v)) for k, v in data.items()], flow_style=False)
        if kind is list:
            rep = self.represent_data
            return SequenceNode(_SEQ, [rep(v) for v in data], flow_style=False)
        if kind is int:
            return ScalarNode(_INT, str(data))
        node: Node = super().represent_data(data)
        return node

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # libyaml asks, for every scalar, which tag its plain form and its quoted form would
        # read back as. A quoted scalar is always a string (no path resolvers here); plain
        # answers are remembered.
        if kind is ScalarNode and type(value) is str:
            if not implicit[0]:
                return _STR
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._plain_tags) < 200_000:
                    self._plain_tags[value] = tag
            return tag
        resolved: str = super().resolve(kind, value, implicit)
        return resolved


def to_dict(obj: V1Ingress | V1Secret) -> dict[str, Any]:
    """The wire form of a kubernetes client model (what the API server would receive)."""
    result = obj.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert isinstance(result, dict)
    return result


def sanitize(obj: Any) -> Any:
    """The kubernetes client's own ``ApiClient.sanitize_for_serialization``: the reference."""
    return _api_client().sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]


def namespaces_of(workload: Workload) -> list[str]:
    """Namespaces of the workload's objects, in order of first appearance."""
    seen: dict[str, None] = {}
    metas = [s.metadata for s in workload.secrets] + [i.metadata for i in workload.ingresses]
    for meta in metas:
        if meta is not None and meta.namespace:
            seen.setdefault(meta.namespace, None)
    return list(seen)


def to_documents(workload: Workload, *, namespaces: bool = True) -> list[dict[str, Any]]:
    """Namespaces (optional), then Secrets, then Ingresses, as plain dicts."""
    documents: list[dict[str, Any]] = []
    if namespaces:
        documents.extend(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            for name in namespaces_of(workload)
        )
    documents.extend(to_dict(secret) for secret in workload.secrets)
    documents.extend(to_dict(ingress) for ingress in workload.ingresses)
    return documents


_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": _ManifestDumper,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 4096,
}
_PLACEHOLDER = "gwbenchnamespaceplaceholder"
_RESOLVER = yaml.resolver.Resolver()
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _dump_documents(documents: list[dict[str, Any]]) -> str:
    text = yaml.dump_all(documents, **_DUMP_OPTIONS)
    assert isinstance(text, str)
    return text


def _plain_label(value: Any) -> bool:
    """True when libyaml writes ``value`` as a plain scalar that reads back as this string."""
    return (
        isinstance(value, str)
        and _DNS_LABEL.fullmatch(value) is not None
        and _RESOLVER.resolve(ScalarNode, value, (True, False)) == _STR  # type: ignore[no-untyped-call]
    )


class _NamespacedTemplates:
    """Documents that differ only by namespace (the Namespaces themselves, the copies of the
    wildcard Secret) are rendered once with a placeholder and then filled in: the same
    bytes as rendering each (checked by tests), without re-emitting thousands of copies."""

    def __init__(self) -> None:
        self._templates: dict[str, tuple[str, str]] = {}

    def render(self, document: dict[str, Any], namespace_path: tuple[str, str]) -> str | None:
        section, key = namespace_path
        holder = document.get(section)
        namespace = holder.get(key) if isinstance(holder, dict) else None
        if not _plain_label(namespace):
            return None
        assert isinstance(holder, dict) and isinstance(namespace, str)
        generic = {**document, section: {**holder, key: _PLACEHOLDER}}
        signature = json.dumps(generic, sort_keys=False, default=str)
        template = self._templates.get(signature)
        if template is None:
            text = _dump_documents([generic])
            if text.count(_PLACEHOLDER) != 1:
                return None
            before, after = text.split(_PLACEHOLDER)
            template = self._templates[signature] = (before, after)
        return template[0] + namespace + template[1]


def dump(workload: Workload, stream: IO[str] | None = None, *, namespaces: bool = True) -> str:
    """Multi-document YAML of the workload; written to ``stream`` if given, else returned."""
    with paused_gc():
        templates = _NamespacedTemplates()
        parts: list[str] = []
        if namespaces:
            for name in namespaces_of(workload):
                document = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                parts.append(
                    templates.render(document, ("metadata", "name")) or _dump_documents([document])
                )
        for secret in workload.secrets:
            document = to_dict(secret)
            parts.append(
                templates.render(document, ("metadata", "namespace")) or _dump_documents([document])
            )
        if workload.ingresses:
            parts.append(_dump_documents([to_dict(i) for i in workload.ingresses]))
        text = "---\n".join(parts)
    if stream is not None:
        stream.write(text)
    return text


def dump_reference(workload: Workload, *, namespaces: bool = True) -> str:
    """:func:`dump` done the plain way, one ``yaml.dump_all`` of every document (for tests)."""
    with paused_gc():
        return _dump_documents(to_documents(workload, namespaces=namespaces))


def iter_documents(text: str) -> Iterator[Any]:
    """Parse multi-document YAML lazily (``yaml.YAMLError`` on the first bad document)."""
    yield from yaml.load_all(text, Loader=_CLoader)


def error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line of a YAML error, if libyaml gave one."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else None


_OTHER_ENCODINGS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_text(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text (a UTF-8 byte order mark is dropped), or an
    :class:`InputError` naming ``source``: UTF-16 and UTF-32 (by their byte order mark, or
    by the NUL bytes of their ASCII characters), and any byte sequence that is not UTF-8."""
    for bom, name in _OTHER_ENCODINGS:
        if data.startswith(bom):
            raise InputError(
                f"not UTF-8 text: {name} (byte order mark); save it as UTF-8", file=source
            )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise InputError(
            f"not UTF-8 text (byte {exc.start} is 0x{byte:02x}); save it as UTF-8", file=source
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(
            f"not UTF-8 text (a NUL byte at {nul}: UTF-16 without a byte order mark, or "
            "binary); save it as UTF-8",
            file=source,
        )
    return text
