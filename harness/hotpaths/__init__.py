"""Registration of the built-in hot paths (specification: docs/hotpaths.md).

One module per hot path, imported in pipeline order; importing a module registers it.
Each wires a baseline module and its optimized twin (same module name under ``baselines/``
and ``optimized/``) into :mod:`harness.registry`.
"""

from __future__ import annotations

import importlib

PIPELINE = (
    "gateway_lookup",
    "envoyfilter_patch",
    "filterchain_hash",
    "listener_update",
    "ingress_update",
)

for _name in PIPELINE:
    importlib.import_module(f"gwbench.harness.hotpaths.{_name}")
