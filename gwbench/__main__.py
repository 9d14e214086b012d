"""``python -m gwbench``: the command line."""

from gwbench.harness.cli import main

main()
