"""``gwbench inspect``: load, validate and summarize Ingress manifests or a live cluster.

Loading and validation are :mod:`workloads.loaders`; :func:`summarize` reduces a workload to
a frozen :class:`WorkloadSummary`, and two pure renderers turn it into lines of text or a
versioned JSON document.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

from gwbench.harness.commands import options
from gwbench.workloads.model import Workload

SCHEMA_VERSION = 1
DEFAULT_TOP = 5


@dataclass(frozen=True)
class SecretShare:
    """One TLS Secret name and how many hosts (in how many namespaces) name it."""

    name: str
    hosts: int
    namespaces: int


@dataclass(frozen=True)
class AnnotationCount:
    key: str
    ingresses: int


@dataclass(frozen=True)
class CloudDomain:
    """The cloud domain of a set of hosts: the most specific domain (two labels or more)
    that holds more than half of them, or ``None`` when no domain does."""

    domain: str | None
    hosts: int
    """Hosts under ``domain`` (or under ``largest`` when there is none)."""
    total: int
    largest: str | None
    """The domain holding the most hosts, when none holds most of them."""


MAJORITY = 0.5


def _parents(host: str) -> list[str]:
    """The domains a host sits under, of two labels or more: ``a.b.example.com`` ->
    ``b.example.com``, ``example.com`` (a wildcard's ``*.`` dropped)."""
    labels = host.removeprefix("*.").split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def cloud_domain(hosts: Iterable[str], majority: float = MAJORITY) -> CloudDomain:
    """The domain holding more than ``majority`` of the distinct ``hosts`` (the most
    specific such domain), else none, with the largest one for the message."""
    distinct = {h for h in hosts if h}
    holds: Counter[str] = Counter()
    for host in distinct:
        holds.update(set(_parents(host)))
    total = len(distinct)
    ranked = sorted(holds.items(), key=lambda kv: (-kv[1], -kv[0].count("."), kv[0]))
    winners = [(d, n) for d, n in holds.items() if total and n / total > majority]
    if winners:
        domain, n = max(winners, key=lambda kv: (kv[0].count("."), kv[1], kv[0]))
        return CloudDomain(domain, n, total, None)
    largest, n = ranked[0] if ranked else (None, 0)
    if n < 2:  # no domain holds two hosts: none is the largest
        return CloudDomain(None, 0, total, None)
    return CloudDomain(None, n, total, largest)


@dataclass(frozen=True)
class WorkloadSummary:
    source: str
    domain: str | None
    """The cloud domain (given with --domain, else inferred: ``None`` when no domain holds
    most hosts)."""
    domain_hosts: int
    """Hosts under ``domain`` (or under the largest domain when there is none)."""
    largest_domain: str | None
    """The domain holding the most hosts, when none holds most of them."""
    ingresses: int
    namespaces: int
    hosts: int  # distinct non-empty rule hosts
    hostless_rules: int
    wildcard_hosts: int
    shared_hosts: int  # hosts named by more than one Ingress
    custom_domain_hosts: int | None
    """Hosts outside the cloud domain (``None`` without a cloud domain)."""
    custom_domain_share: float | None
    tls_secrets: int  # distinct (namespace, name) pairs named by tls entries
    tls_secret_names: int  # distinct names
    tls_without_secret_name: int
    top_secrets: tuple[SecretShare, ...]
    paths: int
    path_types: tuple[tuple[str, int], ...]
    annotations_median: float
    annotations_max: int
    annotation_keys: int
    top_annotations: tuple[AnnotationCount, ...]
    warnings: tuple[str, ...]


def summarize(
    workload: Workload, top: int = DEFAULT_TOP, domain: str | None = None
) -> WorkloadSummary:
    """Counts over the workload's Ingresses (O(N)). ``domain``: the cloud domain the user
    gave; inferred from the hosts otherwise (:func:`cloud_domain`)."""
    namespaces: set[str] = set()
    host_owners: Counter[str] = Counter()
    hostless = 0
    paths = 0
    path_types: Counter[str] = Counter()
    annotation_counts: list[int] = []
    annotation_keys: Counter[str] = Counter()
    secret_hosts: dict[str, set[str]] = {}
    secret_namespaces: dict[str, set[str]] = {}
    secret_pairs: set[tuple[str, str]] = set()
    no_secret_name = 0
    for ingress in workload.ingresses:
        meta = ingress.metadata
        namespace = (meta.namespace if meta else None) or "default"
        namespaces.add(namespace)
        annotations = (meta.annotations if meta else None) or {}
        annotation_counts.append(len(annotations))
        annotation_keys.update(annotations.keys())
        spec = ingress.spec
        ingress_hosts: set[str] = set()
        for rule in (spec.rules or []) if spec else []:
            if not rule.host:
                hostless += 1
            else:
                ingress_hosts.add(rule.host)
            for path in rule.http.paths if rule.http else []:
                paths += 1
                path_types[path.path_type or "unset"] += 1
        host_owners.update(ingress_hosts)
        for tls in (spec.tls or []) if spec else []:
            if not tls.secret_name:
                no_secret_name += 1
                continue
            secret_pairs.add((namespace, tls.secret_name))
            secret_hosts.setdefault(tls.secret_name, set()).update(tls.hosts or [])
            secret_namespaces.setdefault(tls.secret_name, set()).add(namespace)
    hosts = len(host_owners)
    inferred = cloud_domain(host_owners)
    if domain is None:
        domain = inferred.domain
    custom = (
        sum(1 for h in host_owners if h != domain and not h.endswith("." + domain))
        if domain is not None
        else None
    )
    if domain is not None and domain != inferred.domain:
        inferred = CloudDomain(domain, hosts - (custom or 0), hosts, None)
    shares = sorted(
        (
            SecretShare(name, len(secret_hosts[name]), len(secret_namespaces[name]))
            for name in secret_hosts
        ),
        key=lambda s: (-s.hosts, s.name),
    )
    return WorkloadSummary(
        source=workload.source,
        domain=domain,
        domain_hosts=inferred.hosts,
        largest_domain=inferred.largest,
        ingresses=len(workload.ingresses),
        namespaces=len(namespaces),
        hosts=hosts,
        hostless_rules=hostless,
        wildcard_hosts=sum(1 for h in host_owners if h.startswith("*.")),
        shared_hosts=sum(1 for n in host_owners.values() if n > 1),
        custom_domain_hosts=custom,
        custom_domain_share=(custom / hosts if hosts else 0.0) if custom is not None else None,
        tls_secrets=len(secret_pairs),
        tls_secret_names=len(secret_hosts),
        tls_without_secret_name=no_secret_name,
        top_secrets=tuple(shares[:top]),
        paths=paths,
        path_types=tuple(sorted(path_types.items(), key=lambda kv: (-kv[1], kv[0]))),
        annotations_median=statistics.median(annotation_counts) if annotation_counts else 0.0,
        annotations_max=max(annotation_counts, default=0),
        annotation_keys=len(annotation_keys),
        top_annotations=tuple(
            AnnotationCount(key, n)
            for key, n in sorted(annotation_keys.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ),
        warnings=tuple(workload.warnings),
    )


def _domain_line(s: WorkloadSummary) -> str:
    if s.domain is None or s.custom_domain_hosts is None or s.custom_domain_share is None:
        largest = (
            f" (the largest, {s.largest_domain}, holds {s.domain_hosts} of {s.hosts} hosts)"
            if s.largest_domain is not None
            else ""
        )
        return (
            f"cloud domain: none: no domain holds most hosts{largest}; give --domain to "
            "count custom domains"
        )
    return (
        f"custom domains: {s.custom_domain_hosts} hosts outside {s.domain} "
        f"({s.custom_domain_share:.1%})"
    )


def format_lines(summary: WorkloadSummary) -> list[str]:
    """The human summary, one string per line."""
    s = summary
    lines = [
        f"source: {s.source}",
        f"Ingresses: {s.ingresses} in {s.namespaces} namespaces",
        f"hosts: {s.hosts} (hostless rules: {s.hostless_rules}, wildcard hosts: "
        f"{s.wildcard_hosts}, hosts in several Ingresses: {s.shared_hosts})",
        _domain_line(s),
        f"TLS secrets: {s.tls_secrets} (namespace, name) pairs, {s.tls_secret_names} names; "
        f"tls entries without secretName: {s.tls_without_secret_name}",
    ]
    for share in s.top_secrets:
        lines.append(f"  {share.name}: {share.hosts} hosts in {share.namespaces} namespaces")
    types = ", ".join(f"{kind} {n}" for kind, n in s.path_types)
    lines.append(f"paths: {s.paths} ({types})")
    lines.append(
        f"annotations per Ingress: median {s.annotations_median:g}, max {s.annotations_max}; "
        f"{s.annotation_keys} distinct keys"
    )
    for count in s.top_annotations:
        lines.append(f"  {count.key}: {count.ingresses}")
    lines.append(f"warnings: {len(s.warnings)}")
    lines.extend(f"  {warning}" for warning in s.warnings)
    return lines


def to_json(summary: WorkloadSummary) -> dict[str, Any]:
    """The versioned JSON form (``schema_version`` first)."""
    body = dataclasses.asdict(summary)
    body["path_types"] = dict(summary.path_types)
    body["warnings"] = list(summary.warnings)
    return {"schema_version": SCHEMA_VERSION, **body}


@click.command(name="inspect")
@click.argument("file", required=False)
@options.from_cluster("Read the Ingresses of the current cluster.")
@click.option("--context", default=None, help="kubeconfig context (with --from-cluster).")
@click.option(
    "--domain",
    default=None,
    help="Cloud domain (hosts outside it are custom domains); inferred when not given "
    "and one domain holds most hosts.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=DEFAULT_TOP,
    show_default=True,
    help="How many secrets and annotation keys to list.",
)
@options.as_json("Print versioned JSON instead of text.")
def command(
    file: str | None,
    from_cluster: bool,
    context: str | None,
    domain: str | None,
    top: int,
    as_json: bool,
) -> None:
    """Load, validate and summarize Ingress manifests (FILE, or - for stdin) or a cluster.

    FILE holds multi-document YAML or a `kind: List`. --from-cluster reads every Ingress of
    the current kubeconfig context, read-only, and never reads Secret contents. Errors name
    the file, the document (counted from 0) and the field, and exit with status 2.
    """
    if from_cluster == (file is not None):
        raise click.UsageError("give exactly one of FILE or --from-cluster")
    if context is not None and not from_cluster:
        raise click.UsageError("--context goes with --from-cluster")
    from gwbench.workloads.loaders import load_cluster, load_file

    if from_cluster:
        workload = load_cluster(context, domain=domain)
    else:
        assert file is not None
        workload = load_file(file, domain=domain)
    summary = summarize(workload, top=top, domain=domain)
    if as_json:
        click.echo(json.dumps(to_json(summary), indent=2))
    else:
        click.echo("\n".join(format_lines(summary)))
