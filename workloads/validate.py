"""Validation of the user's Ingress manifests, with Higress's reading of the odd cases.

Turns parsed documents (a YAML file's documents, or a cluster's objects) into a
:class:`~workloads.model.Workload`, or raises :class:`gwbench.errors.InputError` naming the
file, the document index (0-based, in file order) and the field (``spec.rules[0].host``).

Errors (the input cannot be benchmarked as given):

- a document that is not a mapping, or has no ``kind``; a ``kind: List`` without ``items``;
- an Ingress whose ``apiVersion`` is not ``networking.k8s.io/v1`` (``extensions/v1beta1`` and
  ``networking.k8s.io/v1beta1`` were removed in Kubernetes 1.22);
- an Ingress without ``metadata.name``, or without any rule (no host at all:
  ``spec.rules`` missing or empty);
- a field of the wrong type or an unknown field (the kubernetes client's models decide, as
  ``kubectl apply --validate=strict`` would);
- what the API server refuses for ``networking.k8s.io/v1`` Ingress (Kubernetes
  ``pkg/apis/networking/validation/validation.go`` ``ValidateIngressSpec`` and
  ``apimachinery`` ``ValidateObjectMeta``), in its wording: a ``metadata.name`` that is not a
  DNS-1123 subdomain, a ``metadata.namespace`` that is not a DNS-1123 label, annotations
  over 256 KiB in total; a rule or TLS host that is an IP address or not a DNS-1123
  subdomain (an optional leading ``*.`` allowed); a path without ``pathType``, a
  ``pathType`` outside Exact, Prefix and ImplementationSpecific, a path that does not
  start with ``/``; a backend service without a name, or whose port is not a number in
  1-65535 or a valid port name (or has both or neither); a ``secretName`` that is not a
  DNS-1123 subdomain (see :func:`api_server_errors`);
- no Ingress left in the input.

Warnings (kept in ``Workload.warnings``; what Higress does is said in each):

- a document of another kind (skipped; Namespaces, which ``gwbench generate`` writes, are
  skipped silently), a Secret that is not ``kubernetes.io/tls`` (skipped);
- a rule without host: a catch-all (Higress routes it as host ``*``), and no TLS for it;
- a host already defined by an earlier Ingress: Higress keeps the first Ingress's TLS
  settings for the host (the later one only adds routes);
- a tls entry without ``secretName``: Higress serves its hosts with the fallback certificate
  of its ``higress-https`` ConfigMap (``fallbackForInvalidSecret``);
- a ``secretName`` with no such Secret in the input (checked only when the input has
  Secrets at all), which Higress also serves with the fallback certificate;
- an Ingress defined twice (same namespace and name): the later one wins, as with
  ``kubectl apply``.

Cost: O(total size of the documents).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes.client import V1Ingress, V1IngressTLS, V1Secret
from pydantic import ValidationError

from gwbench.errors import InputError
from gwbench.workloads.model import DEFAULT_DOMAIN, WILDCARD_SECRET, Workload

INGRESS_API_VERSION = "networking.k8s.io/v1"
REMOVED_INGRESS_API_VERSIONS = ("extensions/v1beta1", "networking.k8s.io/v1beta1")
TLS_SECRET_TYPE = "kubernetes.io/tls"
FALLBACK_SECRET = WILDCARD_SECRET
MAX_WARNINGS_PER_KIND = 20
SILENTLY_SKIPPED_KINDS = ("Namespace",)

# ---- the API server's rules (k8s.io/apimachinery/pkg/util/validation) ---------------------

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
IANA_SVC_NAME = re.compile(r"[-a-z0-9]+")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
PORT_NAME_MAX = 15
ANNOTATIONS_MAX_BYTES = 256 * 1024
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name')"
)


@dataclass(frozen=True)
class FieldError:
    """One field the API server would refuse: its path in the object and why."""

    path: str
    message: str


def _dns_problem(value: str, limit: int, pattern: re.Pattern[str], message: str) -> str | None:
    """What is wrong with ``value`` as a DNS-1123 name of at most ``limit`` characters."""
    if len(value) > limit:
        return f"must be no more than {limit} characters"
    if not pattern.fullmatch(value):
        return message
    return None


def _subdomain_problem(value: str) -> str | None:
    return _dns_problem(value, SUBDOMAIN_MAX, DNS1123_SUBDOMAIN, SUBDOMAIN_MESSAGE)


def _label_problem(value: str) -> str | None:
    return _dns_problem(value, LABEL_MAX, DNS1123_LABEL, LABEL_MESSAGE)


def _host_problem(host: str) -> str | None:
    """``ValidateIngressSpec`` for a rule or TLS host: not an IP, a DNS-1123 subdomain,
    or ``*.`` followed by one."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "must be a DNS name, not an IP address"
    if host.startswith("*."):
        problem = _subdomain_problem(host[2:])
        if problem is not None:
            return (
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
                "subdomain, which must consist of lower case alphanumeric characters, '-' or "
                "'.' and end with an alphanumeric character (e.g. '*.example.com')"
            )
        return None
    if "*" in host:
        return "a wildcard is allowed only as the whole first label ('*.example.com')"
    return _subdomain_problem(host)


def _port_name_problem(name: str) -> str | None:
    """``IsValidPortName`` (an IANA service name)."""
    if len(name) > PORT_NAME_MAX:
        return f"must be no more than {PORT_NAME_MAX} characters"
    if not IANA_SVC_NAME.fullmatch(name):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if "--" in name:
        return "must not contain consecutive hyphens"
    if name.startswith("-") or name.endswith("-"):
        return "must not begin or end with a hyphen"
    if not any(c.isalpha() for c in name):
        return "must contain at least one letter (a-z)"
    return None


def _annotations_size(annotations: Any) -> int:
    if not isinstance(annotations, dict):
        return 0
    return sum(len(str(k)) + len(str(v)) for k, v in annotations.items())


def _backend_errors(backend: Any, path: str) -> Iterator[FieldError]:
    if not isinstance(backend, dict):
        return
    service = backend.get("service")
    if service is None:
        if backend.get("resource") is None:
            yield FieldError(path, "one backend (service or resource) must be specified")
        return
    name = service.get("name")
    if not name:
        yield FieldError(f"{path}.service.name", "Required value")
    elif len(name) > LABEL_MAX or not DNS1035_LABEL.fullmatch(name):
        yield FieldError(
            f"{path}.service.name",
            f"Invalid value: {name!r}: a DNS-1035 label must consist of lower case "
            "alphanumeric characters or '-', start with an alphabetic character, and end "
            "with an alphanumeric character (e.g. 'my-name')",
        )
    port = service.get("port") or {}
    number, port_name = port.get("number"), port.get("name")
    where = f"{path}.service.port"
    if number is not None and port_name:
        yield FieldError(where, "cannot set both port name & port number")
    elif number is not None:
        if not 1 <= number <= 65535:
            yield FieldError(
                f"{where}.number",
                f"Invalid value: {number}: must be between 1 and 65535, inclusive",
            )
    elif port_name:
        problem = _port_name_problem(port_name)
        if problem is not None:
            yield FieldError(f"{where}.name", f"Invalid value: {port_name!r}: {problem}")
    else:
        yield FieldError(where, "port name or number is required")


def _path_errors(http_path: Any, where: str) -> Iterator[FieldError]:
    path_type = http_path.get("pathType")
    value = http_path.get("path")
    if path_type is None:
        yield FieldError(f"{where}.pathType", "Required value: pathType must be specified")
    elif path_type not in PATH_TYPES:
        allowed = ", ".join(f'"{t}"' for t in PATH_TYPES)
        yield FieldError(
            f"{where}.pathType",
            f"Unsupported value: {path_type!r}: supported values: {allowed}",
        )
    if path_type in ("Exact", "Prefix") and not value:
        yield FieldError(f"{where}.path", f"Required value: a {path_type} path is required")
    elif value and not str(value).startswith("/"):
        yield FieldError(f"{where}.path", f"Invalid value: {value!r}: must be an absolute path")
    yield from _backend_errors(http_path.get("backend"), f"{where}.backend")


def api_server_errors(body: dict[str, Any]) -> Iterator[FieldError]:
    """What the API server refuses in a ``networking.k8s.io/v1`` Ingress ``body`` (already
    of the right types), field by field, in document order."""
    metadata = body.get("metadata") or {}
    name = metadata.get("name") or ""
    problem = _subdomain_problem(name)
    if problem is not None:
        yield FieldError("metadata.name", f"Invalid value: {name!r}: {problem}")
    namespace = metadata.get("namespace")
    if namespace is not None:
        problem = _label_problem(namespace)
        if problem is not None:
            yield FieldError("metadata.namespace", f"Invalid value: {namespace!r}: {problem}")
    size = _annotations_size(metadata.get("annotations"))
    if size > ANNOTATIONS_MAX_BYTES:
        yield FieldError(
            "metadata.annotations",
            f"Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes "
            f"(the annotations hold {size} bytes)",
        )
    spec = body.get("spec") or {}
    if spec.get("defaultBackend") is not None:
        yield from _backend_errors(spec["defaultBackend"], "spec.defaultBackend")
    for r, rule in enumerate(spec.get("rules") or []):
        host = rule.get("host")
        if host:
            problem = _host_problem(host)
            if problem is not None:
                yield FieldError(f"spec.rules[{r}].host", f"Invalid value: {host!r}: {problem}")
        http = rule.get("http") or {}
        for i, http_path in enumerate(http.get("paths") or []):
            yield from _path_errors(http_path, f"spec.rules[{r}].http.paths[{i}]")
    for t, tls in enumerate(spec.get("tls") or []):
        for h, host in enumerate(tls.get("hosts") or []):
            problem = _host_problem(host)
            if problem is not None:
                yield FieldError(f"spec.tls[{t}].hosts[{h}]", f"Invalid value: {host!r}: {problem}")
        secret = tls.get("secretName")
        if secret:
            problem = _subdomain_problem(secret)
            if problem is not None:
                yield FieldError(
                    f"spec.tls[{t}].secretName", f"Invalid value: {secret!r}: {problem}"
                )


@dataclass(frozen=True)
class Document:
    """One object to validate: its document index in the input and its field prefix there."""

    index: int
    body: Any
    prefix: str = ""  # "items[3]." for the items of a kind: List

    def field(self, path: str) -> str:
        return f"{self.prefix}{path}" if path else self.prefix.rstrip(".") or ""


def effective_secret_name(tls: V1IngressTLS) -> str:
    """The Secret Higress uses for a tls entry: its ``secretName``, else the fallback.

    Higress (``fallbackForInvalidSecret`` in the ``higress-https`` ConfigMap) serves hosts
    whose Secret is missing or invalid with the fallback certificate, on Sealos the
    wildcard certificate of the cloud domain.
    """
    return tls.secret_name or FALLBACK_SECRET


def expand_lists(documents: Iterable[tuple[int, Any]], file: str | None) -> list[Document]:
    """Documents with every ``kind: List`` replaced by its items; empty documents dropped."""
    result: list[Document] = []
    for index, body in documents:
        if body is None:
            continue
        if not isinstance(body, dict):
            raise InputError(
                f"a manifest document must be a mapping, got {_type_name(body)}",
                file=file,
                document=index,
            )
        if body.get("kind") == "List":
            items = body.get("items")
            if not isinstance(items, list):
                raise InputError(
                    "kind: List needs a list of items", file=file, document=index, field="items"
                )
            for i, item in enumerate(items):
                prefix = f"items[{i}]."
                if not isinstance(item, dict):
                    raise InputError(
                        f"a list item must be a mapping, got {_type_name(item)}",
                        file=file,
                        document=index,
                        field=f"items[{i}]",
                    )
                result.append(Document(index, item, prefix))
        else:
            result.append(Document(index, body))
    return result


class _Warnings:
    """Warnings grouped by kind, at most :data:`MAX_WARNINGS_PER_KIND` spelled out per kind."""

    def __init__(self) -> None:
        self._messages: dict[str, list[str]] = {}
        self._counts: Counter[str] = Counter()

    def add(self, kind: str, message: str) -> None:
        self._counts[kind] += 1
        if self._counts[kind] <= MAX_WARNINGS_PER_KIND:
            self._messages.setdefault(kind, []).append(message)

    def as_list(self) -> list[str]:
        result: list[str] = []
        for kind, messages in self._messages.items():
            result.extend(messages)
            more = self._counts[kind] - len(messages)
            if more:
                result.append(f"... and {more} more warnings of this kind ({kind})")
        return result


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)


def _format_path(body: Any, loc: Sequence[int | str]) -> str:
    """``('spec', 'rules', 0, 'host')`` -> ``spec.rules[0].host``, following the real data.

    pydantic adds entries for union members (``str``, ``bytes``) that are not in the data;
    those are dropped.
    """
    parts: list[str] = []
    node: Any = body
    for item in loc:
        if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            parts.append(f"[{item}]")
            node = node[item]
        elif isinstance(node, dict) and item in node:
            key = str(item)
            if any(c in key for c in "./[]") and parts:
                parts.append(f'["{key}"]')
            else:
                parts.append(f".{key}" if parts else key)
            node = node[item]
        else:
            break
    return "".join(parts)


def _describe_validation_error(error: Any, body: Any) -> tuple[str, str]:
    """(message, field path) for the first error pydantic found."""
    loc = tuple(error.get("loc", ()))
    path = _format_path(body, loc)
    kind = error.get("type", "")
    if kind == "missing" and loc:
        name = str(loc[-1])
        parent = _format_path(body, loc[:-1])
        return f"Required value: {name} must be specified", f"{parent}.{name}" if parent else name
    if kind == "extra_forbidden":
        name = loc[-1] if loc else "?"
        parent = _format_path(body, loc[:-1])
        where = f" in {parent}" if parent else ""
        return f"unknown field {name!r}{where}", path
    value = error.get("input")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"wrong type: {error.get('msg', 'invalid value')}, got {_type_name(value)} {shown}", path


class WorkloadBuilder:
    """Validates documents one by one and assembles the workload (see the module doc)."""

    def __init__(self, file: str | None, source: str, *, secrets_known: bool = True) -> None:
        self.file = file
        self.source = source
        self.secrets_known = secrets_known
        self.warnings = _Warnings()
        self._ingresses: dict[tuple[str, str], tuple[Document, V1Ingress]] = {}
        self._secrets: dict[tuple[str, str], V1Secret] = {}
        self._skipped: Counter[str] = Counter()

    def error(self, doc: Document, message: str, path: str | None = None) -> InputError:
        return InputError(
            message,
            file=self.file,
            document=doc.index,
            field=doc.field(path) if path is not None else (doc.prefix.rstrip(".") or None),
        )

    def _where(self, doc: Document, namespace: str, name: str) -> str:
        item = f" {doc.prefix.rstrip('.')}" if doc.prefix else ""
        return f"document {doc.index}{item} ({namespace}/{name})"

    def add(self, doc: Document) -> None:
        body = doc.body
        kind = body.get("kind")
        if kind is None:
            raise self.error(doc, "missing kind", "kind")
        if not isinstance(kind, str):
            raise self.error(doc, f"kind must be a string, got {_type_name(kind)}", "kind")
        if kind == "Ingress":
            self._add_ingress(doc)
        elif kind == "Secret":
            self._add_secret(doc)
        elif kind not in SILENTLY_SKIPPED_KINDS:
            self._skipped[kind] += 1
            self.warnings.add(
                "not an Ingress",
                f"document {doc.index}{' ' + doc.prefix.rstrip('.') if doc.prefix else ''}: "
                f"kind {kind} is not an Ingress: skipped",
            )

    def _validate_model(self, doc: Document, model: type[V1Ingress] | type[V1Secret]) -> Any:
        try:
            return model.model_validate(doc.body)
        except ValidationError as exc:
            message, path = _describe_validation_error(exc.errors()[0], doc.body)
            raise self.error(doc, message, path) from None

    def _add_ingress(self, doc: Document) -> None:
        body = doc.body
        api_version = body.get("apiVersion")
        if api_version is None:
            message = f"missing apiVersion (expected {INGRESS_API_VERSION})"
            raise self.error(doc, message, "apiVersion")
        if api_version in REMOVED_INGRESS_API_VERSIONS:
            raise self.error(
                doc,
                f"Ingress apiVersion {api_version} is not supported: it was removed in "
                "Kubernetes 1.22; write networking.k8s.io/v1 (kubectl convert does it)",
                "apiVersion",
            )
        if api_version != INGRESS_API_VERSION:
            raise self.error(
                doc,
                f"unknown Ingress apiVersion {api_version!r}: only {INGRESS_API_VERSION} is read",
                "apiVersion",
            )
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            raise self.error(doc, "missing metadata", "metadata")
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise self.error(doc, "missing Ingress name", "metadata.name")
        spec = body.get("spec")
        if not isinstance(spec, dict):
            raise self.error(doc, "missing host: the Ingress has no spec", "spec")
        rules = spec.get("rules")
        if rules is None or rules == []:
            raise self.error(
                doc,
                "missing host: the Ingress has no rules (a default backend alone names no host)",
                "spec.rules",
            )
        if not isinstance(rules, list):
            message = f"spec.rules must be a list, got {_type_name(rules)}"
            raise self.error(doc, message, "spec.rules")
        ingress: V1Ingress = self._validate_model(doc, V1Ingress)
        first = next(api_server_errors(body), None)
        if first is not None:
            raise self.error(
                doc, f"the API server refuses this Ingress: {first.message}", first.path
            )
        namespace = str(metadata.get("namespace") or "default")
        key = (namespace, name)
        if key in self._ingresses:
            earlier = self._ingresses[key][0]
            self.warnings.add(
                "redefined Ingress",
                f"{self._where(doc, namespace, name)}: redefines the Ingress of document "
                f"{earlier.index}: the later one wins (as kubectl apply)",
            )
            del self._ingresses[key]
        self._ingresses[key] = (doc, ingress)

    def _add_secret(self, doc: Document) -> None:
        body = doc.body
        metadata = body.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            raise self.error(doc, "missing Secret name", "metadata.name")
        secret: V1Secret = self._validate_model(doc, V1Secret)
        namespace = str(metadata.get("namespace") or "default")
        if secret.type != TLS_SECRET_TYPE:
            self.warnings.add(
                "not a TLS Secret",
                f"document {doc.index} ({namespace}/{metadata['name']}): Secret type "
                f"{secret.type or 'Opaque'} is not {TLS_SECRET_TYPE}: skipped",
            )
            return
        self._secrets[(namespace, metadata["name"])] = secret

    def _check_hosts(self) -> None:
        first_by_host: dict[str, tuple[Document, str, str]] = {}
        for (namespace, name), (doc, ingress) in self._ingresses.items():
            spec = ingress.spec
            assert spec is not None and spec.rules is not None
            for r, rule in enumerate(spec.rules):
                host = rule.host or ""
                if not host:
                    self.warnings.add(
                        "rule without host",
                        f"{self._where(doc, namespace, name)}: field "
                        f"{doc.field(f'spec.rules[{r}].host')} is empty: a catch-all rule "
                        "(Higress routes it as host '*'), served without TLS",
                    )
                    continue
                first = first_by_host.get(host)
                if first is None:
                    first_by_host[host] = (doc, namespace, name)
                elif first[1:] != (namespace, name):
                    self.warnings.add(
                        "duplicate host",
                        f"{self._where(doc, namespace, name)}: host {host} is already defined "
                        f"by {self._where(*first)}: Higress keeps the first one's TLS settings",
                    )
            for t, tls in enumerate(spec.tls or []):
                field = doc.field(f"spec.tls[{t}].secretName")
                if not tls.secret_name:
                    self.warnings.add(
                        "tls without secretName",
                        f"{self._where(doc, namespace, name)}: field {field} is missing: Higress "
                        "serves these hosts with its fallback certificate "
                        "(fallbackForInvalidSecret)",
                    )
                elif self.secrets_known and (namespace, tls.secret_name) not in self._secrets:
                    self.warnings.add(
                        "missing Secret",
                        f"{self._where(doc, namespace, name)}: field {field} names Secret "
                        f"{tls.secret_name}, which is not in the input: Higress serves these "
                        "hosts with its fallback certificate (fallbackForInvalidSecret)",
                    )

    def build(self, domain: str | None = None) -> Workload:
        if not self._ingresses:
            skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(self._skipped.items()))
            detail = f" (found only: {skipped})" if skipped else ""
            raise InputError(f"no Ingress found{detail}", file=self.file)
        # Only when the input carries Secrets can a missing one be told apart.
        if not self._secrets:
            self.secrets_known = False
        self._check_hosts()
        ingresses = [ingress for _, ingress in self._ingresses.values()]
        return Workload(
            ingresses=ingresses,
            secrets=list(self._secrets.values()),
            spec=None,
            source=self.source,
            domain=domain or infer_domain(ingresses),
            warnings=self.warnings.as_list(),
        )


def build_workload(
    documents: Iterable[tuple[int, Any]],
    *,
    file: str | None,
    source: str,
    domain: str | None = None,
    secrets_known: bool = True,
) -> Workload:
    """Validate ``(document index, parsed body)`` pairs into a workload (see module doc)."""
    builder = WorkloadBuilder(file, source, secrets_known=secrets_known)
    for doc in expand_lists(documents, file):
        builder.add(doc)
    return builder.build(domain)


def infer_domain(ingresses: Iterable[V1Ingress]) -> str:
    """The cloud domain: the parent domain shared by the most hosts (wildcards included).

    Falls back to the default domain when no parent is shared by two hosts or more.
    """
    parents: Counter[str] = Counter()
    for ingress in ingresses:
        for rule in (ingress.spec.rules or []) if ingress.spec is not None else []:
            host = rule.host or ""
            if "." in host:
                parents[host.split(".", 1)[1]] += 1
    if not parents:
        return DEFAULT_DOMAIN
    (parent, count), *_ = sorted(parents.items(), key=lambda kv: (-kv[1], kv[0]))
    return parent if count >= 2 else DEFAULT_DOMAIN
