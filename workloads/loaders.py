"""Load the user's own Ingresses: from manifest files or, read-only, from a live cluster.

- :func:`load_file`: multi-document YAML or a ``kind: List`` (``kubectl get ingress -A -o
  yaml`` output), ``-`` for standard input; :func:`load_text` for YAML already in memory.
- :func:`load_cluster`: every Ingress of the current kubeconfig context (or ``context``),
  through the kubernetes client's ``NetworkingV1Api.list_ingress_for_all_namespaces``, paged.
  Secrets are never read: the workload holds, for each TLS Secret the Ingresses name, a
  Secret with only its namespace, name and type, so no certificate, key or credential can
  reach results or reports.

Both validate through :mod:`workloads.validate` and raise
:class:`gwbench.errors.InputError` (exit 2) for anything wrong with the input or the
kubeconfig. Cost: O(total input size).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client import V1Ingress, V1ObjectMeta, V1Secret
from kubernetes.client.exceptions import ApiException

from gwbench.errors import InputError
from gwbench.heap import paused_gc
from gwbench.workloads import yamlio
from gwbench.workloads.model import Workload
from gwbench.workloads.validate import INGRESS_API_VERSION, TLS_SECRET_TYPE, build_workload

CLUSTER_PAGE_SIZE = 500
CLUSTER_TIMEOUT_SECONDS = 30.0


def _read_text(path: str) -> str:
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        try:
            if stream is None:  # a text stream without bytes underneath (embedding, tests)
                return sys.stdin.read()
            data = stream.read()
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", file="stdin") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", file="stdin") from None
        return yamlio.decode_text(data, "stdin")
    file = Path(path)
    if not file.exists():
        raise InputError("no such file", file=path)
    if file.is_dir():
        raise InputError("is a directory, not a manifest file", file=path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    return yamlio.decode_text(data, path)


def parse_documents(text: str, file: str) -> list[tuple[int, Any]]:
    """``(document index, parsed body)`` of every YAML document, or an InputError with line."""
    documents: list[tuple[int, Any]] = []
    try:
        for body in yamlio.iter_documents(text):
            documents.append((len(documents), body))
    except yaml.YAMLError as exc:
        line = yamlio.error_line(exc)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {line}" if line is not None else ""
        message = f"malformed YAML{where}: {problem}"
        raise InputError(message, file=file, document=len(documents)) from None
    return documents


def load_text(text: str, *, source: str = "<string>", domain: str | None = None) -> Workload:
    """The Ingresses (and TLS Secrets) of YAML ``text``, validated; errors name ``source``."""
    with paused_gc():
        documents = parse_documents(text, source)
        return build_workload(documents, file=source, source=source, domain=domain)


def load_file(path: str | Path, *, domain: str | None = None) -> Workload:
    """The Ingresses (and TLS Secrets) of a manifest file, validated.

    ``domain`` is the cloud domain (custom domains are the hosts outside it); inferred
    from the hosts when not given.
    """
    name = str(path)
    text = _read_text(name)
    return load_text(text, source="stdin" if name == "-" else name, domain=domain)


def _active_context(context: str | None) -> str:
    try:
        contexts, active = k8s_config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError, TypeError, ValueError) as exc:
        raise InputError(
            f"no usable kubeconfig ($KUBECONFIG or ~/.kube/config) for --from-cluster: {exc}"
        ) from None
    if context is None:
        if not active:
            raise InputError("the kubeconfig has no current context (use --context)")
        return str(active["name"])
    names = [c["name"] for c in contexts or []]
    if context not in names:
        known = ", ".join(names) or "none"
        raise InputError(f"no context {context!r} in the kubeconfig (known: {known})")
    return context


def _api_client(context: str) -> Any:
    try:
        return k8s_config.new_client_from_config(context=context)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError, TypeError, ValueError) as exc:
        raise InputError(f"cannot use kubeconfig context {context!r}: {exc}") from None


def list_cluster_ingresses(api: Any) -> list[V1Ingress]:
    """All Ingresses of the cluster, page by page (read-only)."""
    ingresses: list[V1Ingress] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "limit": CLUSTER_PAGE_SIZE,
            "_request_timeout": CLUSTER_TIMEOUT_SECONDS,
        }
        if token:
            kwargs["_continue"] = token
        page = api.list_ingress_for_all_namespaces(**kwargs)
        ingresses.extend(page.items or [])
        token = page.metadata._continue if page.metadata is not None else None
        if not token:
            return ingresses


def _secret_stubs(ingresses: list[V1Ingress]) -> list[V1Secret]:
    """Name-only Secrets for every TLS Secret the Ingresses name (no data is ever read)."""
    seen: dict[tuple[str, str], None] = {}
    for ingress in ingresses:
        namespace = ingress.metadata.namespace if ingress.metadata else None
        for tls in (ingress.spec.tls or []) if ingress.spec else []:
            if tls.secret_name:
                seen.setdefault((namespace or "default", tls.secret_name), None)
    return [
        V1Secret(
            api_version="v1",
            kind="Secret",
            type=TLS_SECRET_TYPE,
            metadata=V1ObjectMeta(namespace=namespace, name=name),
        )
        for namespace, name in seen
    ]


def load_cluster(context: str | None = None, *, domain: str | None = None) -> Workload:
    """Every Ingress of the cluster behind the kubeconfig ``context`` (default: current).

    Read-only: one paged list of Ingresses. Secrets are name-only stubs (see module doc).
    """
    context_name = _active_context(context)
    api_client = _api_client(context_name)
    api = k8s_client.NetworkingV1Api(api_client)
    try:
        items = list_cluster_ingresses(api)
    except ApiException as exc:
        raise InputError(
            f"the cluster of context {context_name!r} refused to list Ingresses: "
            f"{exc.status} {exc.reason}"
        ) from None
    except Exception as exc:  # urllib3 connection errors, timeouts, TLS failures
        raise InputError(
            f"cannot reach the cluster of context {context_name!r}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    documents: list[tuple[int, Any]] = []
    with paused_gc():
        for index, ingress in enumerate(items):
            # List items come without apiVersion and kind; managedFields are noise here.
            body = yamlio.to_dict(ingress)
            body["apiVersion"] = INGRESS_API_VERSION
            body["kind"] = "Ingress"
            body.get("metadata", {}).pop("managedFields", None)
            documents.append((index, body))
        source = f"cluster:{context_name}"
        workload = build_workload(
            documents, file=source, source=source, domain=domain, secrets_known=False
        )
    workload.secrets = _secret_stubs(workload.ingresses)
    return workload
