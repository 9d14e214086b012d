"""Hot path ``gateway_lookup``: finding each HTTPS server's Gateway config by name while the
port-443 gateway listener is built.

Inputs: the workload's Gateway configs (``gateways_from_ingresses``, one per host, in
Ingress order) and their merge (``merge_gateways``). The gateway found decides only the ALPN
of its chain (the ``enable-h2`` annotation), so the inputs must carry a mix of that
annotation: when no gateway carries it (the generator does not set it), a deterministic
subset is marked, ``"false"`` on every 10th gateway from the 4th and ``"true"`` on every 10th
from the 9th.

The result compared between implementations: the listener's deterministic serialization and,
per HTTPS server, the key of the gateway its lookup returned.
"""

from __future__ import annotations

from gwbench.baselines import gateway_lookup as baseline
from gwbench.harness.hotpaths.listener_diff import listener_difference
from gwbench.harness.registry import HotPath, Implementation, register
from gwbench.optimized import gateway_lookup as optimized
from gwbench.workloads.envoy_config import GatewayListenerBuild, GatewayListenerInputs
from gwbench.workloads.istio import (
    gateways_from_ingresses,
    merge_gateways,
    with_enable_h2_mix,
)
from gwbench.workloads.model import Workload

__all__ = ["HOTPATH", "compare", "make_inputs", "with_enable_h2_mix"]

COUNTERS = ("name_comparisons", "lookups", "dict_builds", "dict_inserts")


def make_inputs(workload: Workload) -> GatewayListenerInputs:
    gateways = with_enable_h2_mix(gateways_from_ingresses(workload))
    return GatewayListenerInputs(tuple(gateways), merge_gateways(gateways))


def compare(expected: GatewayListenerBuild, actual: GatewayListenerBuild) -> str | None:
    if len(expected.resolved) != len(actual.resolved):
        return f"{len(actual.resolved)} servers resolved, expected {len(expected.resolved)}"
    for i, (want, got) in enumerate(zip(expected.resolved, actual.resolved, strict=True)):
        if want != got:
            return f"server {i} resolved to gateway {got!r}, expected {want!r}"
    return listener_difference(expected.listener, actual.listener)


HOTPATH = register(
    HotPath(
        name="gateway_lookup",
        title="Gateway config lookup by name (listener build)",
        models=(
            "higress-group/istio (istio-1.19) pilot/pkg/model/ali_push_context.go "
            "GetGatewayByName, called twice per HTTPS server in pilot/pkg/networking/core/"
            "v1alpha3/gateway.go buildGatewayTCPBasedFilterChains; optimized: "
            "luanshaotong/istio (Sealos) cfgCache map built in buildGatewayListeners for every "
            "(port, transport) pair with servers, port 80 included"
        ),
        make_inputs=make_inputs,
        implementations=(
            Implementation(
                "baseline",
                "baseline",
                baseline.build_gateway_listener,
                "gwbench.baselines.gateway_lookup",
            ),
            Implementation(
                "optimized",
                "optimized",
                optimized.build_gateway_listener,
                "gwbench.optimized.gateway_lookup",
            ),
        ),
        compare=compare,
        counters=COUNTERS,
    )
)
