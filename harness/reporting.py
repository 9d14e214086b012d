"""What ``gwbench run``, ``report`` and ``gate`` hand the renderers, and where the output goes.

The renderers in ``gwbench.reports`` are pure (data in, text out). This module is the
caller's side: it reads the profile artefacts a report draws (relative to the results
directory, never outside it, never above :data:`MAX_ARTEFACT_BYTES`), renders, and writes
the report atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from gwbench.files import atomic_write_text
from gwbench.reports.html import Artefacts, artefact_paths, render_html
from gwbench.reports.regression import Comparison
from gwbench.results import Results
from gwbench.units import format_seconds

__all__ = [
    "MAX_ARTEFACT_BYTES",
    "format_seconds",
    "load_artefacts",
    "render_report",
    "write_report",
]

MAX_ARTEFACT_BYTES = 64 << 20
"""Artefacts larger than this are not embedded (the report says so)."""


def _read(base: Path, rel: str) -> tuple[str | None, str | None]:
    path = (base / rel).resolve()
    if not path.is_relative_to(base):
        return None, f"{rel} lies outside the results directory"
    try:
        if path.stat().st_size > MAX_ARTEFACT_BYTES:
            return None, f"{rel} is larger than {MAX_ARTEFACT_BYTES >> 20} MiB"
        return path.read_text(encoding="utf-8", errors="replace"), None
    except OSError as exc:
        return None, f"cannot read {rel}: {exc.strerror or exc}"


def load_artefacts(
    results: Results, base_dir: Path | None, *, report_dir: Path | None = None
) -> Artefacts:
    """The artefacts the report of ``results`` draws, read from the results directory
    ``base_dir``; links in the report point at them from ``report_dir`` (default: the
    results directory itself)."""
    if base_dir is None:
        return Artefacts()
    base = base_dir.resolve()
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    for rel in artefact_paths(results):
        text, why = _read(base, rel)
        if text is not None:
            texts[rel] = text
        else:
            problems[rel] = why or "not read"
    where = (report_dir or base_dir).resolve()
    prefix = Path(os.path.relpath(base, where)).as_posix()
    return Artefacts(texts, problems, link_prefix="" if prefix == "." else prefix)


def render_report(
    results: Results,
    *,
    base_dir: Path | None,
    report_dir: Path | None = None,
    compare: Results | Comparison | None = None,
    reference_label: str = "reference",
) -> str:
    """The HTML report of ``results`` with its artefacts from ``base_dir``."""
    return render_html(
        results,
        artefacts=load_artefacts(results, base_dir, report_dir=report_dir),
        compare=compare,
        reference_label=reference_label,
    )


def write_report(results: Results, path: Path) -> tuple[str, str | None]:
    """Write the HTML report of a run beside its results; returns (what was written,
    warning or None). A failing renderer never loses the finished run: results.json is
    already written, and ``gwbench report DIR`` renders it again."""
    try:
        html = render_report(results, base_dir=path.parent, report_dir=path.parent)
    except Exception as exc:  # the run's results are kept whatever the renderer does
        return "nothing", (
            f"the report could not be rendered ({type(exc).__name__}: {exc}); the results "
            f"are kept: `gwbench report {path.parent}` renders it again"
        )
    atomic_write_text(path, html)
    return "report", None
