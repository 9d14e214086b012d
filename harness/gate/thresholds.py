"""The gate's thresholds and round settings: ``ci/thresholds.toml``, versioned in the repo.

Read with :mod:`tomllib` and validated by pydantic models of the file; any mistake is an
:class:`~gwbench.errors.InputError` naming the file and the field (exit 2). Every key is
optional; the defaults are docs/gate.md's starting values::

    schema_version = 1

    [gate]                  # the whole gate
    counts = 0.02           # a count counter may rise by 2% ...
    bytes = 0.05            # ... a byte counter (name containing "bytes") by 5%
    slope = 0.15            # the fitted exponent log(counter) ~ log(N) by 0.15
    time_fail = 0.10        # time regression above +10% (interval above 0, confirmed)
    time_warn = 0.05        # warn band
    time_metric = "cpu"     # "cpu" (process CPU time) or "wall" (perf_counter)
    rounds = 10             # ABBA/BAAB rounds before the first look
    step_rounds = 10        # rounds added at a time to rows that cannot yet say ...
    max_rounds = 40         # ... until this many rounds (the cap) ...
    max_seconds = 600.0     # ... or this many seconds of rounds (the first batch included)
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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from gwbench.errors import InputError
from gwbench.validation import input_error

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
    time_metric: TimeMetric = "cpu"
    rounds: int = 10
    step_rounds: int = 10
    max_rounds: int = 40
    max_seconds: float = 600.0
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

# --------------------------------------------------------------------------- the file
#
# The TOML file as pydantic models (strict: a boolean is not a number, a string not a
# list; unknown keys refused). Defaults come from :class:`Thresholds`, so they are
# written once; cross-field rules (warn band below the fail threshold ...) are checked on
# the result.

Ratio = Annotated[float, Field(ge=0.0, le=100.0)]
Slope = Annotated[float, Field(ge=0.0, le=10.0)]
Rounds = Annotated[int, Field(ge=3, le=1000)]
Values = Annotated[int, Field(ge=1, le=10000)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


class _Table(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _kinds(kinds: list[str]) -> tuple[str, ...]:
    bad = [k for k in kinds if k not in IMPLEMENTATION_KINDS]
    if bad:
        raise ValueError(
            f"{bad[0]!r} is not an implementation kind ({', '.join(IMPLEMENTATION_KINDS)})"
        )
    return tuple(kinds)


def _sweep(fractions: list[float]) -> tuple[float, ...]:
    if not fractions:
        raise ValueError("expected a non-empty list of fractions of N")
    if 1.0 not in fractions:
        raise ValueError("must include 1.0 (N itself)")
    if len(set(fractions)) < 2:
        raise ValueError("needs at least two distinct fractions to fit a slope")
    return tuple(sorted(set(fractions)))


class _Gate(_Table):
    counts: Ratio = DEFAULTS.counts
    bytes: Ratio = DEFAULTS.bytes
    slope: Slope = DEFAULTS.slope
    time_fail: Ratio = DEFAULTS.time_fail
    time_warn: Ratio = DEFAULTS.time_warn
    time_metric: TimeMetric = DEFAULTS.time_metric
    rounds: Rounds = DEFAULTS.rounds
    step_rounds: Annotated[int, Field(ge=1, le=1000)] = DEFAULTS.step_rounds
    max_rounds: Rounds = DEFAULTS.max_rounds
    max_seconds: Annotated[float, Field(gt=0.0, le=86400.0)] = DEFAULTS.max_seconds
    confirm_rounds: Rounds = DEFAULTS.confirm_rounds
    values: Values = DEFAULTS.values
    min_values: Values = DEFAULTS.min_values
    value_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = DEFAULTS.value_seconds
    budget_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = DEFAULTS.budget_seconds
    warmups: Annotated[int, Field(ge=0, le=1000)] = DEFAULTS.warmups
    # TOML arrays arrive as lists; the validators hand on tuples.
    sweep: Annotated[list[Fraction], AfterValidator(_sweep)] = list(DEFAULTS.sweep)
    time_kinds: Annotated[list[str], AfterValidator(_kinds)] = list(DEFAULTS.time_kinds)


class _HotPath(_Table):
    counts: Ratio | None = None
    bytes: Ratio | None = None
    slope: Slope | None = None
    time_fail: Ratio | None = None
    time_warn: Ratio | None = None
    ignore: Annotated[list[str], AfterValidator(tuple)] = []
    counters: dict[str, Ratio] = {}


class _File(_Table):
    schema_version: int = SCHEMA_VERSION
    gate: _Gate = _Gate()
    hotpaths: dict[str, _HotPath] = {}


def _known_keys(loc: tuple[int | str, ...]) -> str:
    """The keys allowed where an unknown key ``loc`` stands."""
    model: type[BaseModel] = _File
    for part in loc[:-1]:
        if part == "hotpaths" and model is _File:
            model = _HotPath
            continue
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return ", ".join(sorted(model.model_fields))


def parse(data: Mapping[str, Any], source: str) -> Thresholds:
    """Validate parsed TOML into :class:`Thresholds`."""
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InputError(
            f"thresholds schema version {version!r} is not supported: this gwbench reads "
            f"version {SCHEMA_VERSION}",
            file=source,
            field="schema_version",
        )
    try:
        file = _File.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, source, mapping="a table", known_keys=_known_keys) from None
    result = Thresholds(
        **_fields(file.gate),
        hotpaths={
            name: HotPathThresholds(**_fields(hp)) for name, hp in sorted(file.hotpaths.items())
        },
        source=source,
    )
    _check_consistency(result)
    return result


def _fields(table: BaseModel) -> dict[str, Any]:
    return {name: getattr(table, name) for name in type(table).model_fields}


def _check_consistency(t: Thresholds) -> None:
    def fail(field: str, message: str) -> InputError:
        return InputError(message, file=t.source, field=field)

    if t.time_warn > t.time_fail:
        raise fail("gate.time_warn", f"warn band {t.time_warn} is above time_fail {t.time_fail}")
    if t.max_rounds < t.rounds:
        raise fail("gate.max_rounds", f"{t.max_rounds} is below rounds = {t.rounds}")
    if t.min_values > t.values:
        raise fail("gate.min_values", f"{t.min_values} is above values = {t.values}")
    for name in t.hotpaths:
        fail_at, warn = t.time_limits(name)
        if warn > fail_at:
            raise fail(f"hotpaths.{name}.time_warn", f"warn band {warn} is above {fail_at}")


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
