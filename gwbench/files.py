"""Writing files so that a reader, or a Ctrl-C, never sees half of one.

The one atomic write of gwbench: results, reports, artefacts and the messages workers send
back all go through :func:`atomic_write_bytes` (text through :func:`atomic_write_text`).
A temporary file in the target's directory is written, flushed to disk and renamed over
the target (``os.replace``, atomic on POSIX and Windows); on any failure it is removed
and the old file, if any, stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data``: readers see the old or the new file, whole.

    The directory is created when missing; the file gets the permissions a plain
    ``open(path, "w")`` would give it (0666 less the umask), not ``mkstemp``'s 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))
