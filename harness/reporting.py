"""What ``gwbench run`` prints and the report it writes (results in, text out).

The HTML report comes from ``reports.html.render_html(results)`` when that module exists;
otherwise from the minimal jinja2 template ``reports/templates/minimal.html.j2``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import jinja2

from gwbench.files import atomic_write_text
from gwbench.results import Results
from gwbench.units import format_seconds

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"
MINIMAL_TEMPLATE = "minimal.html.j2"


def format_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_exponent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def summary_rows(results: Results) -> list[tuple[str, ...]]:
    """One row per hot path and implementation at N: median, values, speedup, exponent."""
    n = results.workload.ingresses
    rows: list[tuple[str, ...]] = []
    for hp in results.hotpaths:
        for impl in hp.implementations:
            point = impl.point(n)
            timing = point.timing if point is not None else None
            sp = hp.speedup(impl.name, n)
            fit = impl.fit()
            failed = point is not None and point.error is not None
            values = str(timing.n_values) if timing else ("failed" if failed else "-")
            if sp is not None:
                speedup = f"{sp.ratio:.3g}x [{sp.ci_low:.3g}, {sp.ci_high:.3g}]"
            elif impl.kind == "baseline":
                speedup = "1x"
            else:
                speedup = "-"
            rows.append(
                (
                    hp.name,
                    impl.name,
                    str(n),
                    format_seconds(timing.median if timing else None),
                    values,
                    speedup,
                    format_exponent(fit.exponent if fit else None),
                )
            )
    return rows


SUMMARY_HEADER = ("hot path", "impl", "N", "median", "values", "speedup [95% CI]", "exponent")


def summary_lines(results: Results) -> list[str]:
    rows = [SUMMARY_HEADER, *summary_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(SUMMARY_HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _external_renderer() -> Callable[..., str] | None:
    try:
        module = importlib.import_module("gwbench.reports.html")
    except ModuleNotFoundError as exc:
        if exc.name != "gwbench.reports.html":
            raise
        return None
    func = getattr(module, "render_html", None)
    return func if callable(func) else None


def render_minimal(results: Results) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = format_seconds
    env.filters["bytes"] = format_bytes
    env.filters["exponent"] = format_exponent
    return env.get_template(MINIMAL_TEMPLATE).render(results=results)


def write_report(results: Results, path: Path) -> tuple[str, str | None]:
    """Write the HTML report; returns (renderer used, warning or None). A failing full
    renderer falls back to the minimal page (the results file is what matters)."""
    warning: str | None = None
    renderer = _external_renderer()
    html: str | None = None
    used = "minimal"
    if renderer is not None:
        try:
            html = renderer(results, base_dir=path.parent)
            used = "gwbench.reports.html"
        except Exception as exc:  # the report must not lose a finished run
            warning = (
                f"gwbench.reports.html failed ({type(exc).__name__}: {exc}); wrote the minimal page"
            )
    if html is None:
        html = render_minimal(results)
    atomic_write_text(path, html)
    return used, warning
