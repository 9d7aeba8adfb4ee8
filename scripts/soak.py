"""Soak test of a review folder: many consecutive runs of the SYNTHETIC Rutland demo into one
output folder, with random ``kill -9`` (SIGKILL at a random moment) and random bad inputs in
between, ending with a clean run whose files must be byte-identical (by the manifest's sha256s)
to those of a clean run made at the start.

After every step the folder must hold one complete run: exactly the files its manifest lists,
each with the listed sha256 (a SIGKILL inside the milliseconds of the final moves may leave a
mix, which the next run repairs: counted and reported as "mixed"); a bad input must stop with
a one-sentence error (exit code 1 or 2, no traceback) and leave the folder as it was; no
staging folder and no lock file may outlive the step after a kill.

Usage::

    PYTHONPATH=. .venv/bin/python scripts/soak.py --runs 50 [--seed 1] [--children 40] [--keep DIR]

POSIX only (SIGKILL). Not part of ``pytest`` (several minutes). Exit code 0 when every check held.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BAD_INPUTS = REPO / "tests" / "bad_inputs"
#: fatal bad placements files of the shipped corpus (tests/bad_inputs/expected.csv)
FATAL = [
    "pl_empty.csv",
    "pl_header_only.csv",
    "pl_missing_column.csv",
    "pl_binary.csv",
    "pl_damaged.xlsx",
    "pl_zip_archive.csv",
    "pl_unclosed_quote.csv",
    "pl_pdf_report.csv",
    "pl_html_export.xls",
    "pl_empty_workbook.xlsx",
]
HOSTILE = ["zip_bomb.xlsx", "gzip_bomb.csv.gz", "sparse_2gb.csv", "deep.toml", "etc.toml"]


#: files that hold the run's own time, compared by content instead of bytes: the report (its
#: method notes give each stage's seconds), the workbook (Excel's created/modified time) and the
#: GeoPackage (each table's last_change)
TIMED = ("report.html", "tables.xlsx", "geosuff.gpkg")


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def content(p: Path) -> str:
    """A TIMED file without its times: a digest of what it shows."""
    import re

    if p.suffix == ".html":
        text = re.sub(r"\b\d+\.\d s\b", "# s", p.read_text(encoding="utf-8"))
    elif p.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(p, read_only=True)
        text = repr([(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets])
        wb.close()
    else:
        import sqlite3

        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        text = "\n".join(con.iterdump())
        con.close()
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare(
    out: Path, now: dict[str, str], clean: dict[str, str], clean_content: dict[str, str]
) -> list[str]:
    """Files of ``now`` (a manifest's sha256s) that differ from the clean run's: by sha256, or
    for the TIMED files by content."""
    diff = []
    for k in sorted({*now, *clean}):
        if now.get(k) == clean.get(k):
            continue
        if k in TIMED and k in now and k in clean and content(out / k) == clean_content[k]:
            continue
        diff.append(k)
    return diff


def state(out: Path) -> tuple[str, dict[str, str]]:
    """("complete" | "mixed" | "empty", files_sha256 of the manifest)."""
    m = out / "manifest.json"
    if not m.exists():
        return ("empty" if not out.exists() or not any(out.iterdir()) else "mixed"), {}
    listed = json.loads(m.read_text(encoding="utf-8"))["files_sha256"]
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    on_disk.discard(".geosuff.lock")
    ok = on_disk == {*listed, "manifest.json"} and all(sha(out / r) == h for r, h in listed.items())
    return ("complete" if ok else "mixed"), listed


def leftovers(out: Path) -> list[str]:
    stages = [p.name for p in out.parent.glob(f".{out.name}.geosuff-staging-*")]
    return stages + ([".geosuff.lock"] if (out / ".geosuff.lock").exists() else [])


def review(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "geosuff.cli", "review", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def make_hostile(folder: Path, config: Path) -> dict[str, Path]:
    """Hostile inputs: bombs, a sparse 2 GB CSV, a deep TOML, an output folder of /etc."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    buf = io.BytesIO()
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["CHILD", "PLACE", "HOME_POST", "PL_POST"])
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    p = folder / "zip_bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with z.open(info.filename, "w", force_zip64=True) as f:
                    for _ in range(300):
                        f.write(b"\0" * (1 << 20))
            else:
                z.writestr(info, src.read(info))
    out["zip_bomb.xlsx"] = p
    p = folder / "gzip_bomb.csv.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"CHILD,PLACE,HOME_POST,PL_POST\n")
        for _ in range(300):
            f.write(b"1,K2,LE15 6HP,LE15 6HP\n" * ((1 << 20) // 24))
    out["gzip_bomb.csv.gz"] = p
    p = folder / "sparse_2gb.csv"
    with open(p, "wb") as f:
        f.write(b"CHILD,PLACE,HOME_POST,PL_POST\n")
        f.truncate(2 << 30)
    out["sparse_2gb.csv"] = p
    text = config.read_text(encoding="utf-8")
    p = config.parent / "soak_deep.toml"
    p.write_text(text + "\n[network]\nx = " + "[" * 50000 + "]" * 50000 + "\n", encoding="utf-8")
    out["deep.toml"] = p
    p = config.parent / "soak_etc.toml"
    lines = [ln for ln in text.splitlines() if not ln.startswith("dir =")]
    body = "\n".join(lines).replace("[output]", '[output]\ndir = "/etc/geosuff-soak"')
    p.write_text(body + "\n", encoding="utf-8")
    out["etc.toml"] = p
    return out


def bad_config(config: Path, placements: Path) -> Path:
    """A copy of ``config`` reading ``placements`` instead (same output folder)."""
    text = config.read_text(encoding="utf-8")
    lines = []
    for ln in text.splitlines():
        if ln.strip().startswith("placements ="):
            ln = f"placements = {json.dumps(str(placements))}"
        lines.append(ln)
    p = config.parent / "soak_bad.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def main() -> int:  # noqa: C901 - one loop of checks, read top to bottom
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="steps after the clean run (default 50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--children", type=int, default=40, help="synthetic cohort size")
    ap.add_argument(
        "--keep", type=Path, help="work in this folder (kept) instead of a temporary one"
    )
    args = ap.parse_args()
    if os.name != "posix":
        print("soak: needs POSIX (SIGKILL)")
        return 2
    sys.path.insert(0, str(REPO))
    from geosuff.synth import synthesise

    rng = random.Random(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="geosuff-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    syn = synthesise("E06000017", work / "inputs", n_children=args.children, output_dir="../out")
    config = Path(syn.config)
    out = (work / "out").resolve()
    hostile = make_hostile(work / "hostile", config)
    failures: list[str] = []
    counts = {"ok": 0, "killed": 0, "bad": 0, "mixed_after_kill": 0}

    t0 = time.time()
    p = review(config)
    text, _ = p.communicate(timeout=1200)
    clean_s = time.time() - t0
    if p.returncode != 0:
        print(text)
        print("soak: the clean run failed")
        return 1
    st, clean = state(out)
    assert st == "complete", st
    clean_content = {k: content(out / k) for k in TIMED if k in clean}
    print(f"clean run: {len(clean)} files in {clean_s:.1f} s")

    for i in range(1, args.runs + 1):
        what = rng.choice(["kill", "kill", "bad", "ok"]) if i < args.runs else "ok"
        name = ""
        before_state, before = state(out)
        if what == "kill":
            p = review(config)
            delay = rng.uniform(0.2, clean_s * 1.1)
            try:
                p.wait(timeout=delay)
                outcome = f"finished before the kill at {delay:.1f} s (exit {p.returncode})"
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                outcome = f"SIGKILL at {delay:.1f} s"
                counts["killed"] += 1
            p.stdout.close() if p.stdout else None
            st, now = state(out)
            if st == "mixed":
                counts["mixed_after_kill"] += 1
            elif st == "complete" and now != before and compare(out, now, clean, clean_content):
                failures.append(f"step {i}: after a kill the folder holds another run")
        elif what == "bad":
            name = rng.choice(FATAL + HOSTILE)
            if name in ("deep.toml", "etc.toml"):
                cfg = hostile[name]
            else:
                cfg = bad_config(config, hostile.get(name, BAD_INPUTS / name))
            t = time.time()
            p = review(cfg)
            text, _ = p.communicate(timeout=1200)
            outcome = f"bad input {name}: exit {p.returncode} in {time.time() - t:.1f} s"
            counts["bad"] += 1
            if p.returncode not in (1, 2) or "Traceback" in text:
                failures.append(f"step {i}: {name}: exit {p.returncode}\n{text[-2000:]}")
            st, now = state(out)
            if (st, now) != (before_state, before) and before_state != "mixed":
                failures.append(f"step {i}: {name} changed the output folder")
            if Path("/etc/geosuff-soak").exists():
                failures.append(f"step {i}: wrote into /etc")
        else:
            p = review(config)
            text, _ = p.communicate(timeout=1200)
            outcome = f"run: exit {p.returncode}"
            counts["ok"] += 1
            st, now = state(out)
            diff = compare(out, now, clean, clean_content) if st == "complete" else ["(folder)"]
            if p.returncode != 0 or diff:
                failures.append(f"step {i}: a full run differs from the clean run: {diff[:10]}")
        # a run that took the folder's lock leaves no staging folder or lock behind (one refused
        # when its config is read never gets that far: a killed run's stage waits for the next)
        took_lock = what == "ok" or (what == "bad" and name not in ("deep.toml", "etc.toml"))
        left = leftovers(out) if took_lock else []
        if left:
            failures.append(f"step {i}: left behind {left}")
        print(f"step {i:3d} {what:4s}: {outcome}; folder {st}")

    st, final = state(out)
    same = st == "complete" and not compare(out, final, clean, clean_content)
    identical = sum(final.get(k) == h for k, h in clean.items())
    print(
        f"soak: {args.runs} steps ({counts['killed']} killed, {counts['bad']} bad inputs, "
        f"{counts['ok']} full runs; {counts['mixed_after_kill']} kills left a mixed folder, "
        f"repaired by the next run) in {time.time() - t0:.0f} s; final files "
        + ("identical to the clean run" if same else "DIFFER from the clean run")
        + f" ({identical} of {len(clean)} files byte-identical by sha256, the others ("
        + ", ".join(k for k in clean if final.get(k) != clean[k])
        + ") identical but for the run's time); "
        + f"{len(failures)} failures"
    )
    for f in failures:
        print("FAIL", f)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if same and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
