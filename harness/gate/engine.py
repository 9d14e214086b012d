"""The gate's pipeline: refs -> worktrees -> describe -> check -> rounds -> confirm -> report.

1. Resolve the head (default ``HEAD``) and the base: the merge base of ``--base`` (default:
   the repository's default branch) with the head, so a pull request is compared with the
   commit it branched from, not with whatever landed since.
2. Check both commits out as detached worktrees in a temporary directory.
3. ``describe`` each side (which hot paths and implementations it registers); hot paths on
   one side only are noted, not compared.
4. ``check`` each side over the sweep: equivalence and counters (exact checks 1 to 3).
5. Timing rounds (ABBA / BAAB, :mod:`harness.gate.rounds`) of the timed implementations at
   each requested N, a fresh process per side and round, the sides alternating value by
   value; more rounds for the rows whose interval cannot yet say, up to a cap
   (:mod:`harness.gate.sequential`); then a confirmation batch of rounds for the rows whose
   rounds say regression and whose exact checks pass.
6. Rows and the overall verdict (:mod:`harness.gate.checks`); py-spy profiles of the
   regressed rows on both sides (:mod:`harness.gate.profiles`).

The orchestrator never imports the sides' code: it talks to them through
:class:`~harness.gate.sides.SideRunner`, one request per process.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwbench.errors import EXIT_FINDING, EXIT_OK, HarnessError, InputError
from gwbench.harness.gate import checks, rounds, sequential, worktree
from gwbench.harness.gate.profiles import RowProfiles, profile_rows
from gwbench.harness.gate.protocol import (
    PointKey,
    SideCheck,
    SideDescription,
    TimeSample,
    parse_check,
    parse_description,
)
from gwbench.harness.gate.sides import Server, Side, SideLabel, SideRunner, round_cpu
from gwbench.harness.gate.thresholds import DEFAULTS, Thresholds, check_hotpaths, from_commit
from gwbench.harness.progress import NullProgress, Progress

LABELS: tuple[SideLabel, SideLabel] = ("base", "head")
LOOK = "rounds"
"""The bootstrap seed's name for every look at a row's rounds: the verdict that stopped
its rounds is the verdict it gets."""


@dataclass(frozen=True)
class GateConfig:
    repo: Path
    base_ref: str | None
    """``None``: the default branch."""
    head_ref: str
    sizes: tuple[int, ...]
    """The requested N (ascending): one row per N; counters checked at each."""
    hotpaths: tuple[str, ...]
    """Requested hot paths; empty: every hot path both sides register."""
    thresholds: Thresholds | None
    """``None``: the base commit's ``ci/thresholds.toml`` (defaults when it has none)."""
    seed: int
    custom_domain_share: float | None
    out_dir: Path
    strict: bool = False
    rounds: int | None = None
    """Overrides the thresholds' rounds and confirmation rounds."""
    max_rounds: int | None = None
    """Overrides the thresholds' cap on a row's rounds."""
    python: str | None = None
    profile: bool = True
    """Profile the regressed rows on both sides (differential flame graphs)."""


@dataclass(frozen=True)
class PlanEntry:
    """How one implementation is timed at one N (the same on both sides)."""

    key: PointKey
    loops: int
    values: int
    warmups: int

    def payload(self) -> dict[str, Any]:
        return {
            "hotpath": self.key.hotpath,
            "implementation": self.key.implementation,
            "size": self.key.size,
            "loops": self.loops,
            "values": self.values,
            "warmups": self.warmups,
        }


@dataclass(frozen=True)
class SideInfo:
    label: SideLabel
    ref: str
    commit: str
    harness_file: str
    workload_digests: Mapping[int, str]


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    sweep: tuple[int, ...]
    seed: int
    custom_domain_share: float | None
    rounds: int
    confirm_rounds: int
    time_metric: str
    step_rounds: int
    max_rounds: int
    max_seconds: float
    thresholds_source: str
    hotpaths: tuple[str, ...]
    plan: tuple[PlanEntry, ...]


@dataclass(frozen=True)
class GateOutcome:
    """Everything the gate found; the command turns it into files and an exit code."""

    verdict: checks.RowVerdict
    exit_code: int
    strict: bool
    base: SideInfo
    head: SideInfo
    base_ref_named: str
    """What ``--base`` named (or the default branch); ``base.commit`` is its merge base."""
    settings: Settings
    rows: tuple[checks.Row, ...]
    notes: tuple[str, ...]
    wall_seconds: float
    descriptions: Mapping[SideLabel, SideDescription]
    side_checks: Mapping[SideLabel, SideCheck]
    samples: Mapping[SideLabel, tuple[TimeSample, ...]]
    profiles: tuple[RowProfiles, ...] = ()
    thresholds: Thresholds | None = None
    """The thresholds the rows were judged by (for the summary, which states them)."""


def sweep_sizes(sizes: Sequence[int], fractions: Sequence[float]) -> tuple[int, ...]:
    """The sizes the counters are fitted over: the requested sizes when there are two or
    more, else those fractions of the one N."""
    if len(set(sizes)) >= 2:
        return tuple(sorted(set(sizes)))
    n = sizes[0]
    return tuple(sorted({max(1, round(n * f)) for f in fractions} | {n}))


def exit_code(verdict: checks.RowVerdict, strict: bool) -> int:
    if verdict == "regression":
        return EXIT_FINDING
    if verdict == "inconclusive" and strict:
        return EXIT_FINDING
    return EXIT_OK


def time_plan(
    keys: Sequence[PointKey],
    calibration: Mapping[PointKey, float],
    thresholds: Thresholds,
) -> tuple[PlanEntry, ...]:
    """Calls per value and values per process, from the duration of one untimed call:
    a value lasts at least ``value_seconds``; a process spends about ``budget_seconds``
    per implementation, within ``[min_values, values]`` values."""
    plan = []
    for key in keys:
        call = max(calibration.get(key, 0.0), 1e-7)
        loops = max(1, math.ceil(thresholds.value_seconds / call))
        value = loops * call
        n_values = int(thresholds.budget_seconds // value)
        n_values = max(thresholds.min_values, min(thresholds.values, n_values))
        plan.append(PlanEntry(key, loops, n_values, thresholds.warmups))
    return tuple(plan)


class Gate:
    """One execution of a :class:`GateConfig`."""

    def __init__(self, config: GateConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.progress: Progress = progress or NullProgress()
        self.notes: list[str] = []
        self.thresholds = config.thresholds or DEFAULTS

    # ------------------------------------------------------------------ refs
    def resolve_refs(self) -> tuple[str, str, str]:
        """(base ref as named, base commit = merge base, head commit)."""
        repo = self.config.repo
        head = worktree.resolve(repo, self.config.head_ref, "head")
        named = self.config.base_ref or worktree.default_branch(repo)
        base_tip = worktree.resolve(repo, named, "base")
        base = worktree.merge_base(repo, base_tip, head)
        if base != base_tip:
            self.notes.append(
                f"base is the merge base {worktree.short(base)} of {named} "
                f"({worktree.short(base_tip)}) and the head"
            )
        return named, base, head

    # ------------------------------------------------------------------ run
    def run(self) -> GateOutcome:
        t0 = time.monotonic()
        cfg = self.config
        named, base_commit, head_commit = self.resolve_refs()
        if cfg.thresholds is None:
            self.thresholds = from_commit(cfg.repo, base_commit)
        if cfg.head_ref == "HEAD" and worktree.is_dirty(cfg.repo):
            self.notes.append("the working tree has uncommitted changes; the gate measures commits")
        with (
            tempfile.TemporaryDirectory(prefix="gwbench-gate-") as tmp,
            worktree.worktrees(cfg.repo, Path(tmp)) as trees,
        ):
            base = Side("base", named, base_commit, trees.add("base", base_commit))
            head = Side("head", cfg.head_ref, head_commit, trees.add("head", head_commit))
            runner = SideRunner(cfg.out_dir / "sides", python=cfg.python)
            try:
                return self._run(runner, base, head, named, t0)
            finally:
                runner.kill_all()
                self.progress.stop()

    def _run(
        self, runner: SideRunner, base: Side, head: Side, named: str, t0: float
    ) -> GateOutcome:
        cfg = self.config
        th = self.thresholds
        n_rounds = cfg.rounds if cfg.rounds is not None else th.rounds
        n_confirm = cfg.rounds if cfg.rounds is not None else th.confirm_rounds
        sides: dict[SideLabel, Side] = {"base": base, "head": head}
        self.progress.start(4 + n_rounds)

        # describe
        descriptions: dict[SideLabel, SideDescription] = {}
        harness_files: dict[SideLabel, str] = {}
        for label in LABELS:
            self.progress.describe(f"{label}: describe")
            answer = runner.call(sides[label], "describe", {})
            descriptions[label] = parse_description(answer.result, answer.harness_file)
            harness_files[label] = answer.harness_file
            self.progress.advance()
        compared = self._select(descriptions["base"], descriptions["head"])
        check_hotpaths(th, set(descriptions["base"].names) | set(descriptions["head"].names))

        # check
        sweep = sweep_sizes(cfg.sizes, th.sweep)
        check_sizes = sorted(set(sweep) | set(cfg.sizes))
        side_checks: dict[SideLabel, SideCheck] = {}
        for label in LABELS:
            self.progress.describe(f"{label}: equivalence and counters")
            answer = runner.call(
                sides[label],
                "check",
                {
                    "sizes": check_sizes,
                    "seed": cfg.seed,
                    "custom_domain_share": cfg.custom_domain_share,
                    "hotpaths": list(compared),
                },
            )
            side_checks[label] = parse_check(answer.result)
            self.progress.advance()
        for n in check_sizes:
            b = side_checks["base"].workload_digests.get(n)
            h = side_checks["head"].workload_digests.get(n)
            if b != h:
                self.notes.append(
                    f"the generated workload at N={n} differs between base and head "
                    "(the generator changed): both sides measure their own Ingresses"
                )

        # time
        keys = self._row_keys(compared, descriptions)
        kinds = {k: _kind(descriptions["head"], k) for k in keys}
        timed = [k for k in keys if kinds[k] in th.time_kinds]
        # calls per value from one untimed call (the base's; the head's where it has none)
        calibration = {
            p.key: p.seconds
            for label in ("head", "base")
            for p in side_checks[label].points
            if p.key in set(timed)
        }
        plan = time_plan(timed, calibration, th)
        samples: dict[SideLabel, list[TimeSample]] = {"base": [], "head": []}
        exact = {k: self._exact(k, side_checks, sweep) for k in keys}
        policy = sequential.Policy(
            rounds=n_rounds,
            step_rounds=th.step_rounds,
            max_rounds=cfg.max_rounds if cfg.max_rounds is not None else th.max_rounds,
            max_seconds=th.max_seconds,
        )

        def run_rounds(
            subset: tuple[PointKey, ...],
            count: int,
            first_index: int,
            stop: Callable[[], bool] | None,
        ) -> rounds.Batch:
            sub = tuple(e for e in plan if e.key in set(subset))
            if first_index:
                self.progress.stop()
                self.progress.start(count)
            what = "rounds" if not first_index else "more rounds (rows that cannot yet say)"
            return self._batch(runner, sides, sub, count, first_index, samples, what, stop)

        def open_row(batch: rounds.Batch, key: PointKey) -> bool:
            if checks.exact_failure(*exact[key]):
                return False
            return checks.undecided(self._time_check(batch, key, LOOK))

        staged = sequential.run(timed, run_rounds, open_row, policy)
        seq = staged.batch

        # each row's looks, then the confirmation batch for time regressions
        first_look: dict[PointKey, checks.TimeCheck] = {}
        pooled: dict[PointKey, checks.TimeCheck] = {}
        for key in timed:
            n_key = seq.rounds_of(key)
            first_look[key] = self._time_check(seq.first(key, n_rounds), key, LOOK)
            if n_key > n_rounds:
                pooled[key] = self._time_check(seq, key, LOOK)
        suspects = [
            k for k in timed if checks.needs_confirmation(*exact[k], pooled.get(k) or first_look[k])
        ]
        confirm: rounds.Batch | None = None
        if suspects:
            sub = tuple(e for e in plan if e.key in set(suspects))
            self.progress.stop()
            self.progress.start(n_confirm)
            confirm = self._batch(
                runner, sides, sub, n_confirm, len(seq.rounds), samples, "confirmation rounds"
            )

        rows = []
        for key in keys:
            eq, counters, slopes = exact[key]
            second = None
            if confirm is not None and key in suspects:
                second = self._time_check(confirm, key, "confirmation")
            rows.append(
                checks.row(
                    key,
                    kinds[key],
                    eq,
                    counters,
                    slopes,
                    first_look.get(key),
                    second,
                    pooled=pooled.get(key),
                    stopped=staged.stopped.get(key),
                )
            )
        verdict = checks.overall(rows)
        profiles: tuple[RowProfiles, ...] = ()
        regressed = sorted(
            (r for r in rows if r.verdict == "regression"), key=lambda r: r.time is None
        )
        if cfg.profile and regressed:
            self.progress.describe("profiling the regressed rows on both sides")
            profiles = profile_rows(
                runner,
                sides,
                [r.key for r in regressed],
                cfg.out_dir,
                {"seed": cfg.seed, "custom_domain_share": cfg.custom_domain_share},
            )
        settings = Settings(
            sizes=cfg.sizes,
            sweep=sweep,
            seed=cfg.seed,
            custom_domain_share=cfg.custom_domain_share,
            rounds=n_rounds,
            confirm_rounds=n_confirm,
            time_metric=th.time_metric,
            step_rounds=policy.step_rounds,
            max_rounds=policy.cap,
            max_seconds=policy.max_seconds,
            thresholds_source=th.source,
            hotpaths=compared,
            plan=plan,
        )
        return GateOutcome(
            verdict=verdict,
            exit_code=exit_code(verdict, cfg.strict),
            strict=cfg.strict,
            base=SideInfo(
                "base",
                named,
                base.commit,
                harness_files["base"],
                dict(side_checks["base"].workload_digests),
            ),
            head=SideInfo(
                "head",
                head.ref,
                head.commit,
                harness_files["head"],
                dict(side_checks["head"].workload_digests),
            ),
            base_ref_named=named,
            settings=settings,
            rows=tuple(rows),
            notes=tuple(self.notes),
            wall_seconds=round(time.monotonic() - t0, 3),
            descriptions=descriptions,
            side_checks=side_checks,
            samples={k: tuple(v) for k, v in samples.items()},
            profiles=profiles,
            thresholds=th,
        )

    # ------------------------------------------------------------------ helpers
    def _select(self, base: SideDescription, head: SideDescription) -> tuple[str, ...]:
        known = list(dict.fromkeys([*head.names, *base.names]))
        requested = self.config.hotpaths
        for name in requested:
            if name not in known:
                raise InputError(f"unknown hot path {name!r}; known: {', '.join(known)}")
        chosen = [n for n in known if not requested or n in requested]
        compared = tuple(n for n in chosen if n in base.names and n in head.names)
        for name in chosen:
            if name not in base.names:
                self.notes.append(f"hot path {name} is new in the head: not compared")
            elif name not in head.names:
                self.notes.append(f"hot path {name} is gone from the head: not compared")
        if not compared:
            self.notes.append("no hot path is registered on both sides: nothing was compared")
        return compared

    def _row_keys(
        self, compared: Sequence[str], descriptions: Mapping[SideLabel, SideDescription]
    ) -> list[PointKey]:
        keys = []
        for name in compared:
            b = descriptions["base"].hotpath(name)
            h = descriptions["head"].hotpath(name)
            assert b is not None and h is not None
            b_impls = {i.name for i in b.implementations}
            for impl in h.implementations:
                if impl.name not in b_impls:
                    self.notes.append(f"{name}/{impl.name} is new in the head: not compared")
                    continue
                for n in self.config.sizes:
                    keys.append(PointKey(name, impl.name, n))
            for gone in sorted(b_impls - {i.name for i in h.implementations}):
                self.notes.append(f"{name}/{gone} is gone from the head: not compared")
        return keys

    def _exact(
        self,
        key: PointKey,
        side_checks: Mapping[SideLabel, SideCheck],
        sweep: Sequence[int],
    ) -> tuple[checks.Equivalence, tuple[checks.CounterDelta, ...], tuple[checks.SlopeDelta, ...]]:
        th = self.thresholds
        b_check, h_check = side_checks["base"], side_checks["head"]
        b_pt, h_pt = b_check.point(key), h_check.point(key)
        eq = checks.Equivalence(
            _first_difference(b_check, key, sweep), _first_difference(h_check, key, sweep)
        )
        counters = checks.counter_deltas(
            key.hotpath,
            b_pt.counters if b_pt else None,
            h_pt.counters if h_pt else None,
            th,
        )

        def series(check: SideCheck) -> dict[int, Mapping[str, int]]:
            out: dict[int, Mapping[str, int]] = {}
            for n in sweep:
                p = check.point(PointKey(key.hotpath, key.implementation, n))
                if p is not None:
                    out[n] = p.counters
            return out

        slopes = checks.slope_deltas(key.hotpath, sweep, series(b_check), series(h_check), th)
        return eq, counters, slopes

    def _batch(
        self,
        runner: SideRunner,
        sides: Mapping[SideLabel, Side],
        plan: Sequence[PlanEntry],
        n_rounds: int,
        first_index: int,
        samples: dict[SideLabel, list[TimeSample]],
        what: str,
        stop: Callable[[], bool] | None = None,
    ) -> rounds.Batch:
        if not plan:
            return rounds.Batch(())
        payload = {
            "seed": self.config.seed,
            "custom_domain_share": self.config.custom_domain_share,
            "plan": [e.payload() for e in plan],
        }

        def measure(index: int) -> rounds.RoundValues:
            self.progress.describe(f"{what}: {index + 1} (of up to {first_index + n_rounds})")
            first = rounds.first_side(index)
            labels: tuple[SideLabel, SideLabel] = (
                (first, "head") if first == "base" else (first, "base")
            )
            servers: dict[SideLabel, Server] = {}
            cpu = round_cpu(index)
            try:
                for label in labels:
                    servers[label] = runner.serve(sides[label], payload, cpu)
                out: dict[PointKey, dict[SideLabel, list[rounds.Value]]] = {}
                for i, entry in enumerate(plan):
                    for label in labels:
                        servers[label].ask(f"setup {i}")
                    values: dict[SideLabel, list[rounds.Value]] = {"base": [], "head": []}
                    for label in rounds.value_order(index, entry.values):
                        answer = servers[label].ask(f"value {i}")
                        values[label].append(_value(sides[label], answer))
                    out[entry.key] = values
                for label in labels:
                    servers[label].close()
            finally:
                for server in servers.values():
                    server.kill()
            for key, by_side in out.items():
                entry_loops = next(e.loops for e in plan if e.key == key)
                for label, vals in by_side.items():
                    samples[label].append(
                        TimeSample(
                            key,
                            entry_loops,
                            tuple(v[0] for v in vals),
                            tuple(v[1] for v in vals),
                        )
                    )
            self.progress.advance()
            return out

        return rounds.run_batch(
            measure,
            n_rounds,
            first_index=first_index,
            metric=self.thresholds.time_metric,
            stop=stop,
        )

    def _time_check(self, batch: rounds.Batch, key: PointKey, name: str) -> checks.TimeCheck:
        fail, warn = self.thresholds.time_limits(key.hotpath)
        return checks.time_check(
            batch.ratios(key),
            fail=fail,
            warn=warn,
            seed=checks.bootstrap_seed(self.config.seed, key, name),
            cpu_ratios=batch.cpu_ratios(key),
            wall_ratios=batch.wall_ratios(key),
            base_seconds=batch.seconds(key, "base"),
            head_seconds=batch.seconds(key, "head"),
        )


def _value(side: Side, answer: str) -> rounds.Value:
    try:
        wall, cpu = (float(x) for x in answer.split())
    except ValueError:
        raise HarnessError(f"{side.describe()}: malformed timing answer {answer!r}") from None
    if not wall > 0.0 or not math.isfinite(wall) or not math.isfinite(cpu):
        raise HarnessError(f"{side.describe()}: timing answer {answer!r} is not a duration")
    return wall, cpu


def _kind(description: SideDescription, key: PointKey) -> str:
    hp = description.hotpath(key.hotpath)
    impl = hp.implementation(key.implementation) if hp is not None else None
    return impl.kind if impl is not None else "unknown"


def _first_difference(check: SideCheck, key: PointKey, sweep: Sequence[int]) -> str | None:
    """The difference at the row's N, else the first one at another size of the sweep."""
    own = check.point(key)
    if own is not None and own.difference is not None:
        return own.difference
    for n in sweep:
        other = check.point(PointKey(key.hotpath, key.implementation, n))
        if other is not None and other.difference is not None:
            return f"at N={n}: {other.difference}"
    return None
