"""Generators of test data: messy SSDA903 cohorts with known faults (SYNTHETIC)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geosuff.inputs import (
    DEMO_POSTCODES,
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# A messy cohort, for tests and benchmarks
# ----------------------------------------------------------------------------------------------
#: Reference date the messy cohort's dates are built around.
MESSY_REFERENCE_DATE = dt.date(2025, 3, 31)

#: Real postcodes outside Rutland used as placement postcodes (ONSPD Nov 2025 resolves them).
OTHER_POSTCODES = (
    "LE13 0AA",
    "PE9 1AA",
    "PE1 1AA",
    "NN17 1AA",
    "B1 1AA",
    "NG31 6AA",
    "LE1 1AA",
    "CB1 1AA",
    "SA1 1AA",
    "EH1 1AA",
)

#: Fault name -> (probability weight, expected status). "clean" rows carry no fault.
MESSY_FAULTS: dict[str, tuple[float, str]] = {
    "clean": (60.0, STATUS_USED),
    "postcode_case_space": (4.0, STATUS_USED),
    "postcode_nbsp": (1.0, STATUS_USED),
    "postcode_malformed": (2.0, STATUS_USED),
    "postcode_placeholder": (1.0, STATUS_USED),
    "postcode_unknown": (2.0, STATUS_USED),
    "postcode_missing": (3.0, STATUS_USED),
    "postcode_pseudo": (1.0, STATUS_USED),
    "postcode_incomplete": (1.0, STATUS_USED),
    "postcode_typo_O": (1.5, STATUS_ESTIMATE),
    "postcode_in_address": (0.5, STATUS_ESTIMATE),
    "postcode_excel_error": (0.5, STATUS_USED),
    "place_unknown": (1.5, STATUS_USED),
    "place_blank": (0.5, STATUS_USED),
    "place_lowercase": (1.0, STATUS_USED),
    "child_missing": (1.0, STATUS_USED),
    "duplicate_exact": (1.5, STATUS_EXCLUDED),
    "duplicate_earlier_episode": (1.5, STATUS_EXCLUDED),
    "duplicate_conflict": (1.0, STATUS_EXCLUDED),
    "dob_us": (1.0, STATUS_ESTIMATE),
    "dob_excel_serial": (0.5, STATUS_ESTIMATE),
    "dob_iso": (1.0, STATUS_USED),
    "dob_two_digit_year": (1.0, STATUS_USED),
    "dob_invalid": (0.5, STATUS_USED),
    "dob_text": (0.5, STATUS_USED),
    "dob_future": (0.5, STATUS_USED),
    "dob_too_old": (0.5, STATUS_EXCLUDED),
    "uasc_invalid": (0.5, STATUS_USED),
    "decom_invalid": (0.5, STATUS_USED),
    "blank_row": (0.5, STATUS_EXCLUDED),
}


@cache
def _rutland_postcodes() -> tuple[str, ...]:
    df = pd.read_csv(DEMO_POSTCODES, dtype=str, usecols=["postcode"])
    pc = df["postcode"].str.replace(" ", "", regex=False)
    return tuple(sorted(set(pc.str[:-3] + " " + pc.str[-3:])))


def _england_postcodes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` English postcodes with a grid reference drawn at random from the packaged ONSPD
    (about 2.2 million; loads every letter of it).
    """
    from geosuff.inputs.postcodes import _onspd_letter

    keys = []
    for letter in "ABCDEFGHIJKLMNOPRSTUWYZ":
        tab = _onspd_letter(letter)
        if tab is None:
            continue
        eng = np.char.startswith(tab.ltla_names.astype(str), "E")[tab.ltla]
        ok = eng & np.isfinite(tab.easting) & (tab.northing > 1)
        keys.append(tab.keys[ok])
    allk = np.concatenate(keys)
    pick = allk[rng.integers(0, len(allk), n)]
    return np.array([f"{k[:-3]} {k[-3:]}" for k in (b.decode() for b in pick)], dtype=object)


def make_messy_cohort(  # noqa: C901
    n: int, seed: int, *, postcodes: str | Sequence[str] = "rutland", fault_share: float = 0.4
) -> pd.DataFrame:
    """A placements table (as text, like a CSV export) with the faults councils' exports have.

    Parameters
    ----------
    n : int
        Number of data rows (blank and duplicate rows included).
    seed : int
        Random seed: the same (n, seed, postcodes, fault_share) gives the same table.
    postcodes : "rutland", "england" or sequence of str, keyword-only
        Real postcodes for homes and placements: "rutland" (the shipped Code-Point Open file, plus
        a few real postcodes elsewhere in England and in Wales/Scotland for placements, resolved
        by the packaged ONSPD), "england" (every English postcode in the packaged ONSPD; loads all
        of it), or your own list.
    fault_share : float, keyword-only, default 0.4
        Share of rows given a fault (the rest are clean).

    Returns
    -------
    DataFrame
        Text columns ``CHILD``, ``DOB``, ``UASC``, ``DECOM``, ``PLACE``, ``HOME_POST``,
        ``PL_POST``, ``URN``. ``df.attrs["fault"]`` (list of str) names each row's fault and
        ``df.attrs["expected_status"]`` (list of str) the status :func:`load_placements` must give
        it (see :data:`MESSY_FAULTS`); ``df.attrs["reference_date"]`` is
        :data:`MESSY_REFERENCE_DATE`.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    if isinstance(postcodes, str):
        if postcodes == "rutland":
            homes = _rutland_postcodes()
            places = homes + OTHER_POSTCODES
        elif postcodes == "england":
            homes = places = tuple(_england_postcodes(max(2 * n, 1000), rng))
        else:
            raise ValueError("postcodes must be 'rutland', 'england' or a list of postcodes")
    else:
        homes = places = tuple(postcodes)
    known = set(homes) | set(places)
    ref = MESSY_REFERENCE_DATE
    codes = [
        "U1",
        "U3",
        "U4",
        "U5",
        "U6",
        "K2",
        "H5",
        "P2",
        "P1",
        "A4",
        "S1",
        "R1",
        "Z1",
        "K1",
        "T4",
    ]
    code_w = np.array([4, 10, 20, 3, 25, 10, 8, 4, 5, 3, 2, 1, 2, 1, 2], dtype=float)

    home = np.asarray(homes, dtype=object)[rng.integers(0, len(homes), n)]
    plc = np.asarray(places, dtype=object)[rng.integers(0, len(places), n)]
    place = rng.choice(codes, size=n, p=code_w / code_w.sum()).astype(object)
    age_days = rng.integers(30, int(17.9 * 365.25), n)
    dob = [ref - dt.timedelta(days=int(a)) for a in age_days]
    decom = [
        ref - dt.timedelta(days=int(rng.integers(1, max(2, min(int(a), 900))))) for a in age_days
    ]
    rows: list[dict[str, str]] = [
        {
            "CHILD": f"C{seed % 10000:04d}{i + 1:07d}",
            "DOB": dob[i].strftime("%d/%m/%Y"),
            "UASC": str(int(rng.random() < 0.06)),
            "DECOM": decom[i].strftime("%d/%m/%Y"),
            "PLACE": str(place[i]),
            "HOME_POST": str(home[i]),
            "PL_POST": str(plc[i]),
            "URN": "",
        }
        for i in range(n)
    ]
    names = list(MESSY_FAULTS)
    w = np.array([MESSY_FAULTS[k][0] for k in names], dtype=float)
    w[0] = 0.0
    faulty = rng.random(n) < fault_share
    fault = np.full(n, "clean", dtype=object)
    fault[faulty] = rng.choice(names, size=int(faulty.sum()), p=w / w.sum())
    fault[0] = "clean"  # duplicates need an earlier clean row
    fault[-1] = "clean"  # a blank last row would be a trailing blank line, not a row
    referenced: set[int] = set()

    def clean_source(i: int) -> int | None:
        for _ in range(20):
            j = int(rng.integers(0, i))
            if fault[j] == "clean" and j not in referenced:
                return j
        return None

    def unknown_postcode(base: str) -> str:
        out = base.split(" ")[0] + " 9ZZ"
        k = 0
        while out in known and k < 50:
            k += 1
            out = base.split(" ")[0] + f" {k % 10}ZZ"
        return out

    for i in range(n):
        f = fault[i]
        r = rows[i]
        side = "HOME_POST" if rng.random() < 0.4 else "PL_POST"
        if f == "postcode_case_space":
            r[side] = (
                r[side].lower().replace(" ", "")
                if rng.random() < 0.5
                else "  " + r[side].replace(" ", "   ") + " "
            )
        elif f == "postcode_nbsp":
            r[side] = r[side].replace(" ", "\u00a0") + "\u00a0"
        elif f == "postcode_malformed":
            r[side] = str(rng.choice(["LE15 9CZ", "L3 15AB", "OAKHAM", "12345", "LE15-9A"]))
        elif f == "postcode_placeholder":
            r[side] = str(rng.choice(["N/K", "NFA", "unknown", "TBC"]))
        elif f == "postcode_unknown":
            r[side] = unknown_postcode(r[side])
        elif f == "postcode_missing":
            r[side] = ""
        elif f == "postcode_pseudo":
            r[side] = str(rng.choice(["ZZ99 3VZ", "ZZ99 3WZ", "ZZ99 3CZ"]))
        elif f == "postcode_incomplete":
            r[side] = r[side].split(" ")[0]
        elif f == "postcode_typo_O":
            out, inw = r[side].split(" ")
            if inw[0] == "0":
                r[side] = f"{out} O{inw[1:]}"
            elif inw[0] == "1":
                r[side] = f"{out} I{inw[1:]}"
            else:
                fault[i] = f = "clean"
        elif f == "postcode_in_address":
            r[side] = (
                f"Flat {int(rng.integers(1, 40))}, {int(rng.integers(1, 200))} High Street, {r[side]}"
            )
        elif f == "postcode_excel_error":
            r[side] = "#N/A"
        elif f == "place_unknown":
            r["PLACE"] = str(rng.choice(["X1", "U7", "Foster", "K3", "99"]))
        elif f == "place_blank":
            r["PLACE"] = ""
        elif f == "place_lowercase":
            r["PLACE"] = r["PLACE"].lower() + " "
        elif f == "child_missing":
            r["CHILD"] = ""
        elif f in {"duplicate_exact", "duplicate_earlier_episode", "duplicate_conflict"}:
            j = clean_source(i) if i > 0 else None
            if j is None:
                fault[i] = f = "clean"
            else:
                referenced.add(j)
                src = dict(rows[j])
                if f == "duplicate_earlier_episode":
                    d0 = dt.datetime.strptime(src["DECOM"], "%d/%m/%Y").date()
                    b0 = dt.datetime.strptime(src["DOB"], "%d/%m/%Y").date()
                    earlier = max(
                        b0 + dt.timedelta(days=1),
                        d0 - dt.timedelta(days=int(rng.integers(30, 400))),
                    )
                    if earlier >= d0:
                        fault[i] = f = "clean"
                    else:
                        src["DECOM"] = earlier.strftime("%d/%m/%Y")
                        src["PL_POST"] = str(places[int(rng.integers(len(places)))])
                        src["PLACE"] = str(rng.choice(codes))
                        rows[i] = src
                elif f == "duplicate_conflict":
                    alt = [
                        p
                        for p in (str(places[int(rng.integers(len(places)))]) for _ in range(5))
                        if p != src["PL_POST"]
                    ]
                    if not alt:
                        fault[i] = f = "clean"
                    else:
                        src["PL_POST"] = alt[0]
                        rows[i] = src
                else:
                    rows[i] = src
        elif f == "dob_us":
            d = dob[i]
            if d.day > 12:
                r["DOB"] = d.strftime("%m/%d/%Y")
            else:
                fault[i] = f = "clean"
        elif f == "dob_excel_serial":
            r["DOB"] = str((dob[i] - dt.date(1899, 12, 30)).days)
        elif f == "dob_iso":
            r["DOB"] = dob[i].isoformat()
        elif f == "dob_two_digit_year":
            r["DOB"] = f"{dob[i].day}/{dob[i].month}/{dob[i].year % 100:02d}"
        elif f == "dob_invalid":
            r["DOB"] = f"31/02/{dob[i].year}"
        elif f == "dob_text":
            r["DOB"] = str(rng.choice(["unknown", "N/K", "about 2010"]))
        elif f == "dob_future":
            r["DOB"] = (ref + dt.timedelta(days=int(rng.integers(1, 300)))).strftime("%d/%m/%Y")
        elif f == "dob_too_old":
            r["DOB"] = (ref - dt.timedelta(days=int(rng.integers(20, 30) * 365.25))).strftime(
                "%d/%m/%Y"
            )
        elif f == "uasc_invalid":
            r["UASC"] = str(rng.choice(["maybe", "2", "?"]))
        elif f == "decom_invalid":
            r["DECOM"] = str(rng.choice(["31/13/2024", "next week"]))
        elif f == "blank_row":
            rows[i] = {k: "" for k in r}
    # a source row of a duplicate must stay clean
    for j in referenced:
        assert fault[j] == "clean"
    df = pd.DataFrame(
        rows,
        columns=["CHILD", "DOB", "UASC", "DECOM", "PLACE", "HOME_POST", "PL_POST", "URN"],
        dtype=object,
    )
    df.attrs["fault"] = [str(f) for f in fault]
    df.attrs["expected_status"] = [MESSY_FAULTS[str(f)][1] for f in fault]
    df.attrs["reference_date"] = ref
    return df
