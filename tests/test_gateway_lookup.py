"""gateway_lookup: the linear scan and the per-port map build the same listener, resolve every
server to the same gateway, and grow as S*G and S+G; the Go loop-variable aliasing bug in the
map is caught by the equivalence check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

from gwbench.baselines import gateway_lookup as baseline
from gwbench.harness import registry
from gwbench.harness.hotpaths import gateway_lookup as hotpath
from gwbench.optimized import gateway_lookup as optimized
from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import (
    ALPN_H1,
    ALPN_H2,
    GatewayListenerBuild,
    GatewayListenerInputs,
)
from gwbench.workloads.generate import generate
from gwbench.workloads.istio import ENABLE_H2_ANNOTATION, GatewayConfig, gateways_from_ingresses
from gwbench.workloads.model import WorkloadSpec
from tests.factories import make_workload

Build = Callable[[GatewayListenerInputs, Counters], GatewayListenerBuild]
BASELINE: Build = baseline.build_gateway_listener
OPTIMIZED: Build = optimized.build_gateway_listener


def _run(build: Build, inputs: GatewayListenerInputs) -> tuple[GatewayListenerBuild, Counters]:
    counters = Counters()
    return build(inputs, counters), counters


def _alpn(chain: Any) -> tuple[str, ...]:
    ctx = tls_pb2.DownstreamTlsContext.FromString(chain.transport_socket.typed_config.value)
    return tuple(ctx.common_tls_context.alpn_protocols)


@pytest.mark.parametrize(("n", "seed"), [(60, 1), (150, 7), (300, 42)])
def test_twins_agree_on_generated_workloads(n: int, seed: int) -> None:
    # GIVEN a generated workload (no enable-h2 annotations: the hot path marks a mix)
    inputs = hotpath.make_inputs(generate(WorkloadSpec(n, seed=seed)))
    # WHEN both implementations build the listener
    expected, _ = _run(BASELINE, inputs)
    actual, _ = _run(OPTIMIZED, inputs)
    # THEN the results are equivalent, and every server found its own gateway
    assert hotpath.compare(expected, actual) is None
    keys = [inputs.merged.gateway_name_for_server[s] for s in inputs.merged.servers_by_port[443]]
    assert list(expected.resolved) == keys


def test_enable_h2_annotation_decides_the_alpn() -> None:
    # GIVEN every 4th Ingress turning h2 off
    inputs = hotpath.make_inputs(make_workload(40, h1_every=4))
    result, _ = _run(OPTIMIZED, inputs)
    # THEN exactly those chains offer http/1.1 only
    alpns = [_alpn(c) for c in result.listener.filter_chains]
    assert alpns.count(ALPN_H1) == 10
    assert alpns.count(ALPN_H2) == 30
    assert [i for i, a in enumerate(alpns) if a == ALPN_H1] == list(range(0, 40, 4))


def test_a_mix_is_marked_only_when_no_gateway_carries_the_annotation() -> None:
    plain = gateways_from_ingresses(make_workload(200))
    marked = hotpath.with_enable_h2_mix(plain)
    values = [g.annotations.get(ENABLE_H2_ANNOTATION) for g in marked]
    assert 5 <= values.count("false") <= 40 and 5 <= values.count("true") <= 40
    # a gateway's mark is its own: deleting the first one changes no other gateway's mark
    rest = hotpath.with_enable_h2_mix(plain[1:])
    assert [g.annotations for g in rest] == [g.annotations for g in marked[1:]]
    annotated = gateways_from_ingresses(make_workload(20, h1_every=5))
    assert hotpath.with_enable_h2_mix(annotated) is annotated


def _gw(ns: str, name: str, h2: str | None = None) -> GatewayConfig:
    ann = {ENABLE_H2_ANNOTATION: h2} if h2 is not None else {}
    return GatewayConfig(ns, name, (), MappingProxyType(ann))


@pytest.mark.parametrize("name", ["no-slash", "a/b/c", "", "a/absent"])
def test_malformed_or_absent_names_give_none(name: str) -> None:
    gateways = [_gw("a", "b"), _gw("a", "b/c")]
    counters = Counters()
    assert baseline.get_gateway_by_name(gateways, name, counters) is None
    assert counters.get("lookups") == 1


def test_scan_returns_the_first_match_and_counts_its_steps() -> None:
    first, second = _gw("ns", "x", "false"), _gw("ns", "x", "true")
    gateways: Sequence[GatewayConfig] = [_gw("ns", "a"), first, second]
    counters = Counters()
    assert baseline.get_gateway_by_name(gateways, "ns/x", counters) is first
    assert counters.get("name_comparisons") == 2
    assert baseline.get_gateway_by_name(gateways, "ns/absent", counters) is None
    assert counters.get("name_comparisons") == 2 + 3


def _aliased_cfg_cache(
    gateways: Sequence[GatewayConfig], counters: Counters
) -> dict[str, GatewayConfig]:
    """The Go hazard: ``cfgCache[k] = &cfg`` with one loop variable, so every value ends up
    pointing at the last config."""
    counters.add("dict_builds")
    return {f"{cfg.namespace}/{cfg.name}": gateways[-1] for cfg in gateways}


def test_loop_variable_aliasing_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN gateways with mixed enable-h2 annotations, the last one keeping h2 on
    inputs = hotpath.make_inputs(make_workload(30, h1_every=3))
    assert inputs.gateways[-1].annotations.get(ENABLE_H2_ANNOTATION) is None
    expected, _ = _run(BASELINE, inputs)
    # WHEN the map aliases every entry to the last gateway
    monkeypatch.setattr(optimized, "build_cfg_cache", _aliased_cfg_cache)
    broken, _ = _run(optimized.build_gateway_listener, inputs)
    # THEN the equivalence check names the first wrongly resolved server
    message = hotpath.compare(expected, broken)
    assert message is not None and message.startswith("server 0 resolved")
    # AND the listeners themselves differ (h1 chains got h2), even ignoring the resolution
    same_resolution = replace(broken, resolved=expected.resolved)
    listener_message = hotpath.compare(expected, same_resolution)
    assert listener_message is not None and "filter chain 0" in listener_message


def _growth(build: Build, n_small: int, n_large: int) -> tuple[float, float, Counters]:
    small = hotpath.make_inputs(make_workload(n_small))
    large = hotpath.make_inputs(make_workload(n_large))
    _, c_small = _run(build, small)
    _, c_large = _run(build, large)
    work_small = c_small.get("name_comparisons") + c_small.get("dict_inserts")
    work_large = c_large.get("name_comparisons") + c_large.get("dict_inserts")
    return work_small, work_large, c_large


def test_baseline_work_grows_as_s_times_g() -> None:
    small, large, counters = _growth(BASELINE, 200, 800)
    # 4x the servers and 4x the gateways: about 16x the comparisons
    assert 14.0 < large / small < 17.0
    assert counters.get("lookups") == 2 * 800
    assert counters.get("dict_builds") == 0


def test_optimized_work_grows_as_s_plus_g() -> None:
    small, large, counters = _growth(OPTIMIZED, 200, 800)
    assert 3.5 < large / small < 4.5
    assert counters.get("lookups") == 800
    # the fork builds the map for each port with servers: 80 and 443
    assert counters.get("dict_builds") == 2
    assert counters.get("dict_inserts") == 2 * 800


def test_registered_with_both_implementations() -> None:
    hp = registry.get("gateway_lookup")
    assert hp.baseline.module == "gwbench.baselines.gateway_lookup"
    assert hp.implementation("optimized").module == "gwbench.optimized.gateway_lookup"
    assert "GetGatewayByName" in hp.models
