"""Command-line choices shared by ``run`` and ``verify``: which hot paths, which
Ingresses, how many. Every mistake is an :class:`InputError` (exit 2)."""

from __future__ import annotations

from collections.abc import Sequence

from gwbench.errors import InputError
from gwbench.harness import registry
from gwbench.harness.registry import HotPath
from gwbench.harness.sources import SourceSpec, WorkloadProvider


def select_hotpaths(names: Sequence[str]) -> list[HotPath]:
    """The named hot paths in pipeline order (all of them when ``names`` is empty)."""
    known = [hp.name for hp in registry.all_hotpaths()]
    for name in names:
        if name not in known:
            raise InputError(
                f"unknown hot path {name!r}; known: {', '.join(known) or 'none registered'}",
                field="--hotpath",
            )
    selected = registry.select(list(names))
    if not selected:
        raise InputError("no hot paths are registered", field="--hotpath")
    return selected


def resolve_source(
    *,
    ingresses: int | None,
    from_file: str | None,
    from_cluster: bool,
    seed: int,
    custom_domain_share: float,
) -> tuple[WorkloadProvider, int]:
    """The workload provider and N. With the user's own Ingresses, N defaults to all of
    them and may not exceed their number."""
    if ingresses is not None and ingresses <= 0:
        raise InputError(
            f"the number of Ingresses must be positive, got {ingresses}", field="--ingresses"
        )
    if from_file is not None and from_cluster:
        raise InputError("choose one of --from-file and --from-cluster")
    if from_file is None and not from_cluster:
        if ingresses is None:
            raise InputError(
                "how many Ingresses? give --ingresses N (or --from-file F / --from-cluster)",
                field="--ingresses",
            )
        spec = SourceSpec("generated", seed=seed, custom_domain_share=custom_domain_share)
        return WorkloadProvider(spec), ingresses
    if from_file is not None:
        spec = SourceSpec("file", seed=seed, path=from_file)
    else:
        spec = SourceSpec("cluster", seed=seed)
    provider = WorkloadProvider(spec)
    available = provider.available() or 0
    if available == 0:
        raise InputError("no Ingresses found", file=from_file)
    n = available if ingresses is None else ingresses
    if n > available:
        raise InputError(
            f"--ingresses {n} exceeds the {available} Ingresses available", file=from_file
        )
    return provider, n
