"""Folded stacks to a speedscope profile (https://www.speedscope.app/file-format-schema.json).

A "sampled" profile whose weights are seconds: each sample weighs the sampling interval
(py-spy samples at a fixed rate), so speedscope's time axis and its "self" and "total"
columns read in seconds, as the flame graphs' hover titles do in samples. Frames keep
py-spy's function, file and line. Pure: stacks in, JSON text out; O(total frames).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from gwbench.folded import Stack, split_frame, total

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def render_speedscope(stacks: Mapping[Stack, int], *, name: str, seconds_per_sample: float) -> str:
    """The speedscope JSON of ``stacks``, each sample weighing ``seconds_per_sample``."""
    frames: list[dict[str, object]] = []
    index: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[float] = []
    for stack, count in sorted(stacks.items()):
        ids = []
        for frame in stack:
            if frame not in index:
                index[frame] = len(frames)
                parts = split_frame(frame)
                entry: dict[str, object] = {"name": parts.name}
                if parts.file is not None:
                    entry["file"] = parts.file
                if parts.line is not None:
                    entry["line"] = parts.line
                frames.append(entry)
            ids.append(index[frame])
        samples.append(ids)
        weights.append(count * seconds_per_sample)
    doc = {
        "$schema": SCHEMA,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "seconds",
                "startValue": 0,
                "endValue": total(stacks) * seconds_per_sample,
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": "gwbench",
    }
    return json.dumps(doc, separators=(",", ":"))
