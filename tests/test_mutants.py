"""GIVEN the catalogue of broken twins WHEN each runs against its hot path's equivalence
check THEN every one is caught, and broken variants outside the catalogue are caught too;
`gwbench verify` exits 1 on a surviving mutant or a mismatch and 3 when an implementation
or the check itself fails."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest

from gwbench.harness import mutants
from gwbench.harness.registry import get
from gwbench.workloads.generate import generate
from gwbench.workloads.model import Workload, WorkloadSpec
from tests import harness_fakes

N = 60


@pytest.fixture(scope="module")
def workload() -> Workload:
    return generate(WorkloadSpec(N, 11))


@pytest.fixture(scope="module")
def verdicts(workload: Workload) -> list[mutants.Verdict]:
    return mutants.run_catalogue(workload)


def test_every_mutant_of_the_catalogue_is_caught(verdicts: list[mutants.Verdict]) -> None:
    survivors = [(v.mutant.name, v.by) for v in verdicts if not v.caught]
    assert survivors == []


def test_the_catalogue_breaks_every_optimized_twin(verdicts: list[mutants.Verdict]) -> None:
    broken = {(v.mutant.hotpath, v.mutant.implementation) for v in verdicts}
    for name in ("gateway_lookup", "envoyfilter_patch", "filterchain_hash", "listener_update"):
        hp = get(name)
        for impl in hp.implementations:
            if impl.kind != "baseline":
                assert (name, impl.name) in broken, (name, impl.name)
    assert ("ingress_update", "optimized") in broken


def test_mutants_are_caught_by_a_difference_not_only_by_crashes(
    verdicts: list[mutants.Verdict],
) -> None:
    crashed = [v.mutant.name for v in verdicts if v.by.startswith("the broken twin raised")]
    assert len(crashed) <= 1, crashed


def test_a_mutant_the_checks_cannot_see_survives(workload: Workload) -> None:
    """GIVEN a "mutant" that changes nothing observable WHEN it is judged THEN it survives
    (the verdict is not caught by construction)."""
    from gwbench.optimized import gateway_lookup as opt

    harmless = mutants.Mutant(
        "harmless",
        "gateway_lookup",
        "optimized",
        "counts one extra dict build",
        (lambda: mock.patch.object(opt, "HTTPS_PORT", opt.HTTPS_PORT),),
    )
    (verdict,) = mutants.run_catalogue(workload, [harmless])
    assert not verdict.caught


# ---- broken variants outside the catalogue ---------------------------------------------


def _judge(workload: Workload, hotpath: str, impl: str, *patches: Any) -> mutants.Verdict:
    mutant = mutants.Mutant("extra", hotpath, impl, "a variant outside the catalogue", patches)
    (verdict,) = mutants.run_catalogue(workload, [mutant])
    return verdict


def _judge_replaced(
    workload: Workload, hotpath: str, impl: str, owner: Any, name: str, replacement: Any
) -> mutants.Verdict:
    """:func:`_judge` with ``owner.name`` replaced by ``replacement`` while the mutant runs."""
    return _judge(workload, hotpath, impl, lambda: mock.patch.object(owner, name, replacement))


def test_extra_a_cached_hash_blind_to_alpn_is_caught(workload: Workload) -> None:
    from gwbench.optimized import filterchain_hash as opt

    compute = opt.HashCache._compute

    def alpn_blind(self: Any, message: Any) -> int:
        if message.DESCRIPTOR.full_name != "google.protobuf.Any" or "Tls" not in message.type_url:
            return compute(self, message)
        from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

        ctx = tls_pb2.DownstreamTlsContext.FromString(message.value)
        del ctx.common_tls_context.alpn_protocols[:]
        h = hash(ctx.SerializeToString(deterministic=True)) & 0xFFFFFFFFFFFFFFFF
        self._memo[id(message)] = h
        self._keep.append(message)
        return h

    verdict = _judge_replaced(
        workload, "filterchain_hash", "cached", opt.HashCache, "_compute", alpn_blind
    )
    assert verdict.caught and "designed-collisions" in verdict.by


def _lossy_gateway_map(real: Any) -> Any:
    def lossy(gateways: Any, counters: Any) -> dict[str, Any]:
        cache = real(gateways, counters)
        return {k: v for i, (k, v) in enumerate(cache.items()) if i % 7 != 3}

    return lossy


def _drains_off_by_one(real: Any) -> Any:
    def off_by_one(old: Any, data: bytes, counters: Any) -> Any:
        result, state = real(old, data, counters)
        return replace(result, drained=tuple(i + 1 for i in result.drained)), state

    return off_by_one


def _inserted_twice(real: Any) -> Any:
    def twice(filters: Any, lp: Any, tally: Any) -> bool:
        real(filters, lp, tally)
        return bool(real(filters, lp, tally))

    return twice


@pytest.mark.parametrize(
    ("hotpath", "impl", "module", "name", "wrap", "caught_by"),
    [
        ("gateway_lookup", "optimized", "gateway_lookup", "build_cfg_cache",
         _lossy_gateway_map, "resolved to gateway None"),
        ("listener_update", "deterministic", "listener_update", "apply_update_deterministic",
         _drains_off_by_one, "scenario delete"),
        ("envoyfilter_patch", "decode-once", "envoyfilter_patch", "apply_http_filter_op",
         _inserted_twice, ""),
    ],
)  # fmt: skip
def test_extra_a_wrapped_optimized_function_is_caught(
    workload: Workload,
    hotpath: str,
    impl: str,
    module: str,
    name: str,
    wrap: Callable[[Any], Any],
    caught_by: str,
) -> None:
    """GIVEN an optimized function wrapped to break it (a gateway map missing every seventh
    gateway, drains off by one, an HTTP filter inserted twice) WHEN judged THEN caught."""
    owner = importlib.import_module(f"gwbench.optimized.{module}")
    verdict = _judge_replaced(workload, hotpath, impl, owner, name, wrap(getattr(owner, name)))
    assert verdict.caught and caught_by in verdict.by


def test_extra_a_rebuild_of_every_changed_chain_skipped_is_caught(workload: Workload) -> None:
    from gwbench.optimized import listener_update as opt

    @contextmanager
    def reuse_everything() -> Iterator[None]:
        real = opt.apply_update

        def reused(old: Any, data: bytes, counters: Any) -> Any:
            result, state = real(old, data, counters)
            return replace(result, rebuilt=result.rebuilt[-1:]), state

        with mock.patch.object(opt, "apply_update", reused):
            yield

    verdict = _judge(workload, "listener_update", "cached", reuse_everything)
    assert verdict.caught


# ---- the command -----------------------------------------------------------------------


def _verify(*args: str, extra: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra is not None:
        env["PYTHONPATH"] = os.pathsep.join([harness_fakes.TESTS_DIR, env.get("PYTHONPATH", "")])
        env["GWBENCH_EXTRA_HOTPATHS"] = extra
    return subprocess.run(
        [sys.executable, "-m", "gwbench", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_verify_mutants_prints_each_mutant_and_what_caught_it() -> None:
    proc = _verify("-n", "40", "--seed", "3", "--mutants", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["ingresses"] == 40
    assert len(doc["mutants"]) == len(mutants.catalogue())
    assert all(m["caught"] and m["by"] for m in doc["mutants"])


@pytest.mark.parametrize("hotpath", ["fake_raises", "fake_unreadable"])
def test_a_failure_inside_the_check_exits_3_with_the_error(hotpath: str) -> None:
    proc = _verify("-n", "20", "--hotpath", hotpath, extra="fake_failing_hotpaths")
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert hotpath in proc.stderr and "Traceback" not in proc.stderr


def test_an_implementation_over_its_max_size_is_skipped_and_said_so() -> None:
    proc = _verify("-n", "20", "--hotpath", "fake_limited", extra="fake_failing_hotpaths")
    assert proc.returncode == 0, proc.stderr
    assert "skipped: runs up to N=10" in proc.stdout
    small = _verify("-n", "8", "--hotpath", "fake_limited", extra="fake_failing_hotpaths")
    assert small.returncode == 3  # within its size it runs (and here raises)
