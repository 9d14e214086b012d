"""Layering: no import goes against workloads -> baselines | optimized -> harness -> reports.

Every module of the package is parsed (ast, nothing imported) and each of its imports is
classified: ``import``/``from ... import`` statements anywhere in the file (functions and
``TYPE_CHECKING`` blocks included, relative imports resolved) and
``importlib.import_module("literal")`` calls, which hide an import from a reader as well.

What each layer may import, besides the standard library, third-party packages and
itself:

- the leaf modules in ``gwbench/`` (errors, results, stats, scaling, verdicts, files, heap,
  units, folded, validation): other leaf modules only; every layer may import them;
- ``workloads``: nothing else;
- ``baselines`` and ``optimized``: ``workloads`` (never each other: a baseline and its twin
  are compared, not shared);
- ``harness``: ``workloads``, ``baselines``, ``optimized``;
- ``reports``: nothing else: renderers get loaded data from their caller;
- the command line (``harness/cli.py``, ``harness/commands/``, and ``harness/reporting.py``,
  the commands' side of rendering: it loads artefacts and writes what the renderers return)
  is where loaded results meet the renderers, so it may also import ``reports``, as the
  ``gwbench`` entry points (``gwbench/__init__.py``, ``gwbench/__main__.py``) may import
  anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("workloads", "baselines", "optimized", "harness", "reports")
LEAVES = frozenset(
    p.stem for p in (ROOT / "gwbench").glob("*.py") if p.stem not in ("__init__", "__main__")
)
ENTRY_POINTS = frozenset({"gwbench", "gwbench.__main__"})
COMMAND_LINE = ("gwbench.harness.cli", "gwbench.harness.commands", "gwbench.harness.reporting")

MAY_IMPORT: dict[str, frozenset[str]] = {
    "leaf": frozenset(),
    "workloads": frozenset(),
    "baselines": frozenset({"workloads"}),
    "optimized": frozenset({"workloads"}),
    "harness": frozenset({"workloads", "baselines", "optimized"}),
    "reports": frozenset(),
}

ALLOWED: dict[tuple[str, str], str] = {
    # Only files other engineers are rewriting right now may stand here, each with why.
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} (line {self.line})"


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[0] != "gwbench":
        parts.insert(0, "gwbench")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files() -> list[Path]:
    files = sorted((ROOT / "gwbench").glob("*.py"))
    for layer in LAYERS:
        files += sorted((ROOT / layer).rglob("*.py"))
    return files


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    name = module_name(path, root)
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # ``from gwbench import folded`` imports the module gwbench.folded
                yield Import(name, f"{base}.{alias.name}", node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(name, node.args[0].value, node.lineno)


def layer_of(module: str) -> str | None:
    """The layer a ``gwbench`` module belongs to; ``None`` outside the package."""
    parts = module.split(".")
    if parts[0] != "gwbench" or len(parts) == 1:
        return None
    if parts[1] in LAYERS:
        return parts[1]
    if parts[1] in LEAVES:
        return "leaf"
    return None


def against_the_flow(importer: str, imported: str) -> bool:
    if importer in ENTRY_POINTS:
        return False
    source, target = layer_of(importer), layer_of(imported)
    if source is None or target is None or target in (source, "leaf"):
        return False
    if target == "reports" and importer.startswith(COMMAND_LINE):
        return False
    return target not in MAY_IMPORT[source]


def violations() -> list[Import]:
    return [
        imp
        for path in package_files()
        for imp in imports_of(path)
        if against_the_flow(imp.importer, imp.imported)
    ]


def test_no_import_goes_against_the_data_flow() -> None:
    # GIVEN every module of the package WHEN its imports are classified by layer
    against = [v for v in violations() if (v.importer, v.imported) not in ALLOWED]
    # THEN none goes against workloads -> baselines | optimized -> harness -> reports
    assert against == [], "imports against the data flow:\n" + "\n".join(map(str, against))


def test_the_allow_list_holds_only_what_is_still_there() -> None:
    seen = {(v.importer, v.imported) for v in violations()}
    stale = sorted(set(ALLOWED) - seen)
    assert stale == [], f"no longer needed, remove from ALLOWED: {stale}"


@pytest.mark.parametrize(
    ("importer", "imported", "against"),
    [
        ("gwbench.workloads.generate", "gwbench.harness.errors", True),
        ("gwbench.baselines.x", "gwbench.optimized.x", True),
        ("gwbench.reports.flamediff", "gwbench.harness.flamegraph", True),
        ("gwbench.harness.reporting", "gwbench.reports.html", False),
        ("gwbench.harness.runner", "gwbench.reports.html", True),
        ("gwbench.results", "gwbench.harness.registry", True),
        ("gwbench.harness.commands.report", "gwbench.reports.html", False),
        ("gwbench.harness.runner", "gwbench.workloads.model", False),
        ("gwbench.optimized.x", "gwbench.workloads.model", False),
        ("gwbench.reports.html", "gwbench.folded.parse_folded", False),
        ("gwbench.workloads.model", "gwbench.errors", False),
        ("gwbench.harness.cli", "click", False),
    ],
)
def test_what_goes_against_the_flow(importer: str, imported: str, against: bool) -> None:
    assert against_the_flow(importer, imported) is against


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from gwbench.harness.errors import InputError\n", ["gwbench.harness.errors.InputError"]),
        ("from ..harness import registry\n", ["gwbench.harness.registry"]),
        ("import importlib\nimportlib.import_module('gwbench.reports.html')\n", None),
        ("def f():\n    from gwbench.reports import view\n", ["gwbench.reports.view"]),
    ],
)
def test_the_walk_sees_every_kind_of_import(
    tmp_path: Path, source: str, expected: list[str] | None
) -> None:
    # GIVEN a module of workloads/ written in one of the ways an import can hide
    module = tmp_path / "workloads" / "sneaky.py"
    module.parent.mkdir()
    module.write_text(source, encoding="utf-8")
    # WHEN its imports are read THEN the one against the flow is there
    found = [i for i in imports_of(module, tmp_path) if layer_of(i.imported) is not None]
    assert {i.importer for i in found} == {"gwbench.workloads.sneaky"}
    assert [i.imported for i in found] == (expected or ["gwbench.reports.html"])
