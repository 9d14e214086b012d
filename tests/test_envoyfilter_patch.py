"""envoyfilter_patch: decode-merge-encode per patch and decode-once cells give byte-identical
listeners and the same applied-patch counts; Istio's merge replaces Durations; the fork's two
bugs (inverted merge condition, uninitialised HCM slot) are caught by the equivalence check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from envoy.config.core.v3 import protocol_pb2
from envoy.config.listener.v3 import listener_components_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from google.protobuf import duration_pb2, struct_pb2, wrappers_pb2

from gwbench.baselines import envoyfilter_patch as baseline
from gwbench.baselines import gateway_lookup as gw_baseline
from gwbench.harness import registry
from gwbench.harness.hotpaths import envoyfilter_patch as hotpath
from gwbench.harness.hotpaths import gateway_lookup as gw_hotpath
from gwbench.optimized import envoyfilter_patch as optimized
from gwbench.optimized import gateway_lookup as gw_optimized
from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import HCM_FILTER, ROUTER_FILTER, pack, translate
from gwbench.workloads.envoyfilters import (
    EnvoyFilterInputs,
    EnvoyFilterPatch,
    FilterChainMatch,
    FilterMatch,
    ListenerMatch,
    OpTally,
    PatchResult,
    PatchSet,
    apply_http_filter_op,
    istio_merge,
    typical_patch_set,
)
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec
from tests.factories import make_workload

Apply = Callable[[EnvoyFilterInputs, Counters], PatchResult]
BASELINE: Apply = baseline.apply_listener_patches
OPTIMIZED: Apply = optimized.apply_listener_patches
INTENDED: Apply = optimized.apply_listener_patches_intended
NS = "higress-system"


def _run(apply: Apply, inputs: EnvoyFilterInputs) -> tuple[PatchResult, Counters]:
    counters = Counters()
    return apply(hotpath.prepare(inputs), counters), counters


def _inputs(n: int, patches: PatchSet | None = None) -> EnvoyFilterInputs:
    workload = make_workload(n)
    if patches is None:
        return hotpath.make_inputs(workload)
    return EnvoyFilterInputs.from_listener(translate(workload).listener, patches)


def _hcm(chain: Any) -> Any:
    return hcm_pb2.HttpConnectionManager.FromString(chain.filters[0].typed_config.value)


def _tls(chain: Any) -> Any:
    return tls_pb2.DownstreamTlsContext.FromString(chain.transport_socket.typed_config.value)


# ---- Istio's merge -----------------------------------------------------------------------


def _reference_merge(dst: Any, src: Any) -> None:
    """Istio ``pkg/proto/merge`` transcribed field by field (slow, independent check)."""
    for fd, value in src.ListFields():
        mt = fd.message_type
        if fd.is_repeated and mt is not None and mt.GetOptions().map_entry:
            target = getattr(dst, fd.name)
            for k, v in value.items():
                if mt.fields_by_name["value"].message_type is not None:
                    target[k].CopyFrom(v)
                else:
                    target[k] = v
        elif fd.is_repeated:
            getattr(dst, fd.name).extend(value)
        elif mt is None:
            setattr(dst, fd.name, value)
        elif mt.full_name == "google.protobuf.Duration":
            getattr(dst, fd.name).CopyFrom(value)
        else:
            sub = getattr(dst, fd.name)
            _reference_merge(sub, value)
            sub.SetInParent()


def test_merge_replaces_a_duration_instead_of_merging_its_fields() -> None:
    # GIVEN an idle timeout of 10.5 s and a patch of 30 s
    dst = protocol_pb2.HttpProtocolOptions(idle_timeout=duration_pb2.Duration(seconds=10, nanos=5))
    src = protocol_pb2.HttpProtocolOptions(idle_timeout=duration_pb2.Duration(seconds=30))
    plain = protocol_pb2.HttpProtocolOptions()
    plain.CopyFrom(dst)
    plain.MergeFrom(src)
    # WHEN merged the Istio way
    istio_merge(dst, src)
    # THEN the Duration is 30 s, where a plain proto merge keeps the nanos
    assert (dst.idle_timeout.seconds, dst.idle_timeout.nanos) == (30, 0)
    assert (plain.idle_timeout.seconds, plain.idle_timeout.nanos) == (30, 5)


def _merge_cases() -> list[tuple[Any, Any]]:
    listener = _inputs(3).listener
    chain = listener.filter_chains[0]
    hcm = _hcm(chain)
    hcm.stream_idle_timeout.CopyFrom(duration_pb2.Duration(seconds=7, nanos=9))
    patches = typical_patch_set()
    hcm_patch = hcm_pb2.HttpConnectionManager.FromString(
        patches.network_filter[0].value.typed_config.value
    )
    tls_patch = tls_pb2.DownstreamTlsContext.FromString(
        patches.filter_chain[0].value.transport_socket.typed_config.value
    )
    md_dst = struct_pb2.Struct()
    md_dst.update({"a": {"x": 1}, "b": "keep", "l": [1]})
    md_src = struct_pb2.Struct()
    md_src.update({"a": {"y": 2}, "l": [2, 3]})
    empty_sub = hcm_pb2.HttpConnectionManager()
    empty_sub.tracing.SetInParent()
    return [
        (hcm, hcm_patch),
        (_tls(chain), tls_patch),
        (md_dst, md_src),
        (hcm_pb2.HttpConnectionManager(), empty_sub),
        (
            router_pb2.Router(dynamic_stats=wrappers_pb2.BoolValue(value=True)),
            router_pb2.Router(dynamic_stats=wrappers_pb2.BoolValue(value=False)),
        ),
    ]


@pytest.mark.parametrize("case", range(5))
def test_merge_agrees_with_a_field_by_field_transcription(case: int) -> None:
    dst, src = _merge_cases()[case]
    expected = type(dst)()
    expected.CopyFrom(dst)
    _reference_merge(expected, src)
    with_memo = type(dst)()
    with_memo.CopyFrom(dst)
    istio_merge(dst, src)
    istio_merge(with_memo, src, src.SerializeToString(deterministic=True))
    assert dst == expected
    assert with_memo == expected


def test_merge_refuses_different_types() -> None:
    with pytest.raises(TypeError, match="descriptor mismatch"):
        istio_merge(router_pb2.Router(), hcm_pb2.HttpConnectionManager())


# ---- HTTP filter list operations ----------------------------------------------------------


def _http_patch(op: str, sub: str | None, name: str = "x") -> EnvoyFilterPatch:
    return EnvoyFilterPatch(
        f"{NS}/{op}-{sub}-{name}",
        "HTTP_FILTER",
        op,  # type: ignore[arg-type]
        hcm_pb2.HttpFilter(name=name),
        ListenerMatch(filter_chain=FilterChainMatch(filter=FilterMatch(HCM_FILTER, sub))),
    )


@pytest.mark.parametrize(
    ("op", "sub", "names", "applied"),
    [
        ("ADD", None, ["a", "r", "x"], True),
        ("INSERT_FIRST", None, ["x", "a", "r"], False),
        ("INSERT_BEFORE", "r", ["a", "x", "r"], True),
        ("INSERT_BEFORE", None, ["x", "a", "r"], False),
        ("INSERT_BEFORE", "absent", ["a", "r"], False),
        ("INSERT_AFTER", "a", ["a", "x", "r"], True),
        ("INSERT_AFTER", None, ["a", "r", "x"], False),
        ("REPLACE", "a", ["x", "r"], True),
        ("REMOVE", "r", ["a"], False),
    ],
)
def test_http_filter_ops_follow_istio(
    op: str, sub: str | None, names: list[str], applied: bool
) -> None:
    hcm = hcm_pb2.HttpConnectionManager(
        http_filters=[hcm_pb2.HttpFilter(name="a"), hcm_pb2.HttpFilter(name="r")]
    )
    patch = _http_patch(op, sub)
    tally = OpTally()
    assert apply_http_filter_op(hcm.http_filters, patch, tally) is applied
    assert [f.name for f in hcm.http_filters] == names
    assert patch.value == hcm_pb2.HttpFilter(name="x")  # the patch value is never written


def test_unmodelled_operations_are_refused() -> None:
    with pytest.raises(ValueError, match="not modelled"):
        EnvoyFilterPatch("k", "NETWORK_FILTER", "ADD", listener_components_pb2.Filter())
    with pytest.raises(ValueError, match="must not carry filters"):
        EnvoyFilterPatch(
            "k",
            "FILTER_CHAIN",
            "MERGE",
            listener_components_pb2.FilterChain(filters=[listener_components_pb2.Filter()]),
        )


# ---- the two implementations ---------------------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(40, 1), (120, 7), (250, 42)])
def test_twins_agree_on_generated_workloads(n: int, seed: int) -> None:
    inputs = hotpath.make_inputs(generate(WorkloadSpec(n, seed=seed)))
    expected, _ = _run(BASELINE, inputs)
    for twin in (OPTIMIZED, INTENDED):
        actual, _ = _run(twin, inputs)
        assert hotpath.compare(expected, actual) is None


def test_the_typical_patches_land_where_higress_puts_them() -> None:
    # GIVEN 20 chains, one custom domain given its own TLS patch
    inputs = _inputs(20)
    result, _ = _run(OPTIMIZED, inputs)
    chains = list(result.listener.filter_chains)
    # THEN each patch was applied once per chain (the SNI one once, the listener one once)
    counts = dict(result.applied)
    assert counts[f"{NS}/global-option/0"] == 20
    assert counts[f"{NS}/global-option/1"] == 1
    assert counts[f"{NS}/gzip/0"] == counts[f"{NS}/key-auth/0"] == 20
    assert counts[f"{NS}/router-options/0"] == counts[f"{NS}/tls-options/0"] == 20
    assert counts[f"{NS}/tls-sni/0"] == 1
    assert result.listener.per_connection_buffer_limit_bytes.value == 32768
    hcm = _hcm(chains[0])
    names = [f.name for f in hcm.http_filters]
    assert names.index("envoy.filters.http.compressor") + 1 == names.index(
        "envoy.filters.http.cors"
    )
    assert names[-2:] == [f"{NS}.key-auth", ROUTER_FILTER]
    assert hcm.common_http_protocol_options.idle_timeout.seconds == 180
    assert hcm.stream_idle_timeout.seconds == 180
    assert hcm.max_request_headers_kb.value == 60
    router = router_pb2.Router.FromString(hcm.http_filters[-1].typed_config.value)
    assert router.start_child_span and router.suppress_envoy_headers
    assert hcm.rds.route_config_name  # untouched by the merge
    tls = _tls(chains[0])
    assert list(tls.common_tls_context.tls_params.ecdh_curves) == ["X25519", "P-256"]
    assert list(tls.common_tls_context.alpn_protocols) == ["h2", "http/1.1"]
    minimums = [_tls(c).common_tls_context.tls_params.tls_minimum_protocol_version for c in chains]
    assert minimums.count(common_pb2.TlsParameters.TLSv1_3) == 1


def test_counters_show_decode_once_on_the_hcm_only_as_shipped() -> None:
    inputs = _inputs(30)
    _, base = _run(BASELINE, inputs)
    _, shipped = _run(OPTIMIZED, inputs)
    # per chain: TLS merge through MergeAnyWithAny (2 decodes, 1 encode), the HCM decoded
    # once from its cell and encoded once, the router merge through MergeAnyWithAny (2, 1);
    # the SNI-matched chain has a second TLS merge (2, 1); the HCM patch value is decoded
    # once per push
    assert shipped.get("any_decodes") == 5 * 30 + 2 + 1
    assert shipped.get("any_encodes") == 3 * 30 + 1
    assert base.get("any_decodes") > shipped.get("any_decodes")
    assert shipped.get("merges") == base.get("merges")


def test_counters_show_the_decode_once_cells() -> None:
    inputs = _inputs(30)
    _, base = _run(BASELINE, inputs)
    _, opt = _run(INTENDED, inputs)
    # per chain: TLS merge 2, HCM merge 2, HCM for the HTTP filters 1, router merge 2;
    # the SNI-matched chain has a second TLS merge (2 decodes, 1 encode)
    assert base.get("any_decodes") == 7 * 30 + 2
    assert base.get("any_encodes") == 4 * 30 + 1
    # per chain: TLS, HCM and router decoded and encoded once (the SNI chain's socket too);
    # plus one decode per patch value with an Any (HCM, router, two TLS)
    assert opt.get("any_decodes") == 3 * 30 + 4
    assert opt.get("any_encodes") == 3 * 30
    assert opt.get("merges") == base.get("merges")
    assert opt.get("clones") == base.get("clones") == 2 * 30
    assert opt.get("bytes_encoded") < base.get("bytes_encoded")


def test_an_untouched_hcm_is_left_alone_by_the_cells_only() -> None:
    # GIVEN only the SNI patch: one chain's TLS changes, no HCM is patched
    patches = typical_patch_set(["app000004.cloud.example.com"]).only(f"{NS}/tls-sni/0")
    inputs = _inputs(10, patches)
    expected, base = _run(BASELINE, inputs)
    actual, opt = _run(INTENDED, inputs)
    shipped_result, shipped = _run(OPTIMIZED, inputs)
    assert hotpath.compare(expected, actual) is None
    assert hotpath.compare(expected, shipped_result) is None
    assert expected.applied == ((f"{NS}/tls-sni/0", 1),)
    # the baseline and the shipped fork still round-trip every HCM; the intended cells
    # touch only the one socket
    assert base.get("any_encodes") == 10 + 1
    assert shipped.get("any_encodes") == 10 + 1
    assert opt.get("any_encodes") == 1


def test_prepare_hands_each_call_a_fresh_listener() -> None:
    inputs = _inputs(5)
    before = inputs.listener.SerializeToString(deterministic=True)
    first, _ = _run(OPTIMIZED, inputs)
    second, _ = _run(OPTIMIZED, inputs)
    assert inputs.listener.SerializeToString(deterministic=True) == before
    assert hotpath.compare(first, second) is None
    # without a fresh copy the patches would apply twice (the inserts, for one)
    patched = first.listener.SerializeToString(deterministic=True)
    twice = OPTIMIZED(EnvoyFilterInputs(patched, inputs.patches), Counters())
    message = hotpath.compare(first, twice)
    assert message is not None and message.startswith("filter chain 0")


# ---- the fork's bugs, reintroduced ----------------------------------------------------------


def test_inverted_merge_condition_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _inputs(12)
    expected, _ = _run(BASELINE, inputs)
    # WHEN merges run only if a decode failed (``if e1 != nil || e2 != nil``)
    monkeypatch.setattr(optimized, "merge_ready", lambda dst, src: dst is None or src is None)
    broken, _ = _run(OPTIMIZED, inputs)
    message = hotpath.compare(expected, broken)
    assert message is not None and message.startswith("filter chain 0")
    assert expected.applied == broken.applied  # the metric alone would not notice


def _uninitialised_slot(cell: optimized.Cell, tally: OpTally) -> Any:
    return cell.message


def test_uninitialised_hcm_slot_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a gateway without the global-option HCM merge (nothing else decodes the HCM)
    inputs = _inputs(12, typical_patch_set().without("NETWORK_FILTER"))
    expected, _ = _run(BASELINE, inputs)
    monkeypatch.setattr(optimized, "hcm_message", _uninitialised_slot)
    broken, _ = _run(OPTIMIZED, inputs)
    message = hotpath.compare(expected, broken)
    assert message is not None and "applied 0 times, expected 12" in message


def test_uninitialised_hcm_slot_hides_behind_an_hcm_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    # Labelled: with the HCM merge matching every chain the slot is always initialised, which
    # is why the test above drops that patch.
    inputs = _inputs(6)
    expected, _ = _run(BASELINE, inputs)
    monkeypatch.setattr(optimized, "hcm_message", _uninitialised_slot)
    broken, _ = _run(OPTIMIZED, inputs)
    assert hotpath.compare(expected, broken) is None


def test_registered_with_prepare() -> None:
    hp = registry.get("envoyfilter_patch")
    assert hp.prepare is not None
    assert {i.module for i in hp.implementations} == {
        "gwbench.baselines.envoyfilter_patch",
        "gwbench.optimized.envoyfilter_patch",
    }
    assert "listener_patch.go" in hp.models


def test_patch_values_are_not_mutated() -> None:
    patches = typical_patch_set()
    snapshot = [p.value.SerializeToString(deterministic=True) for p in patches.patches]
    inputs = EnvoyFilterInputs.from_listener(_inputs(4).listener, patches)
    _run(BASELINE, inputs)
    _run(OPTIMIZED, inputs)
    assert [p.value.SerializeToString(deterministic=True) for p in patches.patches] == snapshot


def test_a_merge_that_does_not_decode_changes_nothing() -> None:
    # A typed_config whose bytes are not a Router: Istio keeps the filter's config as it was.
    bad = EnvoyFilterPatch(
        f"{NS}/bad/0",
        "HTTP_FILTER",
        "MERGE",
        hcm_pb2.HttpFilter(
            name=ROUTER_FILTER, typed_config=pack(wrappers_pb2.StringValue(value="\xff" * 3))
        ),
        ListenerMatch(filter_chain=FilterChainMatch(filter=FilterMatch(HCM_FILTER, ROUTER_FILTER))),
    )
    inputs = _inputs(3, PatchSet((bad,)))
    expected, _ = _run(BASELINE, inputs)
    actual, _ = _run(OPTIMIZED, inputs)
    assert hotpath.compare(expected, actual) is None


def test_a_push_patches_the_listener_the_gateway_build_produced() -> None:
    # GIVEN one push: the gateway listener build, then the patches on that listener in place
    workload = make_workload(25)
    gw_inputs = gw_hotpath.make_inputs(workload)
    hosts = [s.hosts[0] for s in gw_inputs.merged.servers_by_port[443]]
    patches = typical_patch_set(hotpath.sni_targets(hosts, workload.domain))
    results = []
    for build, apply in (
        (gw_baseline.build_gateway_listener, BASELINE),
        (gw_optimized.build_gateway_listener, OPTIMIZED),
    ):
        listener = build(gw_inputs, Counters()).listener
        results.append(apply(EnvoyFilterInputs.in_place(listener, patches), Counters()))
    # THEN both pushes end with the same patched listener
    assert hotpath.compare(results[0], results[1]) is None
    assert results[0].applied_total == 5 * 25 + 2
    with pytest.raises(ValueError, match="no copy"):
        EnvoyFilterInputs.in_place(results[0].listener, patches).fresh()
