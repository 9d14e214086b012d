"""The workload: a set of Ingresses and their Secrets, and how it was made.

Everything downstream (translation, hot paths, harness) takes a :class:`Workload`, whether
it was generated from a :class:`WorkloadSpec` or loaded from the user's manifests or cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the kubernetes models are heavy to import; benchmark workers may not need them
    from kubernetes.client import V1Ingress, V1Secret

DEFAULT_DOMAIN = "cloud.example.com"
DEFAULT_SEED = 42
DEFAULT_CUSTOM_DOMAIN_SHARE = 0.05
WILDCARD_SECRET = "wildcard-cert"
HIGRESS_NAMESPACE = "higress-system"
CLUSTER_NAME = "Kubernetes"


@dataclass(frozen=True)
class WorkloadSpec:
    """Parameters of a generated workload; the same spec always yields the same bytes."""

    ingresses: int
    seed: int = DEFAULT_SEED
    custom_domain_share: float = DEFAULT_CUSTOM_DOMAIN_SHARE
    domain: str = DEFAULT_DOMAIN


@dataclass
class Workload:
    """Ingresses plus the TLS Secrets they name.

    ``spec`` is set for generated workloads and ``None`` for the user's own manifests;
    ``source`` says where the objects came from ("generated", a file path, or
    "cluster:<context>"). ``warnings`` collects what validation let through.
    """

    ingresses: list[V1Ingress]
    secrets: list[V1Secret]
    spec: WorkloadSpec | None = None
    source: str = "generated"
    domain: str = DEFAULT_DOMAIN
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ingresses)
