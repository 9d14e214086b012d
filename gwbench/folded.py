"""The folded-stack model: py-spy's ``record --format raw`` output, in memory.

One line per distinct stack, ``root;caller;callee count`` (Brendan Gregg's folded format,
as ``flamegraph.pl`` and ``difffolded.pl`` in brendangregg/FlameGraph read it). A frame
py-spy took from Python code reads ``function (path/to/file.py:line)``; labels the harness
adds (the hot path's root, :data:`PREPARE_LABEL`) have no location.

Every flame graph, speedscope profile and differential flame graph of gwbench is drawn from
a :data:`Stacks` mapping built here: :func:`parse_folded` reads the text,
:func:`hot_stacks` keeps the samples under the harness's profiling frames, :func:`merge`
adds profiles up, :func:`total` counts samples, :func:`to_folded` writes the text back.
All of it is O(total frames).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Stack = tuple[str, ...]
Stacks = dict[Stack, int]
"""Stack (root first) -> number of samples."""

PREPARE_LABEL = "[prepare: fresh inputs, not timed]"
"""Where samples spent building fresh inputs go (under the hot path's root): not part of a
call, never timed."""

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


class FoldedStackError(ValueError):
    """A line of a folded-stack file is malformed."""


@dataclass(frozen=True)
class Frame:
    """One frame, split: ``build (optimized/gateway_lookup.py:30)`` -> name ``build``, file
    ``optimized/gateway_lookup.py``, line 30. A label has neither file nor line."""

    name: str
    file: str | None = None
    line: int | None = None


def split_frame(frame: str) -> Frame:
    m = _FRAME.match(frame)
    if m is None:
        return Frame(frame)
    return Frame(m["name"], m["file"], int(m["line"]) if m["line"] is not None else None)


def is_code_frame(frame: str) -> bool:
    """Whether py-spy took ``frame`` from code (it has a location), not a harness label."""
    return _FRAME.match(frame) is not None


def parse_folded(source: str | Iterable[str], *, strict: bool = True) -> Stacks:
    """``frame;frame;frame count`` lines -> stack -> samples (repeated stacks add up).

    Blank lines and samples without a stack are skipped. A line whose last field is not
    a non-negative integer raises :class:`FoldedStackError` naming the line, or is
    skipped when ``strict`` is false (py-spy's raw output of a process it lost track of)."""
    lines = source.splitlines() if isinstance(source, str) else source
    stacks: Stacks = {}
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        stack_text, sep, count_text = line.rpartition(" ")
        if not sep or not count_text.isdigit():
            if strict:
                raise FoldedStackError(
                    f"line {lineno}: expected 'frame;frame count', got {line!r}"
                )
            continue
        stack = tuple(f for f in stack_text.split(";") if f)
        if stack:
            stacks[stack] = stacks.get(stack, 0) + int(count_text)
    return stacks


def to_folded(stacks: Mapping[Stack, int]) -> str:
    """The folded text of ``stacks``, one line per stack, sorted."""
    return "".join(f"{';'.join(s)} {n}\n" for s, n in sorted(stacks.items()))


def merge(*profiles: Mapping[Stack, int]) -> Stacks:
    """The samples of every profile together."""
    out: Stacks = {}
    for stacks in profiles:
        for stack, count in stacks.items():
            out[stack] = out.get(stack, 0) + count
    return out


def total(stacks: Mapping[Stack, int]) -> int:
    """Number of samples."""
    return sum(stacks.values())


def hot_stacks(
    stacks: Mapping[Stack, int], call_frame: str, prepare_frame: str | None, root: str
) -> Stacks:
    """The samples of a profiled worker that belong to the hot path.

    Stacks under the function ``call_frame`` are re-rooted at ``root``; those under
    ``prepare_frame`` go under ``root`` / :data:`PREPARE_LABEL`; everything else
    (interpreter start-up, imports, building the workload) is dropped."""
    out: Stacks = {}
    call_prefix = call_frame + " ("
    prepare_prefix = None if prepare_frame is None else prepare_frame + " ("
    for stack, count in stacks.items():
        new: Stack | None = None
        for i, frame in enumerate(stack):
            if frame.startswith(call_prefix):
                new = (root, *stack[i + 1 :])
                break
            if prepare_prefix is not None and frame.startswith(prepare_prefix):
                new = (root, PREPARE_LABEL, *stack[i + 1 :])
                break
        if new is not None:
            out[new] = out.get(new, 0) + count
    return out
