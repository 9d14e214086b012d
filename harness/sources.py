"""Where the measured Ingresses come from: generated (seeded), the user's manifests
(``--from-file``) or the current kubeconfig context (``--from-cluster``).

The sweep's smaller sizes of the user's own Ingresses are deterministic seeded subsets:
nested (the subset at N/4 lies inside the one at N/2), in the original order, with the
Secrets the chosen Ingresses name (Secrets no Ingress names are kept).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from gwbench.errors import InputError
from gwbench.stats import stable_seed
from gwbench.workloads.model import (
    DEFAULT_CUSTOM_DOMAIN_SHARE,
    DEFAULT_SEED,
    Workload,
    WorkloadSpec,
)

SourceKind = Literal["generated", "file", "cluster"]


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind = "generated"
    seed: int = DEFAULT_SEED
    custom_domain_share: float = DEFAULT_CUSTOM_DOMAIN_SHARE
    path: str | None = None


def generate_workload(spec: WorkloadSpec) -> Workload:
    """The seeded generator (workloads.generate)."""
    from gwbench.workloads.generate import generate

    return generate(spec)


def load_file(path: str) -> Workload:
    from gwbench.workloads.loaders import load_file as loader

    try:
        return loader(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None


def load_cluster() -> Workload:
    from gwbench.workloads.loaders import load_cluster

    return load_cluster()


def _secret_refs(ingress: Any) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    namespace = getattr(getattr(ingress, "metadata", None), "namespace", None) or "default"
    for tls in getattr(getattr(ingress, "spec", None), "tls", None) or ():
        name = getattr(tls, "secret_name", None)
        if name:
            refs.add((namespace, name))
    return refs


def _secret_key(secret: Any) -> tuple[str, str]:
    meta = getattr(secret, "metadata", None)
    return (getattr(meta, "namespace", None) or "default", getattr(meta, "name", None) or "")


def sample(workload: Workload, n: int, seed: int) -> Workload:
    """A deterministic subset of ``n`` of the workload's Ingresses (nested across n)."""
    total = len(workload.ingresses)
    if n >= total:
        return workload
    order = list(range(total))
    random.Random(stable_seed("gwbench-sample", seed)).shuffle(order)
    chosen = sorted(order[:n])
    ingresses = [workload.ingresses[i] for i in chosen]
    wanted: set[tuple[str, str]] = set()
    for ing in ingresses:
        wanted |= _secret_refs(ing)
    named: set[tuple[str, str]] = set()
    for ing in workload.ingresses:
        named |= _secret_refs(ing)
    secrets = [
        s for s in workload.secrets if _secret_key(s) in wanted or _secret_key(s) not in named
    ]
    return Workload(
        ingresses=ingresses,
        secrets=secrets,
        spec=None,
        source=workload.source,
        domain=workload.domain,
        warnings=list(workload.warnings),
    )


class WorkloadProvider:
    """Workloads at each sweep size for one source; the user's set is loaded once."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self._full: Workload | None = None

    def full(self) -> Workload | None:
        """The user's whole set (``None`` for generated workloads)."""
        if self.spec.kind == "generated":
            return None
        if self._full is None:
            if self.spec.kind == "file":
                assert self.spec.path is not None
                self._full = load_file(self.spec.path)
            else:
                self._full = load_cluster()
        return self._full

    def available(self) -> int | None:
        full = self.full()
        return None if full is None else len(full.ingresses)

    def at(self, n: int) -> Workload:
        if self.spec.kind == "generated":
            return generate_workload(
                WorkloadSpec(
                    ingresses=n,
                    seed=self.spec.seed,
                    custom_domain_share=self.spec.custom_domain_share,
                )
            )
        full = self.full()
        assert full is not None
        if n > len(full.ingresses):
            raise InputError(
                f"asked for {n} Ingresses but the source holds {len(full.ingresses)}",
                file=self.spec.path,
            )
        return sample(full, n, self.spec.seed)

    def describe(self) -> str:
        if self.spec.kind == "generated":
            return "generated"
        if self.spec.kind == "file":
            return f"file:{self.spec.path}"
        full = self.full()
        source = full.source if full is not None else "cluster"
        return source if source.startswith("cluster") else f"cluster:{source}"

    def warnings(self) -> tuple[str, ...]:
        """The loader's warnings about the user's manifests (none for generated ones)."""
        full = self.full()
        return () if full is None else tuple(full.warnings)

    def sampling(self) -> str | None:
        if self.spec.kind == "generated":
            return None
        return (
            "nested seeded subsets (seed "
            f"{self.spec.seed}) of the source's Ingresses, original order kept"
        )
