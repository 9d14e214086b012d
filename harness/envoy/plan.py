"""What one (workload, shape) case feeds Envoy, prepared before Envoy starts (no timing here).

From the translation (``workloads.envoy_config.translate``) of the workload in one shape:
the certificates of every SDS secret it names, the routes served by filesystem RDS (the
``*.<domain>`` chain of the wildcard shape), the hosts to probe, the custom certificate to
rotate, and the new hosts to activate. A new host is what a user deploying one more app
creates: a copy of an existing subdomain Ingress under a fresh host, translated by the same
code as the rest (its per-host filter chain and its virtual host), so the chain Envoy receives
is exactly the one Istio/Higress would push.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from envoy.config.listener.v3 import listener_components_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2
from kubernetes.client import V1Ingress

from gwbench.errors import InputError
from gwbench.harness.envoy import adapt, scoped
from gwbench.harness.envoy.bootstrap import CertificateKeyPair
from gwbench.harness.envoy.secrets import certificates, leaf_der, rotated
from gwbench.workloads.envoy_config import Translation, translate, wildcard_credential
from gwbench.workloads.istio import ENABLE_H2_ANNOTATION
from gwbench.workloads.model import WILDCARD_SECRET, Workload

DEFAULT_PROBE_SAMPLE = 50
CUSTOM_PROBES = 10

Shape = Literal["per-host", "consolidated", "wildcard", "scoped"]
SHAPES: tuple[Shape, ...] = ("per-host", "consolidated", "wildcard", "scoped")
"""The shapes measured on Envoy: the translation's three (``workloads.envoy_config.SHAPES``)
and ``scoped`` (scoped routes keyed by host over the wildcard shape's chains, see
:mod:`harness.envoy.scoped`)."""


@dataclass(frozen=True)
class NewHost:
    """One host to activate: its translated per-host chain and virtual host."""

    host: str
    credential: str
    chain: listener_components_pb2.FilterChain
    virtual_host: route_components_pb2.VirtualHost


@dataclass(frozen=True)
class Rotation:
    """The custom certificate to rotate: its SDS name, hosts, and one new cert per repeat."""

    credential: str
    hosts: tuple[str, ...]
    replacements: tuple[CertificateKeyPair, ...]


@dataclass(frozen=True)
class CasePlan:
    ingresses: int
    shape: Shape
    domain: str
    translation: Translation
    certificates: Mapping[str, CertificateKeyPair]
    expected_der: Mapping[str, bytes]
    """Credential -> DER of the certificate Envoy must serve for it."""
    rds_routes: Mapping[str, route_pb2.RouteConfiguration]
    """Route name -> translated routes, for the chains that take routes by RDS (the
    wildcard shape's ``*.<domain>`` chain) or, in the scoped shape, one per host's scope."""
    probe_hosts: tuple[str, ...]
    last_host: str
    new_hosts: tuple[NewHost, ...]
    rotation: Rotation | None

    @property
    def filter_chains(self) -> int:
        return len(self.translation.listener.filter_chains)

    def credential_of(self, host: str) -> str:
        credential = self.translation.credentials.get(host)
        if credential is None:
            for new in self.new_hosts:
                if new.host == host:
                    return new.credential
            raise KeyError(host)
        return credential


def _exact(hosts: list[str]) -> list[str]:
    return [h for h in hosts if h and "*" not in h]


def _template_ingress(workload: Workload) -> V1Ingress:
    """A subdomain Ingress with the wildcard certificate, to copy for new hosts; one that
    keeps the default ALPN (h2) when there is one, as most do."""
    suffix = "." + workload.domain
    candidates = []
    for ingress in workload.ingresses:
        spec = ingress.spec
        rules = (spec.rules if spec else None) or []
        tls = (spec.tls if spec else None) or []
        if (
            len(rules) == 1
            and rules[0].host
            and "*" not in rules[0].host
            and rules[0].host.endswith(suffix)
            and len(tls) == 1
            and tls[0].secret_name == WILDCARD_SECRET
        ):
            annotations = (ingress.metadata.annotations if ingress.metadata else None) or {}
            if annotations.get(ENABLE_H2_ANNOTATION) != "false":
                return ingress
            candidates.append(ingress)
    if candidates:
        return candidates[0]
    raise InputError(
        f"no Ingress serves a host under {workload.domain} with the {WILDCARD_SECRET} "
        "certificate: domain activation needs one to copy",
        field="ingresses",
    )


def _fresh_hosts(taken: set[str], domain: str, count: int, seed: int) -> list[str]:
    rng = random.Random(f"gwbench-envoy-new-hosts:{seed}:{len(taken)}")
    hosts: list[str] = []
    while len(hosts) < count:
        host = "".join(rng.choices(string.ascii_lowercase, k=12)) + "." + domain
        if host not in taken:
            taken.add(host)
            hosts.append(host)
    return hosts


def new_host(template: V1Ingress, host: str, index: int, domain: str) -> NewHost:
    """``template`` deployed again under ``host``, translated as the rest of the workload."""
    ingress = copy.deepcopy(template)
    if ingress.metadata is not None:
        ingress.metadata.name = f"network-gwbench{index:05d}"
    spec = ingress.spec
    if spec is None or not spec.rules or not spec.tls:
        raise InputError("the Ingress to copy has no rule or TLS entry", field="spec")
    spec.rules[0].host = host
    spec.tls[0].hosts = [host]
    single = translate(Workload(ingresses=[ingress], secrets=[], domain=domain), "per-host")
    chain = single.listener.filter_chains[0]
    vhost = single.routes[0].virtual_hosts[0]
    return NewHost(host, single.credentials[host], chain, vhost)


def plan_case(
    workload: Workload,
    shape: Shape,
    *,
    repeat: int,
    seed: int,
    probe_sample: int = DEFAULT_PROBE_SAMPLE,
) -> CasePlan:
    """Translate ``workload`` in ``shape`` and prepare everything the measurement needs.

    ``probe_sample`` hosts are probed after the initial load (0: every host).
    """
    translation = translate(workload, "wildcard" if shape == "scoped" else shape)
    hosts = _exact(translation.hosts)
    if not hosts:
        raise InputError("the workload has no HTTPS host to serve", field="ingresses")
    hosts_by_credential: dict[str, list[str]] = {}
    for host, credential in translation.credentials.items():
        hosts_by_credential.setdefault(credential, []).append(host)
    for name in adapt.all_secret_names([translation.listener]):
        hosts_by_credential.setdefault(name, [])
    pairs = certificates(workload, hosts_by_credential, seed)

    # Only the wildcard shape's *.<domain> chain keeps RDS (from a file). Elsewhere a
    # wildcard-host Ingress's chain (an edge case) is served inline like every other chain.
    star = f"*.{workload.domain}"
    rds_names = {
        adapt.connection_manager(chain).rds.route_config_name
        for chain in translation.listener.filter_chains
        if shape == "wildcard" and star in adapt.server_names(chain)
    }
    rds_routes = {rc.name: rc for rc in translation.routes if rc.name in rds_names}
    if shape == "scoped":
        by_host = scoped.star_routes(translation.listener, translation.routes, workload.domain)
        rds_routes = {rc.name: rc for rc in by_host.values()}

    rng = random.Random(f"gwbench-envoy-probes:{seed}:{len(hosts)}")
    wildcard = wildcard_credential()
    custom = [h for h in hosts if translation.credentials.get(h) != wildcard]
    if probe_sample <= 0 or probe_sample >= len(hosts):
        probe_hosts = list(hosts)
    else:
        chosen = set(rng.sample(custom, min(CUSTOM_PROBES, len(custom))))
        rest = [h for h in hosts if h not in chosen]
        chosen.update(rng.sample(rest, max(0, min(len(rest), probe_sample - len(chosen)))))
        probe_hosts = [h for h in hosts if h in chosen]

    template = _template_ingress(workload)
    fresh = _fresh_hosts(set(translation.hosts), workload.domain, repeat, seed)
    new_hosts = tuple(new_host(template, h, i, workload.domain) for i, h in enumerate(fresh))

    rotation = None
    custom_credentials = [
        c for c in hosts_by_credential if c != wildcard and hosts_by_credential[c]
    ]
    if custom_credentials:
        target = custom_credentials[0]
        target_hosts = tuple(_exact(hosts_by_credential[target]))
        if target_hosts:
            rotation = Rotation(
                target,
                target_hosts,
                tuple(rotated(target_hosts, seed, k) for k in range(repeat)),
            )
    return CasePlan(
        ingresses=len(workload.ingresses),
        shape=shape,
        domain=workload.domain,
        translation=translation,
        certificates=pairs,
        expected_der={name: leaf_der(pair) for name, pair in pairs.items()},
        rds_routes=rds_routes,
        probe_hosts=tuple(probe_hosts),
        last_host=hosts[-1],
        new_hosts=new_hosts,
        rotation=rotation,
    )
