"""Hot path ``filterchain_hash``: hashing the filter chains of the port-443 listener.

Inputs: the per-host listener of the workload (``workloads.envoy_config.translate``),
serialized; each call hashes every filter chain of a listener freshly decoded from those
bytes. The decoding is ``prepare``'s (untimed, before every call), so each timed call starts
from new messages and, for ``cached``, an empty cache: the measured win is a first
computation, not cache hits. The result is the partition of the chains into classes of
equal keys (hash values differ between strategies by design; the partition must not).

Besides the main chains (all different: every generated chain has its own
``server_names``), each call hashes a chain set built to collide (a side scenario,
:func:`harness.hotpaths.listener_changes.designed_chain_set`): equal chains held as
different messages, and chains equal to another except inside one Any (a TLS context or
the HttpConnectionManager). Equal content must share a class, and content that differs
anywhere, Any payloads included, must not.
"""

from __future__ import annotations

from gwbench.baselines import filterchain_hash as baseline
from gwbench.harness.hotpaths.listener_changes import designed_chain_set
from gwbench.harness.hotpaths.scenarios import Scenarios, scenario_hotpath, side_slice
from gwbench.harness.registry import register
from gwbench.optimized import filterchain_hash as optimized
from gwbench.workloads.envoy_config import translate
from gwbench.workloads.model import Workload
from gwbench.workloads.protohash import ChainsInput, compare_partitions

COUNTERS = (
    "chains_hashed",
    "cache_hits",
    "messages_hashed",
    "bytes_rendered",
    "bytes_serialized",
    "any_unpacks",
)


def listener_bytes(workload: Workload) -> bytes:
    """The per-host port-443 listener of ``workload`` on the wire."""
    listener = translate(workload, "per-host").listener
    return bytes(listener.SerializeToString(deterministic=True))


def designed(workload: Workload) -> ChainsInput:
    """The chain set built to collide, from a small slice of ``workload``."""
    data, _ = designed_chain_set(listener_bytes(side_slice(workload)))
    return ChainsInput.decode(data)


def make_inputs(workload: Workload) -> ChainsInput:
    """The main inputs: the chains of the per-host listener at N."""
    return ChainsInput.decode(listener_bytes(workload))


def make_scenarios(workload: Workload) -> Scenarios[ChainsInput]:
    return Scenarios(make_inputs(workload), (("designed-collisions", designed(workload)),))


def prepare(inputs: ChainsInput) -> ChainsInput:
    return inputs.fresh()


HOTPATH = register(
    scenario_hotpath(
        name="filterchain_hash",
        title="FilterChain hashing (MessageUtil::hash)",
        models=(
            "envoyproxy/envoy source/common/protobuf/utility.cc MessageUtil::hash "
            "(TextFormat printer, expand Any, field numbers, single line, xxHash64; Envoy "
            "<= 1.29 and Higress Envoy 1.27); source/common/protobuf/deterministic_hash.cc "
            "DeterministicProtoHash::hash (Envoy >= 1.30); higress-group/higress PR #3113 "
            "bazel/protobuf_hash_cache.patch ComputeHashValue/GetCachedHashValue (cached)"
        ),
        make_scenarios=make_scenarios,
        implementations=(
            ("baseline", "baseline", baseline.hash_pass),
            ("cached", "optimized", optimized.hash_pass),
            ("deterministic", "optimized", optimized.hash_pass_deterministic),
            ("serialized", "ablation", optimized.hash_pass_serialized),
        ),
        compare=compare_partitions,
        counters=COUNTERS,
        prepare=prepare,
    )
)
