"""Hot path ``listener_update``: one LDS update of the port-443 listener in Envoy.

Inputs (:class:`~harness.hotpaths.scenarios.Scenarios`): the main update, timed and
counted: the per-host listener of the workload (the old listener, N chains) and the same
listener plus the chain of one new domain (the lab scenario: one Ingress added), both as
wire bytes; and side updates on the listener of a small slice of the workload, checked
only (``harness/hotpaths/listener_changes.py``): a chain deleted, a certificate rotated,
ALPN flipped, an HTTP filter changed, a route renamed (each inside an Any, the
``server_names`` unchanged), a duplicate chain, no change, a listener-level change.

Each implementation's state after the old listener's first add is built once per
process by ``specialize`` (untimed) with that implementation's own strategy; an update
only reads it, so every timed call applies the same update to the same state, decoding
the new listener afresh. The state an update produces is kept until the next ``prepare``
(untimed), so that freeing a listener is not timed as part of updating it.
The result: the update decision, the duplicate-match error, which chains were rebuilt and
which old chains were drained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gwbench.baselines import listener_update as baseline
from gwbench.harness.hotpaths.listener_changes import LISTENER_CHANGES, changed_listener
from gwbench.harness.hotpaths.scenarios import Scenarios, scenario_hotpath, side_slice
from gwbench.harness.registry import register
from gwbench.optimized import listener_update as optimized
from gwbench.workloads.counters import NullCounters
from gwbench.workloads.envoy_config import translate
from gwbench.workloads.flatmap import UpdateInputs, compare_updates
from gwbench.workloads.model import Workload

if TYPE_CHECKING:  # the kubernetes models are heavy to import; benchmark workers may not need them
    from kubernetes.client import V1Ingress

COUNTERS = (
    "listener_hashes",
    "chain_hashes",
    "match_hashes",
    "cache_hits",
    "messages_hashed",
    "bytes_rendered",
    "any_unpacks",
    "deep_compares",
    "messages_compared",
    "hash_compares",
    "listener_compares",
    "fc_finds",
    "fc_inserts",
    "fc_hash_calls",
    "fc_eq_calls",
    "fc_growths",
    "fc_keys_rehashed",
    "match_finds",
    "match_inserts",
    "match_hash_calls",
    "match_eq_calls",
    "match_growths",
    "match_keys_rehashed",
    "chains_built",
    "chains_reused",
    "chains_drained",
)


def new_domain_ingress(workload: Workload, taken: set[str]) -> V1Ingress:
    """One more Ingress for a host none of ``taken`` uses, under the wildcard certificate."""
    from gwbench.workloads.ingress import plain_ingress

    i = len(workload)
    host = f"new-domain-{i}.{workload.domain}"
    while host in taken:
        i += 1
        host = f"new-domain-{i}.{workload.domain}"
    return plain_ingress(f"network-new-{i}", host, namespace="ns-new-domain", service="new-app")


def update_bytes(workload: Workload) -> tuple[bytes, bytes]:
    """(old listener, old listener + the chain of one new domain), serialized."""
    translation = translate(workload, "per-host")
    old = translation.listener
    extra = Workload(
        [new_domain_ingress(workload, set(translation.hosts))], [], domain=workload.domain
    )
    new = type(old)()
    new.CopyFrom(old)
    new.filter_chains.extend(translate(extra, "per-host").listener.filter_chains)
    return old.SerializeToString(deterministic=True), new.SerializeToString(deterministic=True)


INITIAL_STATES = {
    "baseline": baseline.initial_state,
    "cached": optimized.initial_state,
    "cached-intended": optimized.initial_state_intended,
    "deterministic": optimized.initial_state_deterministic,
}


def inputs_for(
    old_bytes: bytes, new_bytes: bytes, implementations: Sequence[str] | None = None
) -> UpdateInputs:
    """The update to apply and, for each of ``implementations`` (default: all), its state
    after adding ``old_bytes``."""
    null = NullCounters()
    names = list(INITIAL_STATES) if implementations is None else implementations
    states = {name: INITIAL_STATES[name](old_bytes, null) for name in names}
    return UpdateInputs(old_bytes, new_bytes, states)


def side_updates(workload: Workload) -> tuple[tuple[str, UpdateInputs], ...]:
    """The side scenarios: each change of ``LISTENER_CHANGES`` on a small slice."""
    old = translate(side_slice(workload), "per-host").listener
    old_bytes = bytes(old.SerializeToString(deterministic=True))
    return tuple(
        (change, inputs_for(old_bytes, changed_listener(old_bytes, change), implementations=()))
        for change in LISTENER_CHANGES
    )


def make_inputs(workload: Workload) -> UpdateInputs:
    """The main update only; each implementation's state comes from :func:`specialize`."""
    return inputs_for(*update_bytes(workload), implementations=())


def make_scenarios(workload: Workload) -> Scenarios[UpdateInputs]:
    return Scenarios(make_inputs(workload), side_updates(workload))


def specialize(inputs: UpdateInputs, implementation: str) -> UpdateInputs:
    """``inputs`` with the state ``implementation``'s own strategy built (once, untimed)."""
    if implementation in inputs.states:
        return inputs
    state = INITIAL_STATES[implementation](inputs.old_bytes, NullCounters())
    return UpdateInputs(
        inputs.old_bytes, inputs.new_bytes, {implementation: state}, inputs.retained
    )


def prepare(inputs: UpdateInputs) -> UpdateInputs:
    """Release the listener states earlier calls produced (untimed teardown)."""
    return inputs.release()


HOTPATH = register(
    scenario_hotpath(
        name="listener_update",
        title="LDS in-place filter-chain update",
        models=(
            "envoyproxy/envoy source/common/listener_manager/listener_manager_impl.cc "
            "ListenerManagerImpl::addOrUpdateListenerInternal; filter_chain_manager_impl.cc "
            "FilterChainManagerImpl::addFilterChains, verifyNoDuplicateMatchers, "
            "findExistingFilterChain; listener_impl.cc ListenerImpl::diffFilterChain, "
            "ListenerMessageUtil::filterChainOnlyChange; absl flat_hash_map keyed by "
            "MessageUtil; optimized: higress-group/higress PR #3113 bazel/protobuf_hash_cache"
            ".patch and HashCachedMessageUtil (cached: as shipped; cached-intended: as "
            "intended); deterministic: source/common/protobuf/deterministic_hash.cc"
        ),
        make_scenarios=make_scenarios,
        implementations=(
            ("baseline", "baseline", baseline.update_listener),
            ("cached", "optimized", optimized.update_listener),
            ("cached-intended", "optimized", optimized.update_listener_intended),
            ("deterministic", "optimized", optimized.update_listener_deterministic),
        ),
        compare=compare_updates,
        counters=COUNTERS,
        prepare=prepare,
        specialize=specialize,
    )
)
