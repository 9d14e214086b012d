"""pyproject.toml declares what gwbench imports, and caps nothing without a reason."""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from tests.test_layering import ROOT, imports_of, package_files

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
FIRST_PARTY = {"gwbench", "tests", "gwbench_kernel"}
"""``gwbench_kernel``: the kernel as the gate copies it beside its side driver."""
LINTERS = ("ruff", "mypy")


@functools.cache
def _owners() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _distributions(paths: list[Path]) -> dict[str, set[str]]:
    """Distribution -> the modules that import one of its top-level names."""
    owners = _owners()
    local = FIRST_PARTY | {p.stem for p in paths}
    needed: dict[str, set[str]] = {}
    for path in paths:
        for imp in imports_of(path):
            top = imp.imported.split(".")[0]
            if not top or top in local or top in sys.stdlib_module_names:
                continue
            for dist in owners.get(top, [top]):
                needed.setdefault(_name(dist), set()).add(imp.importer)
    return needed


def _declared(requirements: list[str]) -> set[str]:
    return {_name(r) for r in requirements}


def test_every_package_gwbench_imports_is_a_dependency() -> None:
    # GIVEN what the package's modules import (the walk of tests/test_layering.py)
    needed = _distributions(package_files())
    declared = _declared(PROJECT["dependencies"])
    # THEN each third-party distribution is declared (google.* and envoy.* names are
    # shared by several distributions: one of them declared is enough)
    owners = _owners()
    shared = {_name(d) for names in owners.values() if len(names) > 1 for d in names}
    missing = {d: sorted(m)[:3] for d, m in needed.items() if d not in declared}
    missing = {d: m for d, m in missing.items() if not (d in shared and declared & shared)}
    assert missing == {}


def test_every_package_the_tests_import_is_declared() -> None:
    tests = sorted((ROOT / "tests").glob("*.py"))
    needed = _distributions(tests)
    declared = _declared(PROJECT["dependencies"]) | _declared(
        PROJECT["optional-dependencies"]["test"]
    )
    assert sorted(set(needed) - declared) == []


def test_no_upper_caps_and_the_linters_pinned_exactly() -> None:
    capped = [r for r in PROJECT["dependencies"] if "<" in r]
    assert capped == [], "an upper cap needs a release known to break gwbench"
    test_extra = {_name(r): r for r in PROJECT["optional-dependencies"]["test"]}
    for linter in LINTERS:
        installed = importlib.metadata.version(linter)
        assert test_extra[linter] == f"{linter}=={installed}"


def test_one_top_level_import_package() -> None:
    packages = PYPROJECT["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} == {"gwbench"}
