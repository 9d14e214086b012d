"""``gwbench merge``: join the results of ``gwbench run --shard I/K`` into one results file.

Each shard measured whole hot paths (:mod:`harness.shard`), so merging is a union: the
merged ``results.json`` holds every hot path of the plan, in plan order, as one unsharded
run of the same plan would. The shards must have measured the same workload with the
same code and plan; anything else is refused (exit 2) with the directories named.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from gwbench.errors import InputError
from gwbench.harness import reporting, runner
from gwbench.harness.commands import options
from gwbench.harness.commands.report import REPORT_FILE, resolve_results
from gwbench.results import (
    SCHEMA_VERSION,
    Environment,
    HotPathResult,
    Results,
    RunInfo,
    Shard,
    load_results,
    write_results,
)

DROPPED_OPTIONS = ("--shard", "--output", "-o")
"""Options of a shard's command line that the merged run's does not have."""
SKIPPED = {runner.RESULTS_FILE, REPORT_FILE, ".cache"}
"""A shard's own files that the merged directory gets anew (everything else is copied)."""


@dataclass(frozen=True)
class ShardResults:
    """One shard's results and the directory its artefacts are relative to."""

    directory: Path
    results: Results

    @property
    def shard(self) -> Shard:
        assert self.results.run.shard is not None
        return self.results.run.shard

    @property
    def label(self) -> str:
        return str(self.directory)


@dataclass(frozen=True)
class Merged:
    results: Results
    missing: tuple[str, ...]
    """``I/K`` of each shard not given (only with ``allow_partial``)."""


# --------------------------------------------------------------------------- loading


def load_shards(paths: Sequence[Path]) -> list[ShardResults]:
    """Each path's results (a directory holding results.json, or the file itself); files
    of different schema versions are refused before either is migrated."""
    files = [resolve_results(p) for p in paths]
    seen: dict[Path, Path] = {}
    for given, f in zip(paths, files, strict=True):
        if f.resolve() in seen:
            raise InputError(f"given twice (also as {seen[f.resolve()]})", file=str(given))
        seen[f.resolve()] = given
    versions: dict[Path, object] = {}
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read results: {exc}", file=str(f)) from None
        versions[f.parent] = data.get("schema_version") if isinstance(data, dict) else None
    _same("schema version", versions)
    shards: list[ShardResults] = []
    for f in files:
        results = load_results(f)
        if results.run.shard is None:
            raise InputError(
                "not a shard (run without --shard): only the parts of one sharded plan merge",
                file=str(f),
            )
        shards.append(ShardResults(f.parent, results))
    return shards


# --------------------------------------------------------------------------- checks


def _same(what: str, values: dict[Path, object]) -> None:
    """Refuse unless every directory has the same value, naming the directories of each."""
    groups: dict[str, list[str]] = {}
    for directory, value in values.items():
        groups.setdefault(json.dumps(value, sort_keys=True, default=str), []).append(str(directory))
    if len(groups) > 1:
        detail = "; ".join(f"{value} in {', '.join(dirs)}" for value, dirs in groups.items())
        raise InputError(f"the shards differ in {what}: {detail}")


def _workload_key(results: Results, shard: Shard) -> dict[str, object]:
    w = results.workload
    return {
        "source": w.source if w.source == "generated" else w.source.split(":", 1)[0],
        "source digest": shard.source_digest,
        "N": w.ingresses,
        "sizes": list(w.sizes),
        "seed": w.seed,
        "custom-domain share": w.custom_domain_share,
        "available Ingresses": w.available_ingresses,
    }


CHECKS: tuple[tuple[str, Callable[[ShardResults], object]], ...] = (
    ("K (the number of shards)", lambda s: s.shard.count),
    ("the plan's hot paths", lambda s: list(s.shard.plan_hotpaths)),
    ("the gwbench version", lambda s: s.results.gwbench_version),
    ("the gwbench commit", lambda s: s.results.environment.git_commit),
    ("mode", lambda s: s.results.run.mode),
    ("profiling (--no-profile)", lambda s: s.results.run.profile),
    ("memory (--no-memory)", lambda s: s.results.run.memory),
)


def check(shards: Sequence[ShardResults], *, allow_partial: bool) -> tuple[str, ...]:
    """Refuse shards of different workloads, code or plans, and overlapping ones; return
    the shards missing (refused unless ``allow_partial``)."""
    keys = [_workload_key(s.results, s.shard) for s in shards]
    for field in keys[0]:
        values = {s.directory: k[field] for s, k in zip(shards, keys, strict=True)}
        _same(f"workload ({field})", values)
    for what, key in CHECKS:
        _same(what, {s.directory: key(s) for s in shards})
    owner: dict[str, ShardResults] = {}
    for s in shards:
        for name in s.results.run.hotpaths:
            if name not in s.shard.plan_hotpaths:
                raise InputError(
                    f"hot path {name} is not in the shard's plan", file=str(s.directory)
                )
            if name in owner:
                first = owner[name]
                raise InputError(
                    f"the shards overlap: hot path {name} is in {first.label} (shard "
                    f"{_label(first.shard)}) and in {s.label} (shard {_label(s.shard)})"
                )
            owner[name] = s
    count = shards[0].shard.count
    given = {s.shard.index for s in shards}
    missing = tuple(f"{i}/{count}" for i in range(1, count + 1) if i not in given)
    if missing and not allow_partial:
        lost = [n for n in shards[0].shard.plan_hotpaths if n not in owner]
        raise InputError(
            f"shard(s) {', '.join(missing)} missing (hot paths {', '.join(lost)}); give "
            f"every shard's directory, or --allow-partial to merge what is there "
            f"(given: {', '.join(s.label for s in shards)})"
        )
    return missing


def _label(shard: Shard) -> str:
    return f"{shard.index}/{shard.count}"


# --------------------------------------------------------------------------- merging


def unsharded_command(words: Sequence[str]) -> tuple[str, ...]:
    """The run's command line without ``--shard I/K`` and the shard's ``--output``: the
    one run the merged results stand for."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in DROPPED_OPTIONS:
            skip = True
        elif not word.startswith(tuple(f"{o}=" for o in DROPPED_OPTIONS)):
            out.append(word)
    return tuple(out)


MACHINE_FIELDS = ("cpu_model", "cpu_count", "python_version", "protobuf_backend")


def _machine_warnings(shards: Sequence[ShardResults]) -> list[str]:
    warnings = []
    for name in MACHINE_FIELDS:
        seen = {_label(s.shard): getattr(s.results.environment, name) for s in shards}
        if len(set(seen.values())) > 1:
            each = ", ".join(f"{v!r} (shard {k})" for k, v in seen.items())
            warnings.append(
                f"the shards ran on different machines ({name}: {each}); speedups compare "
                "implementations on one machine, absolute times across hot paths do not"
            )
    return warnings


def merge(shards: Sequence[ShardResults], *, allow_partial: bool = False) -> Merged:
    """The results of one run of the whole plan, from its shards (see :func:`check`)."""
    if not shards:
        raise InputError("no shard directories given")
    missing = check(shards, allow_partial=allow_partial)
    ordered = sorted(shards, key=lambda s: s.shard.index)
    first = ordered[0].results
    plan_hotpaths = ordered[0].shard.plan_hotpaths
    by_name: dict[str, HotPathResult] = {hp.name: hp for s in ordered for hp in s.results.hotpaths}
    runs = [s.results.run for s in ordered]
    reasons = [
        f"shard {_label(s.shard)}: {s.results.run.reason}"
        for s in ordered
        if s.results.run.status != "complete"
    ]
    reasons += [f"shard {m} missing" for m in missing]
    finished = [r.finished_at for r in runs]
    run = RunInfo(
        mode=first.run.mode,
        status="partial" if reasons else "complete",
        reason="; ".join(reasons) if reasons else None,
        started_at=min(r.started_at for r in runs),
        finished_at=None if None in finished else max(f for f in finished if f is not None),
        wall_seconds=max(r.wall_seconds for r in runs),
        budget_seconds=max(r.budget_seconds for r in runs),
        profile=first.run.profile,
        memory=first.run.memory,
        envoy=any(r.envoy for r in runs),
        churn=any(r.churn for r in runs),
        hotpaths=plan_hotpaths,
        peak_rss_bytes=_max(r.peak_rss_bytes for r in runs),
        children_peak_rss_bytes=_max(r.children_peak_rss_bytes for r in runs),
        warnings=(
            *_machine_warnings(ordered),
            *(f"shard {_label(s.shard)}: {w}" for s in ordered for w in s.results.run.warnings),
        ),
        shard=None,
        merged_from=tuple(s.shard for s in ordered),
    )
    environment: Environment = replace(
        first.environment, command_line=unsharded_command(first.environment.command_line)
    )
    domains = [s.results.workload.domain for s in ordered if s.results.workload.domain]
    workload = replace(first.workload, domain=domains[0] if domains else None)
    envoy = next((s.results.envoy for s in ordered if s.results.envoy is not None), None)
    churn = next((s.results.churn for s in ordered if s.results.churn is not None), None)
    results = Results(
        schema_version=SCHEMA_VERSION,
        gwbench_version=first.gwbench_version,
        environment=environment,
        workload=workload,
        run=run,
        hotpaths=tuple(by_name[n] for n in plan_hotpaths if n in by_name),
        envoy=envoy,
        envoy_model=next(
            (s.results.envoy_model for s in ordered if s.results.envoy_model is not None), None
        ),
        churn=churn,
    )
    return Merged(results, missing)


def _max(values: Iterator[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# --------------------------------------------------------------------------- artefacts


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIPPED or not path.is_file() or path.is_symlink():
            continue
        yield rel


def copy_artefacts(shards: Sequence[ShardResults], out_dir: Path) -> None:
    """Copy each shard's artefacts (pyperf JSON, profiles, logs, Envoy output) to the same
    relative paths under ``out_dir``, so the merged results' links hold. Artefacts are per
    hot path and the shards' hot paths are disjoint; a run-level file that two shards both
    have (``logs/probe.log``) keeps the first shard's name, later ones get ``.shard-I``."""
    for s in sorted(shards, key=lambda s: s.shard.index):
        for rel in _files(s.directory):
            target = out_dir / rel
            if target.exists():
                target = target.with_name(f"{target.stem}.shard-{s.shard.index}{target.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s.directory / rel, target)


# --------------------------------------------------------------------------- command


@click.command(name="merge")
@click.argument(
    "directories", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
@options.output(
    click.Path(file_okay=False, path_type=Path),
    "Merged results directory (default ./gwbench-results/<timestamp>).",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Merge even when shards are missing; the merged results say partial and which.",
)
@options.as_json("Print what was merged as JSON.")
def command(
    directories: tuple[Path, ...], output: Path | None, allow_partial: bool, as_json: bool
) -> None:
    """Merge the results of `gwbench run --shard I/K` (one DIRECTORY per shard).

    Writes one results.json and report.html holding every hot path of the plan, as one
    unsharded run would, with each shard's pyperf JSON, profiles and logs copied beside
    them. Shards of different workloads (generator parameters, seed, N, sizes, the
    digest of your manifests), schema versions, code or modes are refused (exit 2), as are
    overlapping shards and, unless --allow-partial, missing ones.
    """
    shards = load_shards(directories)
    merged = merge(shards, allow_partial=allow_partial)
    out_dir = output if output is not None else runner.default_output_dir()
    if (out_dir / runner.RESULTS_FILE).exists():
        raise InputError("already holds results; choose another -o directory", file=str(out_dir))
    copy_artefacts(shards, out_dir)
    results_path = write_results(merged.results, out_dir / runner.RESULTS_FILE)
    report_path = out_dir / REPORT_FILE
    _, warning = reporting.write_report(merged.results, report_path)
    if warning:
        click.echo(f"gwbench: warning: {warning}", err=True)
    from gwbench.harness.summary_file import append_step_summary
    from gwbench.reports.markdown import render_markdown

    append_step_summary(render_markdown(merged.results))
    if as_json:
        click.echo(json.dumps(_document(merged, shards, results_path, report_path), indent=1))
        return
    from gwbench.reports.console import render_console

    for line in render_console(merged.results):
        click.echo(line)
    for text in merged.results.run.warnings:
        click.echo(f"gwbench: warning: {text}", err=True)
    if merged.missing:
        click.echo(
            f"gwbench: warning: partial: shard(s) {', '.join(merged.missing)} missing", err=True
        )
    click.echo(f"\nresults: {results_path}\nreport:  {report_path}")


def _document(
    merged: Merged, shards: Sequence[ShardResults], results: Path, report: Path
) -> dict[str, Any]:
    run = merged.results.run
    return {
        "schema_version": 1,
        "results": str(results),
        "report": str(report),
        "status": run.status,
        "reason": run.reason,
        "hotpaths": [hp.name for hp in merged.results.hotpaths],
        "shards": [
            {
                "index": s.shard.index,
                "count": s.shard.count,
                "directory": str(s.directory),
                "hotpaths": list(s.results.run.hotpaths),
            }
            for s in sorted(shards, key=lambda s: s.shard.index)
        ],
        "missing": list(merged.missing),
        "warnings": list(run.warnings),
    }
