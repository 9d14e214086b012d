"""Test doubles for the harness: a fake workload generator and the installation of the toy
hot paths of fake_hotpaths.py (in this process and in benchmark worker processes)."""

from __future__ import annotations

import os
import sys

import pytest
from kubernetes.client import V1Ingress, V1ObjectMeta

from gwbench.workloads.model import Workload, WorkloadSpec

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
MODULE = "fake_hotpaths"


def fake_workload(spec: WorkloadSpec) -> Workload:
    """N minimal Ingresses (only names), made instantly and deterministically."""
    ingresses = [
        V1Ingress(metadata=V1ObjectMeta(name=f"ing-{spec.seed}-{i}", namespace="ns-test"))
        for i in range(spec.ingresses)
    ]
    return Workload(ingresses=ingresses, secrets=[], spec=spec, source="generated")


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the toy hot paths for one test, here and in worker processes.

    The registry is swapped for a copy (restored after the test), the module is imported
    afresh through GWBENCH_EXTRA_HOTPATHS, and generated workloads come from
    :func:`fake_workload`.
    """
    from gwbench.harness import registry, sources

    registry.all_hotpaths()  # built-ins registered before the registry is copied
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    monkeypatch.syspath_prepend(TESTS_DIR)
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", TESTS_DIR + (os.pathsep + path if path else ""))
    monkeypatch.setenv(registry.EXTRA_HOTPATHS_ENV, MODULE)
    monkeypatch.setattr(sources, "generate_workload", fake_workload)
    registry.all_hotpaths()
