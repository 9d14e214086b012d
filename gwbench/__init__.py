"""gwbench: benchmark, profile and gate the hot paths that make Kubernetes gateways slow at
tens of thousands of Ingresses.

One import package. Its subpackages keep the project's top-level folders (``workloads``,
``baselines``, ``optimized``, ``harness``, ``reports``): setuptools' ``package-dir``
installs them here, and in a source checkout the links in this folder (``gwbench/harness
-> ../harness``, ...) give the same names to the gate's worktrees, mypy and
``PYTHONPATH=.``.

Data flows one way: workloads -> baselines | optimized -> harness -> reports. The leaf
modules in this folder (errors, results, stats, scaling, verdicts, files, units, folded,
validation) may be imported by all of them; tests/test_layering.py keeps it so.
"""

__version__ = "0.2.0"
