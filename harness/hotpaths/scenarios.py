"""Checked scenarios: one hot path's main inputs at N plus small side scenarios, run and
compared together.

The main inputs are what the hot path times and counts (the lab scenario at N). The side
scenarios are what an equivalence check needs to see a wrong answer: an Ingress deleted, a
path or backend changed, a certificate rotated, ALPN flipped, an HTTP filter changed,
duplicate chains, chains equal except inside one Any. They are built on a small slice of
the workload (:data:`SIDE_INGRESSES` Ingresses), so they add a small constant to each call
and nothing to the counters: an implementation's side calls count into a
:class:`NullCounters`, so the counters stay those of the main scenario.

:func:`run_all` wraps an implementation ``func(arg, counters)`` into one over
:class:`Scenarios`; :func:`compare_all` wraps a hot path's ``compare`` into one over
:class:`ScenarioResults`, naming the scenario of the first difference. ``prepare`` and
``specialize`` map over every scenario (:func:`prepare_all`, :func:`specialize_all`).
:func:`scenario_hotpath` declares a hot path whose every part is wrapped that way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gwbench.harness.registry import HotPath, Implementation, ImplKind
from gwbench.harness.worker import INPUTS_PICKLABLE_TAG
from gwbench.workloads.counters import Counters, NullCounters
from gwbench.workloads.model import WILDCARD_SECRET, Workload

I = TypeVar("I")  # noqa: E741 - inputs
R = TypeVar("R")
T = TypeVar("T")

SIDE_INGRESSES = 12
"""Ingresses of the slice the side scenarios are built on."""

MAIN = "main"


@dataclass(frozen=True)
class PerScenario(Generic[T]):
    """A value for the main scenario and one for each named side scenario."""

    main: T
    side: tuple[tuple[str, T], ...] = ()

    def all(self) -> tuple[tuple[str, T], ...]:
        return ((MAIN, self.main), *self.side)


@dataclass(frozen=True)
class Scenarios(PerScenario[I]):
    """The main inputs (timed, counted) and named side inputs (checked only)."""

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.all())

    def map(self, fn: Callable[[I], Any]) -> Scenarios[Any]:
        return Scenarios(fn(self.main), tuple((name, fn(arg)) for name, arg in self.side))


@dataclass(frozen=True)
class ScenarioResults(PerScenario[R]):
    """What one implementation returned for each scenario, in the same order."""


def _custom_certificate(ingress: Any) -> bool:
    spec = ingress.spec
    return bool(
        spec is not None
        and any(t.secret_name and t.secret_name != WILDCARD_SECRET for t in spec.tls or [])
    )


def side_slice(workload: Workload, size: int = SIDE_INGRESSES) -> Workload:
    """The first ``size`` Ingresses of ``workload`` (and all its Secrets), plus the first
    Ingress with a custom-domain certificate when none of those has one (so that a
    certificate can be rotated)."""
    ingresses = list(workload.ingresses[:size])
    if not any(_custom_certificate(i) for i in ingresses):
        extra = next((i for i in workload.ingresses[size:] if _custom_certificate(i)), None)
        if extra is not None:
            ingresses.append(extra)
    return Workload(
        ingresses,
        list(workload.secrets),
        spec=None,
        source=workload.source,
        domain=workload.domain,
    )


def run_all(
    func: Callable[[Any, Counters], R],
) -> Callable[[Scenarios[Any], Counters], ScenarioResults[R]]:
    """``func`` over every scenario: the main one counted, the side ones not."""

    def run(inputs: Scenarios[Any], counters: Counters) -> ScenarioResults[R]:
        main = func(inputs.main, counters)
        null = NullCounters()
        side = tuple((name, func(arg, null)) for name, arg in inputs.side)
        return ScenarioResults(main, side)

    run.__name__ = getattr(func, "__name__", "run")
    run.__qualname__ = getattr(func, "__qualname__", "run")
    run.__wrapped__ = func  # type: ignore[attr-defined]
    return run


def over_scenarios(
    name: str, kind: ImplKind, func: Callable[[Any, Counters], Any]
) -> Implementation:
    """Implementation ``name``: ``func`` run over every scenario (see :func:`run_all`); its
    module, shown in reports, is the one that defines ``func``."""
    return Implementation(name, kind, run_all(func), func.__module__)


def compare_all(
    compare: Callable[[Any, Any], str | None],
) -> Callable[[ScenarioResults[Any], ScenarioResults[Any]], str | None]:
    """``compare`` over every scenario; the first difference names its scenario."""

    def compare_scenarios(
        expected: ScenarioResults[Any], actual: ScenarioResults[Any]
    ) -> str | None:
        want, got = expected.all(), actual.all()
        if [n for n, _ in want] != [n for n, _ in got]:
            return f"scenarios {[n for n, _ in got]}, expected {[n for n, _ in want]}"
        for (name, a), (_, b) in zip(want, got, strict=True):
            difference = compare(a, b)
            if difference is not None:
                return difference if name == MAIN else f"scenario {name}: {difference}"
        return None

    return compare_scenarios


def prepare_all(prepare: Callable[[Any], Any]) -> Callable[[Scenarios[Any]], Scenarios[Any]]:
    def prepare_scenarios(inputs: Scenarios[Any]) -> Scenarios[Any]:
        return inputs.map(prepare)

    return prepare_scenarios


def specialize_all(
    specialize: Callable[[Any, str], Any],
) -> Callable[[Scenarios[Any], str], Scenarios[Any]]:
    def specialize_scenarios(inputs: Scenarios[Any], implementation: str) -> Scenarios[Any]:
        return inputs.map(lambda arg: specialize(arg, implementation))

    return specialize_scenarios


def scenario_hotpath(
    *,
    name: str,
    title: str,
    models: str,
    make_scenarios: Callable[[Workload], Scenarios[Any]],
    implementations: Sequence[tuple[str, ImplKind, Callable[[Any, Counters], Any]]],
    compare: Callable[[Any, Any], str | None],
    counters: tuple[str, ...],
    prepare: Callable[[Any], Any],
    specialize: Callable[[Any, str], Any] | None = None,
) -> HotPath:
    """A hot path checked over scenarios: each implementation ``(name, kind, func)``,
    ``compare``, ``prepare`` and ``specialize`` take one scenario's inputs and are mapped
    over all of them; the inputs pickle, so workers may load them instead of building them."""
    return HotPath(
        name=name,
        title=title,
        models=models,
        make_inputs=make_scenarios,
        implementations=tuple(over_scenarios(*impl) for impl in implementations),
        compare=compare_all(compare),
        tags=(INPUTS_PICKLABLE_TAG,),
        counters=counters,
        prepare=prepare_all(prepare),
        specialize=specialize_all(specialize) if specialize is not None else None,
    )
