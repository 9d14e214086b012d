"""Errors the CLI turns into messages and exit codes (never a traceback for user mistakes).

Exit codes, shared by every command: 0 success, 1 a finding (equivalence mismatch,
regression), 2 usage or input error, 3 harness failure.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_USAGE = 2
EXIT_HARNESS = 3


class GwbenchError(Exception):
    """Base class: a message for the user and the exit code that goes with it."""

    exit_code = EXIT_HARNESS


class InputError(GwbenchError):
    """The user's input is wrong. Names the file, the document index and the field."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        document: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.document = document
        self.field = field
        where = []
        if file is not None:
            where.append(file)
        if document is not None:
            where.append(f"document {document}")
        if field is not None:
            where.append(f"field {field}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)


class EquivalenceError(GwbenchError):
    """Two implementations of a hot path disagree."""

    exit_code = EXIT_FINDING

    def __init__(self, hotpath: str, expected: str, actual: str, difference: str) -> None:
        self.hotpath = hotpath
        self.expected_impl = expected
        self.actual_impl = actual
        self.difference = difference
        super().__init__(f"hot path {hotpath}: {actual} differs from {expected}: {difference}")


class HarnessError(GwbenchError):
    """Something in gwbench or its environment failed (not the user's input)."""

    exit_code = EXIT_HARNESS
