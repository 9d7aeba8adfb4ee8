"""Atomic output files: write to a temporary file in the same folder, then rename over the target.

A run that is interrupted (Ctrl-C, crash, full disk) therefore never leaves a half-written CSV,
report or GeoPackage behind: readers see either the previous complete file or the new complete
file. ``os.replace`` is atomic on POSIX and Windows when source and target are on the same file
system, which is why the temporary file is created next to the target, not in ``/tmp``.

Usage
-----
>>> from geosuff.io import atomic_path, atomic_write_text
>>> atomic_write_text("out/report.txt", "hello\\n")  # doctest: +SKIP
>>> with atomic_path("out/areas.gpkg") as tmp:      # doctest: +SKIP
...     gdf.to_file(tmp, driver="GPKG")
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


def _umask() -> int:
    # os.umask can only be read by setting it; restore immediately.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Flush the directory entry so the rename survives a power cut (POSIX only)."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open directories
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. some network file systems
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces ``path`` when the block succeeds.

    The temporary file keeps the target's suffix (``.gpkg``, ``.tif``, ``.csv`` ...) so that
    writers which pick a driver from the extension (pyogrio, rasterio) behave as for the target.
    The target's folder is created if needed. If the block raises, the temporary file is removed
    and the target is left untouched.

    Parameters
    ----------
    path : str or PathLike
        The final file.
    fsync : bool, keyword-only, default True
        Flush the temporary file and the folder entry to disk before/after the rename.

    Yields
    ------
    Path
        Where to write. The file exists (empty) when the block starts; writers that refuse to
        overwrite may delete it first.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=folder
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file for {target.name}")
        if fsync and tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        # mkstemp creates files readable by the owner only; give the output ordinary permissions
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        if fsync:
            _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    logger.debug("wrote %s atomically", target)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder + rename).

    Returns the target path.
    """
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return target


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = "\n",
    fsync: bool = True,
) -> Path:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        The final file.
    text : str
        The content.
    encoding : str, keyword-only, default "utf-8"
        Text encoding.
    newline : str or None, keyword-only, default "\\n"
        Line endings written for ``"\\n"`` in ``text``; the default ``"\\n"`` writes the text
        unchanged on every platform so that reruns are byte-identical across machines.
    fsync : bool, keyword-only, default True
        Flush to disk before the rename.

    Returns
    -------
    Path
        The target path.
    """
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        with open(tmp, "w", encoding=encoding, newline=newline) as fh:
            fh.write(text)
    return target
