"""One plain Ingress: one rule, one backend service, one TLS entry.

What a test, a hot path's extra Ingress or a small fixture needs when the generator's
Sealos-like templates (:mod:`workloads.generate`) are more than it asks for.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client as k8s

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
) -> k8s.V1Ingress:
    """A networking.k8s.io/v1 Ingress routing ``paths`` (path, pathType) of ``host`` to
    ``service:port``, with a TLS entry naming ``secret`` when ``tls`` (and a host).
    ``manifest`` sets apiVersion and kind (a document of its own; items of a list read
    from the API carry neither)."""
    port_ref = k8s.V1ServiceBackendPort(number=port)
    backend = k8s.V1IngressBackend(
        service=k8s.V1IngressServiceBackend(name=service, port=port_ref)
    )
    rule = k8s.V1IngressRule(
        host=host,
        http=k8s.V1HTTPIngressRuleValue(
            paths=[k8s.V1HTTPIngressPath(path=p, path_type=t, backend=backend) for p, t in paths]
        ),
    )
    return k8s.V1Ingress(
        api_version="networking.k8s.io/v1" if manifest else None,
        kind="Ingress" if manifest else None,
        metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, annotations=annotations),
        spec=k8s.V1IngressSpec(
            rules=[rule],
            tls=[k8s.V1IngressTLS(hosts=[host], secret_name=secret)]
            if tls and host is not None
            else None,
        ),
    )
