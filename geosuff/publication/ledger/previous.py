"""Disclosure across runs: the ``disclosure.json`` a run publishes, and reading earlier ones.

A council publishes one review a year, and a region may publish its councils' reviews side by
side. A figure of this run with the same *definition* as a figure an earlier publication showed
(``"<table>: <row / column>"``, with the year in the definition of a trend row) must not differ
from it by 1 to ``min_count - 1``: a reader who subtracts the two would learn a small count of
children. With ``[disclosure] previous``, such a figure is withheld and audited like a small
figure (:meth:`~geosuff.publication.ledger.core.Ledger.compare_with`).

``disclosure.json`` holds, for the run's council, every figure the run published, by
definition, as published: a count or ``"c"``. It holds nothing that the published tables do not
show already: no child id, no record, no membership of any figure, no true value of a withheld
one; it goes through the same published-file check as the tables. A withheld (``"c"``) figure
of an earlier publication is not compared: that run's audit kept it from being worked out.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from geosuff._errors import NotAnOutputFolderError
from geosuff._io import atomic_write_text
from geosuff.config.safety import previous_outputs
from geosuff.publication import disclosure as dc
from geosuff.publication.ledger.core import Ledger

logger = logging.getLogger(__name__)

#: The file, in a run's output folder.
DISCLOSURE_FILE = "disclosure.json"
#: Its format (changed only with a new reader).
FORMAT = "geosuff-disclosure/1"


def record(led: Ledger, *, council: str, reference_date: Any, synthetic: bool) -> dict[str, Any]:
    """The ``disclosure.json`` content of a solved ledger (published figures by definition)."""
    figures: dict[str, str] = {}
    for h in range(len(led.members)):
        if led.kind[h] not in (dc.EXACT, dc.FORCED):
            continue
        text = led.text(h)
        for definition in led.definitions(h):
            figures[definition] = text
    return {
        "format": FORMAT,
        "council": council,
        "reference_date": None if reference_date is None else str(reference_date),
        "synthetic": bool(synthetic),
        "min_count": led.min_count,
        "note": (
            "Published figures of this run by definition (a count, or c where withheld); "
            "read by later runs' [disclosure] previous. No child-level data."
        ),
        "figures": dict(sorted(figures.items())),
    }


def write_record(
    path: Path, led: Ledger, *, council: str, reference_date: Any, synthetic: bool
) -> Path:
    """Write ``disclosure.json`` (see :func:`record`) to ``path``."""
    data = record(led, council=council, reference_date=reference_date, synthetic=synthetic)
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=False) + "\n")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_record(folder: Path) -> dict[str, Any]:
    """One output folder's ``disclosure.json``, checked against its ``manifest.json``.

    Raises
    ------
    NotAnOutputFolderError
        If the files are not geosuff's, not of this format, or changed since the run.
    """
    fix = (
        "Give the output folder of a complete geosuff run as it was written (run that review "
        "again if its files were changed)."
    )
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        data = json.loads((folder / DISCLOSURE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NotAnOutputFolderError(
            f"[disclosure] previous: {folder} has no readable manifest.json and "
            f"{DISCLOSURE_FILE} ({err}).",
            fix=fix,
        ) from None
    if not (isinstance(manifest, dict) and "geosuff_version" in manifest):
        raise NotAnOutputFolderError(
            f"[disclosure] previous: {folder / 'manifest.json'} was not written by geosuff.",
            fix=fix,
        )
    if not (isinstance(data, dict) and data.get("format") == FORMAT):
        raise NotAnOutputFolderError(
            f"[disclosure] previous: {folder / DISCLOSURE_FILE} is not a geosuff disclosure "
            f"record of format {FORMAT}.",
            fix=fix,
        )
    want = (manifest.get("files_sha256") or {}).get(DISCLOSURE_FILE)
    if want is None or want != _sha256(folder / DISCLOSURE_FILE):
        raise NotAnOutputFolderError(
            f"[disclosure] previous: {folder / DISCLOSURE_FILE} does not match the sha256 in "
            "that run's manifest.json (changed, or from another run).",
            fix=fix,
        )
    return data


def load_previous(folders: list[Path], *, council: str) -> dict[str, list[int]]:
    """The figures earlier publications showed for ``council``: definition -> counts.

    Parameters
    ----------
    folders : list of Path
        ``[disclosure] previous``: output folders, or folders of them (a region's).
    council : str
        This run's council: only its figures are compared (other councils count other children).
    """
    out: dict[str, list[int]] = {}
    n = 0
    for given in folders:
        for folder in previous_outputs(Path(given)):
            data = read_record(folder)
            if str(data.get("council")) != council:
                continue
            n += 1
            figures = data.get("figures") or {}
            if not isinstance(figures, dict):
                raise NotAnOutputFolderError(
                    f"[disclosure] previous: {folder / DISCLOSURE_FILE} has no figures table.",
                    fix="Give the output folder of a complete geosuff run.",
                )
            for definition, text in figures.items():
                if isinstance(text, str) and text.isdigit():
                    out.setdefault(str(definition), []).append(int(text))
    if folders and not n:
        logger.warning(
            "[disclosure] previous: no earlier publication of %s in %s; nothing to compare",
            council,
            ", ".join(str(f) for f in folders),
        )
    else:
        logger.info("disclosure: compared with %d earlier publication(s) of %s", n, council)
    return out
