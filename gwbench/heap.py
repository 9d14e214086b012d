"""The cyclic garbage collector paused while many small objects are built or unpickled
(a leaf module: the workload generator and the benchmark workers both use it)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects
    (unpickling millions of them with it on is ten times slower)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Every object alive now (a workload, its translation, a control plane's caches:
    millions at tens of thousands of Ingresses) moved out of the collector's reach until
    the block ends, so a collection triggered meanwhile does not scan them all: a pause of
    a second in the middle of a measured push or update would be the harness's, not the
    code's under test."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
