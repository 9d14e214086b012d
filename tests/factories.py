"""Small builders of Kubernetes objects for tests that need a handful of exact Ingresses."""

from __future__ import annotations

from kubernetes.client import V1Ingress

from gwbench.workloads.ingress import plain_ingress
from gwbench.workloads.model import WILDCARD_SECRET, Workload

DOMAIN = "cloud.example.com"


def make_ingress(
    name: str,
    host: str,
    *,
    namespace: str = "ns-test0001",
    secret: str | None = WILDCARD_SECRET,
    tls: bool = True,
    annotations: dict[str, str] | None = None,
    paths: tuple[tuple[str, str], ...] = (("/", "Prefix"),),
) -> V1Ingress:
    """One networking.k8s.io/v1 Ingress with one rule (and one TLS entry when ``tls``)."""
    return plain_ingress(
        name,
        host,
        namespace=namespace,
        service=f"{name}-svc",
        port=3000,
        secret=secret,
        tls=tls,
        annotations={"kubernetes.io/ingress.class": "nginx", **(annotations or {})},
        paths=paths,
    )


def make_workload(n: int, *, custom_every: int = 20, h1_every: int = 0) -> Workload:
    """``n`` subdomain Ingresses; every ``custom_every``-th uses a custom domain and secret;
    every ``h1_every``-th (when > 0) turns h2 off with the enable-h2 annotation."""
    ingresses = []
    for i in range(n):
        custom = custom_every > 0 and i % custom_every == custom_every - 1
        host = f"www.custom{i}.org" if custom else f"app{i:06d}.{DOMAIN}"
        annotations = (
            {"mse.ingress.alibabacloud.com/enable-h2": "false"}
            if h1_every > 0 and i % h1_every == 0
            else None
        )
        ingresses.append(
            make_ingress(
                f"network-{i:06d}",
                host,
                namespace=f"ns-{i // 3:08d}",
                secret=f"network-{i:06d}" if custom else WILDCARD_SECRET,
                annotations=annotations,
            )
        )
    return Workload(ingresses=ingresses, secrets=[], domain=DOMAIN)
