"""Hot path ``envoyfilter_patch``: EnvoyFilter patches applied to the port-443 gateway listener.

Inputs: the per-host listener of the workload (``workloads.envoy_config.translate``) and the
typical Higress patch set (``workloads.envoyfilters.typical_patch_set``, with one SNI-matched
patch for the first custom-domain host). The real code patches the listener in place, so
``prepare`` re-parses a fresh listener before every call (untimed).

Side scenarios (checked, not counted) patch the listener of a small slice with parts of
the patch set, so that a defect one patch hides is seen: without the HCM NETWORK_FILTER
MERGE (the HTTP filter patches must still land: an uninitialised HCM cell drops them), only
the HTTP filter patches, and only the TLS transport-socket merges.
"""

from __future__ import annotations

from typing import Any

from gwbench.baselines import envoyfilter_patch as baseline
from gwbench.harness.hotpaths.listener_diff import listener_difference
from gwbench.harness.hotpaths.scenarios import Scenarios, scenario_hotpath, side_slice
from gwbench.harness.registry import register
from gwbench.optimized import envoyfilter_patch as optimized
from gwbench.workloads.envoy_config import translate
from gwbench.workloads.envoyfilters import EnvoyFilterInputs, PatchResult, typical_patch_set
from gwbench.workloads.model import Workload

COUNTERS = ("any_decodes", "any_encodes", "merges", "clones", "bytes_encoded")


def sni_targets(hosts: list[str], domain: str) -> list[str]:
    """The host given its own SNI-matched patch: the first custom domain, else the first."""
    for host in hosts:
        if not host.endswith("." + domain):
            return [host]
    return hosts[:1]


def make_inputs(workload: Workload) -> EnvoyFilterInputs:
    """The main inputs: the per-host listener at N and the typical patch set."""
    tr = translate(workload, "per-host")
    patches = typical_patch_set(sni_targets(tr.hosts, workload.domain))
    return EnvoyFilterInputs.from_listener(tr.listener, patches)


def side_inputs(workload: Workload) -> tuple[tuple[str, EnvoyFilterInputs], ...]:
    small = make_inputs(side_slice(workload))
    patches = small.patches
    variants = (
        ("without-hcm-merge", patches.without("NETWORK_FILTER")),
        ("http-filters-only", patches.without("NETWORK_FILTER", "FILTER_CHAIN", "LISTENER")),
        ("tls-only", patches.without("NETWORK_FILTER", "HTTP_FILTER", "LISTENER")),
    )
    return tuple(
        (name, EnvoyFilterInputs(small.listener_bytes, subset)) for name, subset in variants
    )


def make_scenarios(workload: Workload) -> Scenarios[EnvoyFilterInputs]:
    return Scenarios(make_inputs(workload), side_inputs(workload))


def prepare(inputs: EnvoyFilterInputs) -> EnvoyFilterInputs:
    return inputs.fresh()


def compare(expected: PatchResult, actual: PatchResult) -> str | None:
    if expected.applied != actual.applied:
        for (key, n), (_, m) in zip(expected.applied, actual.applied, strict=True):
            if n != m:
                return f"patch {key} applied {m} times, expected {n}"
        return "applied-patch keys differ"
    return listener_difference(expected.listener, actual.listener, _first_part)


def _first_part(fa: Any, fb: Any) -> str:
    for field in ("transport_socket", "filters", "filter_chain_match", "metadata"):
        if getattr(fa, field) != getattr(fb, field):
            return field
    return "other fields"


HOTPATH = register(
    scenario_hotpath(
        name="envoyfilter_patch",
        title="EnvoyFilter listener patches",
        models=(
            "istio/istio (higress-group/istio istio-1.19) pilot/pkg/networking/core/v1alpha3/"
            "envoyfilter/listener_patch.go ApplyListenerPatches -> patchFilterChains -> "
            "patchNetworkFilter -> patchHTTPFilters, util.MergeAnyWithAny, pkg/proto/merge; "
            "optimized: luanshaotong/istio (Sealos) ApplyListenerPatchesExt, MessageIndex (as "
            "shipped: decode-once on the HCM only); decode-once: the intended fix"
        ),
        make_scenarios=make_scenarios,
        implementations=(
            ("baseline", "baseline", baseline.apply_listener_patches),
            ("optimized", "optimized", optimized.apply_listener_patches),
            ("decode-once", "optimized", optimized.apply_listener_patches_intended),
        ),
        compare=compare,
        counters=COUNTERS,
        prepare=prepare,
    )
)
