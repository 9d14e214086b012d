"""One plain Ingress: one rule, one backend service, one TLS entry.

What a test, a hot path's extra Ingress or a small fixture needs when the generator's
Sealos-like templates (:mod:`workloads.generate`) are more than it asks for.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes.client import (
    V1HTTPIngressPath,
    V1HTTPIngressRuleValue,
    V1Ingress,
    V1IngressBackend,
    V1IngressRule,
    V1IngressServiceBackend,
    V1IngressSpec,
    V1IngressTLS,
    V1ObjectMeta,
    V1ServiceBackendPort,
)

from gwbench.workloads.model import WILDCARD_SECRET


def plain_ingress(
    name: str,
    host: str | None,
    *,
    namespace: str,
    service: str,
    port: int = 80,
    secret: str | None = WILDCARD_SECRET,
    tls: bool = True,
    annotations: dict[str, str] | None = None,
    paths: Sequence[tuple[str, str]] = (("/", "Prefix"),),
    manifest: bool = True,
) -> V1Ingress:
    """A networking.k8s.io/v1 Ingress routing ``paths`` (path, pathType) of ``host`` to
    ``service:port``, with a TLS entry naming ``secret`` when ``tls`` (and a host).
    ``manifest`` sets apiVersion and kind (a document of its own; items of a list read
    from the API carry neither)."""
    backend = V1IngressBackend(
        service=V1IngressServiceBackend(name=service, port=V1ServiceBackendPort(number=port))
    )
    rule = V1IngressRule(
        host=host,
        http=V1HTTPIngressRuleValue(
            paths=[V1HTTPIngressPath(path=p, path_type=t, backend=backend) for p, t in paths]
        ),
    )
    return V1Ingress(
        api_version="networking.k8s.io/v1" if manifest else None,
        kind="Ingress" if manifest else None,
        metadata=V1ObjectMeta(name=name, namespace=namespace, annotations=annotations),
        spec=V1IngressSpec(
            rules=[rule],
            tls=[V1IngressTLS(hosts=[host], secret_name=secret)]
            if tls and host is not None
            else None,
        ),
    )
