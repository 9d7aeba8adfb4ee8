"""One run at a time per output folder: the ``.geosuff.lock`` file.

A run that writes an output folder holds an exclusive lock on ``<folder>/.geosuff.lock`` for
its whole length. The file says who holds it (process id, host, start time in UTC), so that a
second run into the same folder stops at once with :class:`~geosuff._errors.LockedError`
naming the first.

The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on that
file, not the file's existence: the system releases it when the holding process ends in any
way, including ``kill -9`` or a power cut, so a lock left by a dead process is stale by
construction and the next run takes it over (its pid, start time and host are then simply
overwritten). Two runs that find the same stale file cannot both take it over: the one that
loses the system lock gets the error.

Usage
-----
>>> with output_lock(out_dir):  # doctest: +SKIP
...     write_everything(out_dir)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from geosuff._errors import LockedError, UnsafeOutputError

logger = logging.getLogger(__name__)

__all__ = ["LOCK_NAME", "lock_holder", "output_lock"]

#: Name of the lock file inside the output folder.
LOCK_NAME = ".geosuff.lock"
#: Byte range locked on Windows (beyond the text, so that the text stays readable).
_WIN_OFFSET = 1 << 20


def _try_lock(f: IO[str]) -> bool:
    """Take the system's exclusive lock on ``f`` without waiting; False if another holds it."""
    try:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            f.seek(_WIN_OFFSET)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            f.seek(0)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def lock_holder(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``folder``'s lock file says about the run holding it (``pid``, ``host``,
    ``started``); empty if there is no readable lock file.
    """
    try:
        data = json.loads((Path(folder) / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _locked_error(path: Path) -> LockedError:
    who = lock_holder(path.parent)
    pid = who.get("pid", "unknown")
    host = who.get("host", "unknown host")
    started = who.get("started", "an unknown time")
    return LockedError(
        f"Another geosuff run (process {pid} on {host}, started {started}) is writing to "
        f"{path.parent}.",
        fix=(
            "Wait for it to finish, or give this run another output folder ([output] dir). "
            f"If no such run exists, delete {path} and try again."
        ),
    )


def _same_file(f: IO[str], path: Path) -> bool:
    """True if ``path`` still names the open file ``f`` (not removed or replaced meanwhile)."""
    try:
        return os.path.samestat(os.fstat(f.fileno()), os.stat(path))
    except OSError:
        return False


def _acquire(path: Path) -> IO[str]:
    """Open ``path`` and take its lock (retrying if the holder removed it meanwhile)."""
    for _ in range(20):
        try:  # never through a symbolic link (a planted link would have its target truncated)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            if path.is_symlink():
                raise UnsafeOutputError(
                    f"{path} is a symbolic link; geosuff does not write through links.",
                    fix=f"Delete the link {path} (it is not geosuff's) and run again.",
                ) from None
            raise err
        f = os.fdopen(fd, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
        if not _try_lock(f):
            f.close()
            raise _locked_error(path)
        if _same_file(f, path):
            return f
        f.close()  # the holder removed the file as we opened it: lock the new one
    raise _locked_error(path)


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``folder``'s lock (created with the folder if needed) while the block runs.

    Folders this call created are removed at the end if the block left them empty, so a run
    refused before it wrote anything leaves no trace.

    Parameters
    ----------
    folder : str or PathLike
        The output folder.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    LockedError
        If a live run holds the lock; its message names that run's process id, host and start
        time and says how to proceed.
    """
    path = Path(folder) / LOCK_NAME
    # the folders this call creates: removed again at the end if the run left them empty (a run
    # refused before writing anything leaves no trace)
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = lock_holder(folder)
    f = _acquire(path)
    if stale:
        logger.info("took over the lock of an ended run (process %s)", stale.get("pid"))
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    f.seek(0)
    f.truncate()
    f.write(json.dumps(info) + "\n")
    f.flush()
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the lock is released: a waiting run then locks a new file
        f.close()
        for d in created:  # deepest first; a folder holding anything stays
            with contextlib.suppress(OSError):
                d.rmdir()
