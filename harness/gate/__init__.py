"""The pull-request regression gate (docs/gate.md): ``gwbench gate``.

The pipeline, one module per step:

- :mod:`~harness.gate.worktree`: resolve the refs, the merge base, check both out;
- :mod:`~harness.gate.sides` and :mod:`~harness.gate.driver`: run each side's own code in
  fresh processes rooted in its worktree (the side protocol);
- :mod:`~harness.gate.protocol`: the sides' answers as typed records;
- :mod:`~harness.gate.rounds`: ABBA / BAAB interleaving and the per-round log-ratios;
- :mod:`~harness.gate.sequential`: more rounds for the rows that cannot yet say, up to a
  cap;
- :mod:`~harness.gate.checks`: equivalence, counters, scaling, wall time; verdicts;
- :mod:`~harness.gate.thresholds`: ``ci/thresholds.toml``;
- :mod:`~harness.gate.engine`: the orchestration;
- :mod:`~harness.gate.report`, :mod:`~harness.gate.sideresults`: ``gate.json`` (the
  document :mod:`reports.gate_summary` and :mod:`reports.gate_html` render) and the
  per-side ``results.json``.
"""
