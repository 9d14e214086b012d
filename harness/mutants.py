"""Mutation testing of the equivalence checks: a catalogue of deliberately broken twins.

Each :class:`Mutant` breaks one optimized (or ablation) implementation of one hot path the
way a real fix could go wrong: a stale cache, a hash blind to a field or to Any payloads,
a map that hands every server the last gateway, a dropped patch, a skipped diff, the
inverted merge condition and the nil HCM slot of the Sealos fork's snapshot, and so on.
:func:`run_catalogue` builds each hot path's inputs once, computes the baseline's result,
checks that every unbroken twin agrees (else the verdicts would mean nothing), then runs
each mutated twin on the same inputs and compares it with the hot path's own ``compare``.
A mutant is *caught* when that comparison names a difference (or when the broken twin
raises); it *survives* when the check sees nothing, which is a hole in the checks.

The breakage is applied with :func:`unittest.mock.patch.object` for the duration of one
call, so the registered implementation runs unchanged apart from the broken piece.
``gwbench verify --mutants`` prints the verdicts; ``tests/test_mutants.py`` runs the same
catalogue at a small N.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

from gwbench.errors import GwbenchError, HarnessError
from gwbench.harness.registry import HotPath, Implementation
from gwbench.harness.registry import get as get_hotpath
from gwbench.workloads.counters import NullCounters
from gwbench.workloads.model import Workload

Patch = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class Mutant:
    """One broken variant of one implementation."""

    name: str
    hotpath: str
    implementation: str
    breaks: str
    """What is broken, in one sentence."""
    patches: tuple[Patch, ...]

    @contextmanager
    def active(self) -> Iterator[None]:
        with ExitStack() as stack:
            for patch in self.patches:
                stack.enter_context(patch())
            yield


@dataclass(frozen=True)
class Verdict:
    """What the check said of one mutant."""

    mutant: Mutant
    caught: bool
    by: str
    """The difference the check named, or the exception the broken twin raised, or why
    nothing was seen."""


def _call(hotpath: HotPath, impl: Implementation, inputs: Any) -> Any:
    arg = hotpath.inputs_for(inputs, impl.name)
    if hotpath.prepare is not None:
        arg = hotpath.prepare(arg)
    return impl.func(arg, NullCounters())


def _harness(hotpath: HotPath, what: str, exc: Exception) -> HarnessError:
    return HarnessError(f"mutants: hot path {hotpath.name}: {what}: {type(exc).__name__}: {exc}")


def run_catalogue(
    workload: Workload,
    mutants: Sequence[Mutant] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Every mutant of ``mutants`` (default: :func:`catalogue`) against its hot path's
    check on ``workload``. Raises :class:`HarnessError` when a hot path's inputs, its
    baseline or an unbroken twin fails, or when an unbroken twin already differs."""
    chosen = list(catalogue() if mutants is None else mutants)
    verdicts: list[Verdict] = []
    by_hotpath: dict[str, list[Mutant]] = {}
    for m in chosen:
        by_hotpath.setdefault(m.hotpath, []).append(m)
    for name, group in by_hotpath.items():
        hotpath = get_hotpath(name)
        try:
            inputs = hotpath.make_inputs(workload)
            expected = _call(hotpath, hotpath.baseline, inputs)
        except GwbenchError:
            raise
        except Exception as exc:
            raise _harness(hotpath, "the baseline failed", exc) from exc
        for impl_name in dict.fromkeys(m.implementation for m in group):
            impl = hotpath.implementation(impl_name)
            try:
                difference = hotpath.compare(expected, _call(hotpath, impl, inputs))
            except GwbenchError:
                raise
            except Exception as exc:
                raise _harness(hotpath, f"the unbroken {impl_name} failed", exc) from exc
            if difference is not None:
                raise HarnessError(
                    f"mutants: hot path {name}: the unbroken {impl_name} already differs "
                    f"from the baseline ({difference}); fix it before judging mutants"
                )
        for mutant in group:
            verdict = _judge(hotpath, mutant, inputs, expected)
            verdicts.append(verdict)
            if on_verdict is not None:
                on_verdict(verdict)
    return verdicts


def _judge(hotpath: HotPath, mutant: Mutant, inputs: Any, expected: Any) -> Verdict:
    impl = hotpath.implementation(mutant.implementation)
    with mutant.active():
        try:
            actual = _call(hotpath, impl, inputs)
            difference = hotpath.compare(expected, actual)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            return Verdict(mutant, True, f"the broken twin raised {type(exc).__name__}: {exc}")
    if difference is None:
        return Verdict(mutant, False, "the check found no difference")
    return Verdict(mutant, True, difference)


# ---- the catalogue ----------------------------------------------------------------------


def _attr(target: Any, name: str, value: Any) -> Patch:
    return lambda: mock.patch.object(target, name, value)


def _gateway_lookup() -> list[Mutant]:
    from gwbench.optimized import gateway_lookup as opt

    real_build = opt.build_cfg_cache

    def aliased(gateways: Any, counters: Any) -> dict[str, Any]:
        cache = real_build(gateways, counters)
        return {key: gateways[-1] for key in cache}

    def name_only(gateways: Any, counters: Any) -> dict[str, Any]:
        return {cfg.name: cfg for cfg in gateways}

    return [
        Mutant(
            "gateway-map-aliases-last",
            "gateway_lookup",
            "optimized",
            "every cfgCache entry points at the last gateway (Go's `&cfg` on the loop "
            "variable before Go 1.22)",
            (_attr(opt, "build_cfg_cache", aliased),),
        ),
        Mutant(
            "gateway-map-keyed-by-name",
            "gateway_lookup",
            "optimized",
            "cfgCache keyed by name without the namespace, so every `ns/name` lookup misses",
            (_attr(opt, "build_cfg_cache", name_only),),
        ),
    ]


def _envoyfilter_patch() -> list[Mutant]:
    from gwbench.optimized import envoyfilter_patch as opt

    def inverted(dst: Any, src: Any) -> bool:
        return dst is None or src is None

    def nil_slot(cell: Any, tally: Any) -> Any:
        return cell.message

    def no_flush(self: Any, tally: Any) -> None:
        self.dirty = False

    def dropped_router_merge(*args: Any) -> None:
        return None

    real_merge = opt.merge_any_with_any

    def tls_merge_dropped(dst_any: Any, src_any: Any, src_type_url: str, tally: Any) -> bool:
        if src_type_url.endswith("DownstreamTlsContext"):
            return False
        return real_merge(dst_any, src_any, src_type_url, tally)

    return [
        Mutant(
            "patch-inverted-merge-condition",
            "envoyfilter_patch",
            "optimized",
            "the HCM MERGE runs only when a decode failed (`if e1 != nil || e2 != nil`, the "
            "fork's snapshot)",
            (_attr(opt, "merge_ready", inverted),),
        ),
        Mutant(
            "patch-nil-hcm-slot",
            "envoyfilter_patch",
            "optimized",
            "the HTTP filter patches read the HCM cell without decoding it (`mgr.message`, "
            "the fork's snapshot): dropped when no HCM MERGE decoded it",
            (_attr(opt, "hcm_message", nil_slot),),
        ),
        Mutant(
            "patch-cell-never-encoded",
            "envoyfilter_patch",
            "optimized",
            "a patched cell is never encoded back into its Any (a skipped flush)",
            (_attr(opt.Cell, "flush", no_flush),),
        ),
        Mutant(
            "patch-router-merge-dropped",
            "envoyfilter_patch",
            "optimized",
            "the HTTP filter MERGE of the router is dropped (patchHTTPFilter skipped)",
            (_attr(opt, "patch_http_filter_shipped", dropped_router_merge),),
        ),
        Mutant(
            "patch-tls-merge-dropped",
            "envoyfilter_patch",
            "optimized",
            "the transport-socket MERGE is dropped (MergeAnyWithAny skipped for TLS)",
            (_attr(opt, "merge_any_with_any", tls_merge_dropped),),
        ),
        Mutant(
            "decode-once-socket-never-encoded",
            "envoyfilter_patch",
            "decode-once",
            "the intended fix's cells are never encoded back (TLS, HCM and HTTP filters)",
            (_attr(opt.Cell, "flush", no_flush),),
        ),
    ]


def _filterchain_hash() -> list[Mutant]:
    from gwbench.optimized import filterchain_hash as opt
    from gwbench.workloads.protohash import ANY_FULL_NAME

    compute = opt.HashCache._compute

    def sni_only(self: Any, message: Any) -> int:
        if message.DESCRIPTOR.name != "FilterChain":
            return compute(self, message)
        h = compute(self, message.filter_chain_match)
        self._memo[id(message)] = h
        self._keep.append(message)
        return h

    def any_blind(self: Any, message: Any) -> int:
        if message.DESCRIPTOR.full_name != ANY_FULL_NAME:
            return compute(self, message)
        h = hash(message.type_url) & 0xFFFFFFFFFFFFFFFF
        self._memo[id(message)] = h
        self._keep.append(message)
        return h

    def metadata_blind(self: Any, message: Any) -> int:
        if message.DESCRIPTOR.name != "FilterChain":
            return compute(self, message)
        copy = type(message)()
        copy.CopyFrom(message)
        copy.ClearField("metadata")
        h = compute(self, copy)
        self._memo[id(message)] = h
        self._keep.append(message)
        return h

    deterministic_message = opt.DeterministicHasher._message

    def det_any_blind(self: Any, message: Any, seed: int) -> int:
        if message.DESCRIPTOR.full_name == ANY_FULL_NAME:
            return seed
        return deterministic_message(self, message, seed)

    def serialized_sni_only(message: Any) -> int:
        return opt.serialized_hash(message.filter_chain_match)

    real_serialized = opt.hash_chains_serialized

    def serialized_blind(chains: Any, counters: Any) -> list[int]:
        return real_serialized([c.filter_chain_match for c in chains], counters)

    return [
        Mutant(
            "cached-hash-reads-only-server-names",
            "filterchain_hash",
            "cached",
            "the cached FilterChain hash reads only filter_chain_match (the SNI)",
            (_attr(opt.HashCache, "_compute", sni_only),),
        ),
        Mutant(
            "cached-hash-blind-to-any-payloads",
            "filterchain_hash",
            "cached",
            "the cached hash of an Any folds its type URL and ignores its value bytes",
            (_attr(opt.HashCache, "_compute", any_blind),),
        ),
        Mutant(
            "cached-hash-blind-to-a-field",
            "filterchain_hash",
            "cached",
            "the cached FilterChain hash skips one field (metadata)",
            (_attr(opt.HashCache, "_compute", metadata_blind),),
        ),
        Mutant(
            "deterministic-hash-blind-to-any",
            "filterchain_hash",
            "deterministic",
            "the deterministic hash adds nothing for any Any (as for an unknown type)",
            (_attr(opt.DeterministicHasher, "_message", det_any_blind),),
        ),
        Mutant(
            "serialized-hash-reads-only-server-names",
            "filterchain_hash",
            "serialized",
            "the serialized ablation hashes only the filter_chain_match bytes",
            (_attr(opt, "hash_chains_serialized", serialized_blind),),
        ),
    ]


def _listener_update() -> list[Mutant]:
    from gwbench.optimized import listener_update as opt
    from gwbench.workloads.protohash import HashedKey

    stale: dict[tuple[str, ...], int] = {}
    key = opt._ShippedCachedKeys.key

    def stale_key(self: Any, message: Any) -> Any:
        if message.DESCRIPTOR.name != "FilterChain":
            return key(self, message)
        names = tuple(message.filter_chain_match.server_names)
        h = stale.get(names)
        if h is None:
            h = stale[names] = key(self, message).hash
        return HashedKey(message, h)

    @contextmanager
    def stale_cache() -> Iterator[None]:
        stale.clear()
        with mock.patch.object(opt._ShippedCachedKeys, "key", stale_key):
            yield
        stale.clear()

    real_apply = opt.apply_update

    def no_drain(old: Any, data: bytes, counters: Any) -> Any:
        result, state = real_apply(old, data, counters)
        return replace(result, drained=()), state

    def no_duplicates(self: Any, key: Any) -> Any:
        self.stats.finds += 1
        return None

    def constant_listener_hash(self: Any, listener: Any) -> int:
        self.cache.hash(listener)
        return 0

    def constant_deterministic_hash(self: Any, listener: Any) -> int:
        return 0

    def sni_only_key(self: Any, message: Any) -> Any:
        if message.DESCRIPTOR.name != "FilterChain":
            return HashedKey(message, self.cache.hash(message))
        return HashedKey(message, self.cache.hash(message.filter_chain_match) ^ 1)

    def bucket_everything_equal(self: Any, key: Any) -> int:
        self.stats.hash_calls += 1
        return 0 if self._keys else -1

    return [
        Mutant(
            "lds-stale-hash-after-change",
            "listener_update",
            "cached",
            "a chain's cached hash is kept by its server_names across updates, so a chain "
            "changed inside an Any keeps its stale hash",
            (stale_cache,),
        ),
        Mutant(
            "lds-skipped-diff",
            "listener_update",
            "cached",
            "diffFilterChain skipped: removed chains are never drained",
            (_attr(opt, "apply_update", no_drain),),
        ),
        Mutant(
            "lds-duplicate-check-skipped",
            "listener_update",
            "cached",
            "verifyNoDuplicateMatchers finds nothing: a duplicate match is accepted",
            (_attr(opt.OneBucketMap, "find", no_duplicates),),
        ),
        Mutant(
            "lds-constant-listener-hash",
            "listener_update",
            "cached",
            "the listener hash is a constant, so every update is blocked as a no-op",
            (_attr(opt._ShippedCachedKeys, "listener_hash", constant_listener_hash),),
        ),
        Mutant(
            "lds-matcher-map-equality-always-true",
            "listener_update",
            "cached",
            "the one-bucket matcher map takes any stored key for a match (equality always true)",
            (_attr(opt.OneBucketMap, "_lookup", bucket_everything_equal),),
        ),
        Mutant(
            "lds-intended-key-reads-only-server-names",
            "listener_update",
            "cached-intended",
            "a chain's map key carries the hash of its filter_chain_match only, so a chain "
            "changed inside an Any is taken for the old one",
            (_attr(opt._CachedKeys, "key", sni_only_key),),
        ),
        Mutant(
            "lds-deterministic-constant-listener-hash",
            "listener_update",
            "deterministic",
            "upstream's listener hash is a constant: every update is blocked as a no-op",
            (_attr(opt._DeterministicKeys, "listener_hash", constant_deterministic_hash),),
        ),
    ]


def _ingress_update() -> list[Mutant]:
    from gwbench.optimized import envoyfilter_patch as opt_patch
    from gwbench.optimized import gateway_lookup as opt_lookup
    from gwbench.workloads.envoyfilters import PatchResult

    def unpatched(inputs: Any, counters: Any) -> Any:
        return PatchResult(inputs.listener, tuple((p.key, 0) for p in inputs.patches.patches))

    real_build = opt_lookup.build_cfg_cache

    def aliased(gateways: Any, counters: Any) -> dict[str, Any]:
        cache = real_build(gateways, counters)
        return {key: gateways[-1] for key in cache}

    return [
        Mutant(
            "push-skips-envoyfilter-stage",
            "ingress_update",
            "optimized",
            "the optimized push sends the listener unpatched (a dropped stage)",
            (_attr(opt_patch, "apply_listener_patches", unpatched),),
        ),
        Mutant(
            "push-gateway-map-aliases-last",
            "ingress_update",
            "optimized",
            "the push's gateway map points every entry at the last gateway",
            (_attr(opt_lookup, "build_cfg_cache", aliased),),
        ),
    ]


def catalogue() -> list[Mutant]:
    """Every mutant, in pipeline order."""
    return [
        *_gateway_lookup(),
        *_envoyfilter_patch(),
        *_filterchain_hash(),
        *_listener_update(),
        *_ingress_update(),
    ]
