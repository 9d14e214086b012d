"""The models held against the real Envoy: ``results.json``'s ``envoy_model`` in, tables out.

Pure: :func:`section` gives the report's table (one row per shape: the model's time and
Envoy's CPU at each N, both exponents, their difference, within the tolerance or not) and
the ordering verdicts; :func:`markdown_lines` the same as a markdown table (docs, console).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gwbench.results import ModelCheck, ModelShapeCheck
from gwbench.units import format_seconds


@dataclass(frozen=True)
class ModelCheckSection:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    ordering: tuple[str, ...]
    """One sentence per side (model, Envoy) on the ordering of shapes."""
    met: bool
    """Every exponent pair within the tolerance and both sides ordered."""
    envoy_cpu: str
    model_time: str
    envoy_version: str | None


def _sizes(check: ModelCheck) -> tuple[int, ...]:
    return tuple(sorted({n for s in check.shapes for n in s.sizes}))


def columns(check: ModelCheck) -> tuple[str, ...]:
    sizes = _sizes(check)
    return (
        "shape",
        "model",
        *(f"model {n:,}" for n in sizes),
        *(f"Envoy CPU {n:,}" for n in sizes),
        "model exponent",
        "Envoy exponent",
        "difference",
        f"within ±{check.tolerance:g}",
    )


def exponent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _within(shape: ModelShapeCheck) -> str:
    if shape.within is None:
        return f"- ({shape.reason})" if shape.reason else "-"
    return "yes" if shape.within else "no"


def row(shape: ModelShapeCheck, sizes: Sequence[int]) -> tuple[str, ...]:
    model = dict(zip(shape.sizes, shape.model_s, strict=True))
    envoy = dict(zip(shape.sizes, shape.envoy_cpu_s, strict=True))
    return (
        shape.shape,
        shape.model,
        *(format_seconds(model.get(n)) for n in sizes),
        *(format_seconds(envoy.get(n)) for n in sizes),
        exponent(shape.model_exponent),
        exponent(shape.envoy_exponent),
        "-" if shape.difference is None else f"{shape.difference:+.2f}",
        _within(shape),
    )


def _ordered(side: str, verdict: bool | None, order: Sequence[str]) -> str:
    chain = " > ".join(order)
    if verdict is None:
        return f"{side}: ordering not checked (no N with every shape measured)"
    return f"{side}: {chain} at every N: {'yes' if verdict else 'no'}"


def section(check: ModelCheck) -> ModelCheckSection:
    sizes = _sizes(check)
    ordering = (
        _ordered("model", check.model_ordered, check.order),
        _ordered("Envoy", check.envoy_ordered, check.order),
    )
    met = (
        bool(check.shapes)
        and all(s.within for s in check.shapes)
        and bool(check.model_ordered)
        and bool(check.envoy_ordered)
    )
    return ModelCheckSection(
        columns=columns(check),
        rows=tuple(row(s, sizes) for s in check.shapes),
        ordering=ordering,
        met=met,
        envoy_cpu=check.envoy_cpu,
        model_time=check.model_time,
        envoy_version=check.envoy_version,
    )


def markdown_lines(check: ModelCheck) -> list[str]:
    """The table and the ordering verdicts as markdown."""
    view = section(check)
    lines = [
        "| " + " | ".join(view.columns) + " |",
        "|" + "---|" * len(view.columns),
        *("| " + " | ".join(r) + " |" for r in view.rows),
        "",
        *(f"- {sentence}" for sentence in view.ordering),
        f"- goal (every exponent pair within ±{check.tolerance:g}, both sides ordered): "
        f"{'met' if view.met else 'not met'}",
    ]
    return lines
