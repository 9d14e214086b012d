"""The replay file: timestamped changes, one a line, so a cluster's own history can be replayed.

Format (docs/churn.md)::

    # seconds  kind                target (optional)
    0.0        add
    1.25       change-path         shop/frontend
    1.30       rotate-certificate  shop/shop-example-com-tls
    2          delete

- ``seconds``: when the change reaches the control plane, from the start of the run; a
  number >= 0, never smaller than the line before;
- ``kind``: one of :data:`~gwbench.harness.churn.stream.KINDS`;
- ``target``: ``namespace/name`` of the Ingress the change hits (of the Secret for
  ``rotate-certificate``); none for the ``add`` kinds. Without it, the run's seed picks one.
- blank lines and everything after ``#`` are ignored.

A malformed line is an :class:`~gwbench.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from gwbench.errors import InputError
from gwbench.files import atomic_write_text
from gwbench.harness.churn.stream import KINDS, Arrival

ADD_KINDS = ("add", "add-custom")


def _error(path: str, line: int, message: str) -> InputError:
    return InputError(f"line {line}: {message}", file=path)


def parse_replay(lines: Iterable[str], path: str, seed: int = 0) -> list[Arrival]:
    """Arrivals of the replay text ``lines`` (``path`` names the file in errors)."""
    arrivals: list[Arrival] = []
    last = 0.0
    for number, raw in enumerate(lines, start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) > 3:
            raise _error(path, number, f"expected 'SECONDS KIND [TARGET]', got {raw.strip()!r}")
        try:
            at = float(fields[0])
        except ValueError:
            raise _error(path, number, f"time {fields[0]!r} is not a number") from None
        if not at >= 0 or at == float("inf"):
            raise _error(path, number, f"time {fields[0]} must be a finite number >= 0")
        if at < last:
            raise _error(path, number, f"time {fields[0]} is before the previous line's {last:g}")
        if len(fields) < 2:
            raise _error(path, number, "missing the change kind")
        kind = fields[1]
        if kind not in KINDS:
            raise _error(path, number, f"unknown change kind {kind!r}; known: {', '.join(KINDS)}")
        target = fields[2] if len(fields) == 3 else None
        if target is not None:
            if kind in ADD_KINDS:
                raise _error(path, number, f"{kind} takes no target, got {target!r}")
            namespace, sep, name = target.partition("/")
            if not sep or not namespace or not name or "/" in name:
                raise _error(path, number, f"target {target!r} is not NAMESPACE/NAME")
        arrivals.append(Arrival(at, kind, seed * 1_000_003 + number, target, number))
        last = at
    if not arrivals:
        raise InputError("holds no change", file=path)
    return arrivals


def load_replay(path: str | os.PathLike[str], seed: int = 0) -> list[Arrival]:
    """Arrivals of the replay file at ``path``; a missing or unreadable file is an input error."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the replay file: {exc}", file=name) from exc
    return parse_replay(text.splitlines(), name, seed)


def format_replay(arrivals: Sequence[Arrival]) -> str:
    """The replay text of ``arrivals`` (targets as given; generated arrivals have none)."""
    lines = ["# gwbench churn replay: seconds kind [namespace/name]"]
    for arrival in arrivals:
        fields = [f"{arrival.at:.6f}", arrival.kind]
        if arrival.target is not None:
            fields.append(arrival.target)
        lines.append(" ".join(fields))
    return "\n".join(lines) + "\n"


def write_replay(path: Path, arrivals: Sequence[Arrival]) -> Path:
    """Write ``arrivals`` as a replay file, atomically."""
    return atomic_write_text(path, format_replay(arrivals))
