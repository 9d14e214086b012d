"""The gate's thresholds and round settings: ``ci/thresholds.toml``, versioned in the repo.

Read with :mod:`tomllib` and validated field by field; any mistake is an
:class:`~gwbench.errors.InputError` naming the file and the field (exit 2). Every key is
optional; the defaults are docs/gate.md's starting values::

    schema_version = 1

    [gate]                  # the whole gate
    counts = 0.02           # a count counter may rise by 2% ...
    bytes = 0.05            # ... a byte counter (name containing "bytes") by 5%
    slope = 0.15            # the fitted exponent log(counter) ~ log(N) by 0.15
    time_fail = 0.10        # time regression above +10% (interval above 0, confirmed)
    time_warn = 0.05        # warn band
    time_metric = "wall"    # "wall" (perf_counter) or "cpu" (process CPU time)
    rounds = 10             # ABBA/BAAB rounds of the first batch
    confirm_rounds = 10     # rounds of the confirmation batch
    values = 15             # timed values per side per round (at most)
    min_values = 5          # ... and at least, when a call is slow
    value_seconds = 0.002   # a value lasts at least this long (calls per value)
    budget_seconds = 0.5    # timed seconds per implementation, side and round
    warmups = 1
    sweep = [0.25, 0.5, 1.0]            # counter sweep, as fractions of N
    time_kinds = ["optimized"]          # implementation kinds timed

    [hotpaths.gateway_lookup]           # per hot path: counts, bytes, slope,
    counts = 0.0                        # time_fail, time_warn, ignore
    ignore = ["cache_hits", "*.cache_hits"]   # counters not checked (shell patterns)
    [hotpaths.gateway_lookup.counters]  # per counter: allowed relative rise
    dict_builds = 0.0

Resolution for one counter: ``hotpaths.H.counters.NAME``, else ``hotpaths.H.bytes`` or
``.counts`` by the counter's kind, else ``[gate]``'s.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gwbench.errors import InputError

SCHEMA_VERSION = 1
TimeMetric = Literal["wall", "cpu"]
IMPLEMENTATION_KINDS = ("baseline", "optimized", "ablation")


@dataclass(frozen=True)
class HotPathThresholds:
    """Overrides for one hot path (``None``: the gate-wide value)."""

    counts: float | None = None
    bytes: float | None = None
    slope: float | None = None
    time_fail: float | None = None
    time_warn: float | None = None
    ignore: tuple[str, ...] = ()
    counters: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    """Everything the gate decides with, from one TOML file (or the defaults)."""

    counts: float = 0.02
    bytes: float = 0.05
    slope: float = 0.15
    time_fail: float = 0.10
    time_warn: float = 0.05
    time_metric: TimeMetric = "wall"
    rounds: int = 10
    confirm_rounds: int = 10
    values: int = 15
    min_values: int = 5
    value_seconds: float = 0.002
    budget_seconds: float = 0.5
    warmups: int = 1
    sweep: tuple[float, ...] = (0.25, 0.5, 1.0)
    time_kinds: tuple[str, ...] = ("optimized",)
    hotpaths: Mapping[str, HotPathThresholds] = field(default_factory=dict)
    source: str = "built-in defaults"
    """Where these came from (a path, or the built-in defaults)."""

    def _hp(self, hotpath: str) -> HotPathThresholds:
        return self.hotpaths.get(hotpath) or HotPathThresholds()

    def counter_limit(self, hotpath: str, counter: str) -> float | None:
        """Allowed relative rise of ``counter`` (``None``: not checked)."""
        hp = self._hp(hotpath)
        if self.ignored(hotpath, counter):
            return None
        if counter in hp.counters:
            return hp.counters[counter]
        if is_bytes_counter(counter):
            return hp.bytes if hp.bytes is not None else self.bytes
        return hp.counts if hp.counts is not None else self.counts

    def slope_limit(self, hotpath: str) -> float:
        hp = self._hp(hotpath)
        return hp.slope if hp.slope is not None else self.slope

    def time_limits(self, hotpath: str) -> tuple[float, float]:
        """(fail, warn) as relative rises, e.g. (0.10, 0.05)."""
        hp = self._hp(hotpath)
        fail = hp.time_fail if hp.time_fail is not None else self.time_fail
        warn = hp.time_warn if hp.time_warn is not None else self.time_warn
        return fail, warn

    def ignored(self, hotpath: str, counter: str) -> bool:
        """Whether ``counter`` matches one of the hot path's ``ignore`` patterns (shell
        style: ``cache_hits``, ``*.cache_hits``)."""
        return any(fnmatch.fnmatchcase(counter, p) for p in self._hp(hotpath).ignore)


def is_bytes_counter(name: str) -> bool:
    """Byte counters (``bytes_encoded``, ``peak_bytes`` ...) get the bytes threshold."""
    return "bytes" in name


DEFAULTS = Thresholds()

_GATE_KEYS = {
    "counts",
    "bytes",
    "slope",
    "time_fail",
    "time_warn",
    "time_metric",
    "rounds",
    "confirm_rounds",
    "values",
    "min_values",
    "value_seconds",
    "budget_seconds",
    "warmups",
    "sweep",
    "time_kinds",
}
_HOTPATH_KEYS = {"counts", "bytes", "slope", "time_fail", "time_warn", "ignore", "counters"}


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> InputError:
        return InputError(message, file=self.source, field=where)

    def table(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table, got {_kind(value)}")
        return value

    def unknown(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            prefix = f"{where}." if where else ""
            raise self.fail(
                prefix + extra[0],
                f"unknown key (known: {', '.join(sorted(allowed))})",
            )

    def ratio(self, value: object, where: str, *, upper: float = 100.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        number = float(value)
        if math.isnan(number) or not 0.0 <= number <= upper:
            raise self.fail(where, f"{value!r} must be between 0 and {upper:g}")
        return number

    def positive(self, value: object, where: str, *, upper: float = 3600.0) -> float:
        number = self.ratio(value, where, upper=upper)
        if number <= 0.0:
            raise self.fail(where, f"{value!r} must be above 0")
        return number

    def integer(self, value: object, where: str, *, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(where, f"{value} must be between {low} and {high}")
        return value

    def strings(self, value: object, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, "expected a list of strings")
        return tuple(value)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse(data: Mapping[str, Any], source: str) -> Thresholds:
    """Validate parsed TOML into :class:`Thresholds`."""
    r = _Reader(source)
    r.unknown(data, {"schema_version", "gate", "hotpaths"}, "")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise r.fail(
            "schema_version",
            f"thresholds schema version {version!r} is not supported: this gwbench reads "
            f"version {SCHEMA_VERSION}",
        )
    gate = r.table(data.get("gate", {}), "gate")
    r.unknown(gate, _GATE_KEYS, "gate")
    kw: dict[str, Any] = {"source": source}
    for key in ("counts", "bytes", "time_fail", "time_warn"):
        if key in gate:
            kw[key] = r.ratio(gate[key], f"gate.{key}")
    if "slope" in gate:
        kw["slope"] = r.ratio(gate["slope"], "gate.slope", upper=10.0)
    if "time_metric" in gate:
        metric = gate["time_metric"]
        if metric not in ("wall", "cpu"):
            raise r.fail("gate.time_metric", f"{metric!r} is not one of 'wall', 'cpu'")
        kw["time_metric"] = metric
    if "rounds" in gate:
        kw["rounds"] = r.integer(gate["rounds"], "gate.rounds", low=3, high=1000)
    if "confirm_rounds" in gate:
        kw["confirm_rounds"] = r.integer(
            gate["confirm_rounds"], "gate.confirm_rounds", low=3, high=1000
        )
    if "values" in gate:
        kw["values"] = r.integer(gate["values"], "gate.values", low=1, high=10000)
    if "min_values" in gate:
        kw["min_values"] = r.integer(gate["min_values"], "gate.min_values", low=1, high=10000)
    if "warmups" in gate:
        kw["warmups"] = r.integer(gate["warmups"], "gate.warmups", low=0, high=1000)
    if "value_seconds" in gate:
        kw["value_seconds"] = r.positive(gate["value_seconds"], "gate.value_seconds", upper=60)
    if "budget_seconds" in gate:
        kw["budget_seconds"] = r.positive(gate["budget_seconds"], "gate.budget_seconds")
    if "sweep" in gate:
        kw["sweep"] = _sweep(r, gate["sweep"])
    if "time_kinds" in gate:
        kinds = r.strings(gate["time_kinds"], "gate.time_kinds")
        bad = [k for k in kinds if k not in IMPLEMENTATION_KINDS]
        if bad:
            raise r.fail(
                "gate.time_kinds",
                f"{bad[0]!r} is not an implementation kind ({', '.join(IMPLEMENTATION_KINDS)})",
            )
        kw["time_kinds"] = kinds
    hotpaths_table = r.table(data.get("hotpaths", {}), "hotpaths")
    kw["hotpaths"] = {
        name: _hotpath(r, name, value) for name, value in sorted(hotpaths_table.items())
    }
    result = Thresholds(**kw)
    _check_consistency(r, result)
    return result


def _sweep(r: _Reader, value: object) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise r.fail("gate.sweep", "expected a non-empty list of fractions of N")
    fractions = tuple(r.positive(v, f"gate.sweep[{i}]", upper=1.0) for i, v in enumerate(value))
    if 1.0 not in fractions:
        raise r.fail("gate.sweep", "must include 1.0 (N itself)")
    if len(set(fractions)) < 2:
        raise r.fail("gate.sweep", "needs at least two distinct fractions to fit a slope")
    return tuple(sorted(set(fractions)))


def _hotpath(r: _Reader, name: str, value: object) -> HotPathThresholds:
    where = f"hotpaths.{name}"
    table = r.table(value, where)
    r.unknown(table, _HOTPATH_KEYS, where)
    kw: dict[str, Any] = {}
    for key in ("counts", "bytes", "time_fail", "time_warn"):
        if key in table:
            kw[key] = r.ratio(table[key], f"{where}.{key}")
    if "slope" in table:
        kw["slope"] = r.ratio(table["slope"], f"{where}.slope", upper=10.0)
    if "ignore" in table:
        kw["ignore"] = r.strings(table["ignore"], f"{where}.ignore")
    if "counters" in table:
        counters = r.table(table["counters"], f"{where}.counters")
        kw["counters"] = {
            str(k): r.ratio(v, f"{where}.counters.{k}") for k, v in sorted(counters.items())
        }
    return HotPathThresholds(**kw)


def _check_consistency(r: _Reader, t: Thresholds) -> None:
    if t.time_warn > t.time_fail:
        raise r.fail("gate.time_warn", f"warn band {t.time_warn} is above time_fail {t.time_fail}")
    if t.min_values > t.values:
        raise r.fail("gate.min_values", f"{t.min_values} is above values = {t.values}")
    for name in t.hotpaths:
        fail, warn = t.time_limits(name)
        if warn > fail:
            raise r.fail(f"hotpaths.{name}.time_warn", f"warn band {warn} is above {fail}")


def load(path: str | Path) -> Thresholds:
    """Read and validate a thresholds file (exit 2 on any mistake)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read thresholds: {exc.strerror or exc}", file=str(p)) from None
    return loads(raw.decode("utf-8", errors="replace"), source=str(p))


def loads(text: str, *, source: str) -> Thresholds:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=source) from None
    return parse(data, source)


def check_hotpaths(thresholds: Thresholds, known: set[str]) -> None:
    """Refuse thresholds for a hot path neither side registers (a typo)."""
    unknown = sorted(set(thresholds.hotpaths) - known)
    if unknown:
        raise InputError(
            f"thresholds for unknown hot path {unknown[0]!r} (known: {', '.join(sorted(known))})",
            file=thresholds.source,
            field=f"hotpaths.{unknown[0]}",
        )


THRESHOLDS_PATH = "ci/thresholds.toml"


def from_commit(repo: Path, commit: str) -> Thresholds:
    """The thresholds file as committed in ``commit`` (the base: a pull request cannot
    loosen the thresholds it is judged by); the defaults when the commit has none."""
    from gwbench.harness.gate.worktree import git, short

    found = git(repo, "show", f"{commit}:{THRESHOLDS_PATH}")
    if found.code != 0:
        return DEFAULTS
    return loads(found.stdout, source=f"{THRESHOLDS_PATH} at base {short(commit)}")
