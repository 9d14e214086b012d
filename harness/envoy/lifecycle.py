"""``Stoppable``: the context-manager shape shared by Envoy, its driver and the control plane.

Entering starts the resource; if starting fails it is stopped again before the error
propagates, and leaving the ``with`` block always stops it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Stoppable(ABC):
    """A resource started on ``__enter__`` and stopped on every way out."""

    @abstractmethod
    def _begin(self) -> object:
        """Start the resource (called by ``__enter__``)."""

    @abstractmethod
    def _end(self) -> object:
        """Stop the resource; safe to call when starting failed half-way."""

    def __enter__(self) -> Self:
        try:
            self._begin()
        except BaseException:
            self._end()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end()
