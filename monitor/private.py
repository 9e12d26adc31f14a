"""Files only their owner can read: the history store, reports and rejects files hold complaint data.

Files are created with mode 0600 from the start (``os.open`` with that mode, never a chmod after
the data is in), whatever the process umask. SQLite gives its ``-wal`` and ``-shm`` files the mode
of the database file, so creating the database file here is enough for all three.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

OWNER_ONLY = 0o600


def create_private(path: Path | str) -> bool:
    """Create ``path`` empty with mode 0600 if it does not exist; True if this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def open_private(path: Path | str, mode: str = "w", **options: Any) -> IO[Any]:
    """``open(path, mode, **options)`` for writing a new or truncated file with mode 0600.

    An existing file is truncated and its mode narrowed to 0600 before anything is written.
    """
    if not mode.startswith(("w", "x")):
        raise ValueError(f"open_private writes files; mode {mode!r} is not w or x")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_EXCL if mode.startswith("x") else 0)
    fd = os.open(path, flags, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)
        return os.fdopen(fd, mode.replace("x", "w"), **options)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` (created or truncated) with mode 0600."""
    with open_private(path, "wb") as f:
        f.write(data)


def narrow(path: Path | str) -> None:
    """Take group and other permissions off an existing file we own (a store created before 0600)."""
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except OSError:
        pass  # not ours, or gone: nothing to narrow


def private_database(path: Path) -> None:
    """A SQLite database file (and so its -wal and -shm, which SQLite creates with its mode) readable by its
    owner only: a new file is created 0600 before SQLite opens it; an older, wider one is narrowed."""
    if not create_private(path):
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                narrow(file)
