"""Regions: a SYNTHETIC two-council region on a real Dask cluster (scheduler + two worker
processes started with the `dask` CLI) and in process; the tables must be byte-identical, the
flows must account for every placement row, and no small count may be recoverable by
differencing the region against its councils.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff._errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
COUNCILS = ["E06000017", "E10000018"]  # Rutland and Leicestershire (adjoining)
N_CHILDREN = 40
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask_bin() -> str:
    exe = Path(sys.executable).with_name("dask")
    return str(exe) if exe.exists() else "dask"


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real Dask scheduler and two single-process workers on localhost, stopped afterwards."""
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    logs = tmp_path_factory.mktemp("dask-logs")
    procs = [
        subprocess.Popen(
            [
                _dask_bin(),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            env=env,
            stdout=open(logs / "scheduler.log", "w"),
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        else:
            pytest.fail("dask scheduler did not start: " + (logs / "scheduler.log").read_text())
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        _dask_bin(),
                        "worker",
                        addr,
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                        "--local-directory",
                        str(logs / f"w{i}"),
                    ],
                    env=env,
                    stdout=open(logs / f"worker{i}.log", "w"),
                    stderr=subprocess.STDOUT,
                )
            )
        from distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
            assert len(c.scheduler_info()["workers"]) == 2
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def synth_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from geosuff.region import synthesise_region

    out = tmp_path_factory.mktemp("region")
    res = synthesise_region(COUNCILS, out, n_children=N_CHILDREN, seed=7)
    assert res.region_file.is_file()
    return res.region_file


def _copy_region(region_file: Path, dest: Path) -> Path:
    shutil.copytree(region_file.parent, dest)
    return dest / region_file.name


@pytest.fixture(scope="module")
def runs(synth_region: Path, dask_cluster: str, tmp_path_factory: pytest.TempPathFactory):
    """The same region run in process (the library, scheduler "none") and through the Dask
    cluster (the CLI, --scheduler tcp://...).
    """
    from typer.testing import CliRunner

    from geosuff.cli import app
    from geosuff.config.region import load_region, with_compute
    from geosuff.region import run_region

    base = tmp_path_factory.mktemp("runs")
    rf = _copy_region(synth_region, base / "none")
    steps: list[tuple[str, int, int]] = []
    reg = with_compute(load_region(rf), scheduler="none", workers=None)
    res = run_region(reg, progress=lambda s, i, n: steps.append((s, i, n)))
    assert steps[-1] == ("regional outputs", 2, 3)
    rf = _copy_region(synth_region, base / "dask")
    r = CliRunner().invoke(app, ["region", str(rf), "--scheduler", dask_cluster])
    assert r.exit_code == 0, r.output
    return {"none": base / "none" / "outputs", "dask": rf.parent / "outputs", "run": res}


def _tables(root: Path) -> dict[str, bytes]:
    files = sorted(root.glob("*/tables/*.csv"))
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_dask_run_is_byte_identical_to_in_process(runs):
    a, b = _tables(runs["none"]), _tables(runs["dask"])
    assert set(a) == set(b)
    regional = {k for k in a if k.startswith("region/")}
    assert regional == {
        "region/tables/flows.csv",
        "region/tables/indicators.csv",
        "region/tables/joint_siting.csv",
        "region/tables/provision.csv",
    }
    assert any(k.startswith(f"{COUNCILS[0]}/tables/") for k in a)
    assert any(k.startswith(f"{COUNCILS[1]}/tables/") for k in a)
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, differ
    for name in ("report.html", "map.html"):
        assert (runs["dask"] / "region" / name).read_bytes() == (
            runs["none"] / "region" / name
        ).read_bytes()


def test_flows_account_for_every_placement_row(runs):
    flows = pd.read_csv(runs["none"] / "region" / "tables" / "flows.csv", dtype=str)
    assert set(flows["placing_council"]) == set(COUNCILS)
    assert "outside" in set(flows["host"])
    region_run = runs["run"]
    for sc, part in zip(region_run.region.scenarios, region_run.parts, strict=True):
        m = part.records
        f = flows[flows["placing_council"] == sc.council]
        total = f[f["host"] == "all"]["children"].iloc[0]
        # every placement row of the council is in the flows, once
        assert total == str(len(m)) == str(len(pd.read_csv(sc.inputs.placements)))
        cells = f[f["host"] != "all"]
        shown = cells[cells["children"] != "c"]["children"].astype(int).sum()
        n_c = int((cells["children"] == "c").sum())
        assert n_c != 1  # a lone withheld cell would follow from the total
        assert shown <= len(m)
        # the true flows partition the rows: recompute them from the council's own measures
        counted = m["status"].astype(str) != "excluded"
        la = m["placement_la"]
        in_reg = la.isin(COUNCILS) & counted
        for host, expect in [(c, int(((la == c) & counted).sum())) for c in COUNCILS] + [
            ("excluded", int((~counted).sum()))
        ]:
            row = cells[cells["host"] == host]
            if expect == 0:
                assert row.empty
            elif row["children"].iloc[0] != "c":
                assert int(row["children"].iloc[0]) == expect
        outside = int((counted & la.notna() & ~in_reg).sum())
        not_known = int((counted & la.isna()).sum())
        assert outside + not_known + int(in_reg.sum()) + int((~counted).sum()) == len(m)


def test_regional_indicators_and_provision(runs):
    ind = pd.read_csv(runs["none"] / "region" / "tables" / "indicators.csv", dtype=str)
    assert set(ind["scope"]) == {*COUNCILS, "region"}
    row = ind[(ind["scope"] == "region") & (ind["place_group"] == "all")].iloc[0]
    assert int(row["n"]) == 2 * N_CHILDREN
    prov = pd.read_csv(runs["none"] / "region" / "tables" / "provision.csv")
    for typ, g in prov.groupby("type"):
        reg = g[g["council"] == "region"]
        assert int(reg["places"].iloc[0]) == int(g[g["council"] != "region"]["places"].sum()), typ
    # children of one council placed in the other: the synthetic region has cross-border flows
    flows = runs["run"].published.flows
    cross = flows[flows["host"].isin(COUNCILS) & (flows["host"] != flows["placing_council"])]
    assert len(cross) >= 1


def test_no_small_count_recoverable_by_differencing(runs):
    """Region minus the councils' published cells never gives a small withheld count, and the
    joint ledger's audit leaves every small figure a range of possible values.
    """
    from geosuff.publication import disclosure as dc

    parts = runs["run"].parts
    pub = runs["run"].published
    led = pub.ledger
    mc = led.min_count
    # 1. the audit: every small figure (withheld or implied) keeps a range wider than 0
    audit = led.audit()
    small = audit[(audit["value"] >= 1) & (audit["value"] < mc)]
    assert len(small) > 0  # 40 children per council: there are small counts to protect
    assert ((small["upper"] - small["lower"]) > 0.5).all(), small
    # 2. the published tables themselves: region cell = sum of the council cells
    ind = pub.indicators
    counts = [c for c in ind.columns if c == "n" or c.startswith("n_")]
    true = {}
    for scope, g, _lab, n_h, hs in pub.handles["indicators"]:
        true[(scope, g)] = [led.count(n_h), *[led.count(h) for h in hs]]
    for g in ind["place_group"].unique():
        reg_row = ind[(ind["scope"] == "region") & (ind["place_group"] == g)]
        if reg_row.empty:
            continue
        for j, col in enumerate(counts):
            rv = reg_row[col].iloc[0]
            if rv == "c":
                continue
            cells = []
            for code in COUNCILS:
                r = ind[(ind["scope"] == code) & (ind["place_group"] == g)]
                cells.append(("0", 0) if r.empty else (r[col].iloc[0], true[(code, g)][j]))
            hidden = [t for v, t in cells if v == "c"]
            if len(hidden) == 1:
                recovered = int(rv) - sum(int(v) for v, _ in cells if v != "c")
                assert recovered == hidden[0]
                assert not 1 <= recovered < mc, (g, col, recovered)
    # the council figures (as the councils publish them) are in the joint ledger
    forced = sum(1 for k in led.kind if k == dc.FORCED)
    implied = sum(1 for k in led.kind if k == dc.IMPLIED)
    assert forced > 0 and implied > 0
    # 3. each council's withheld cells stay withheld-or-safe in the region's tables: a council
    # figure the council shows small is impossible; one it withholds small is "c" here too
    for p, off in zip(parts, np.cumsum([0] + [q.figures.n_records for q in parts]), strict=False):
        for h, mem in enumerate(p.figures.members):
            if not p.figures.shown[h] and 1 <= mem.size < mc and p.figures.kind[h] == dc.EXACT:
                key = (mem + off).tobytes()
                rh = led._index[key]
                assert not led.shown(rh)


def test_joint_siting_table(runs):
    """The region's best k properties: ranks 1..k', owned by a council of the region, each row's
    published split summing to its gain, no count 1-4 shown.
    """
    t = pd.read_csv(runs["none"] / "region" / "tables" / "joint_siting.csv", dtype=str)
    assert len(t) >= 1
    assert list(t["rank"].astype(int)) == list(range(1, len(t) + 1))
    assert set(t["council"]) <= set(COUNCILS)
    split = [f"gain_{c}" for c in COUNCILS]
    for _, row in t.iterrows():
        cells = [row["gain"], *[row[c] for c in split]]
        for v in cells:
            assert v == "c" or not 1 <= int(v) < 5, row.to_dict()
        if all(v != "c" for v in cells):
            assert int(row["gain"]) == sum(int(row[c]) for c in split)
        hidden = [row[c] for c in split if row[c] == "c"]
        assert len(hidden) != 1 or row["gain"] == "c"
    # each chosen candidate is one of its council's candidates
    for code in set(t["council"]):
        cands = pd.read_csv(runs["none"].parent / code / "candidates.csv", dtype=str)
        assert set(t[t["council"] == code]["candidate_id"]) <= set(cands["candidate_id"])
    rep = (runs["none"] / "region" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Joint siting</h2>" in rep


def test_region_file_errors(tmp_path, synth_region):
    from geosuff.config.region import load_region, with_compute

    base = synth_region.parent
    bad = base / "bad.toml"
    bad.write_text('name = "X"\ncouncils = ["E06000017/config.toml", "nowhere/config.toml"]\n')
    with pytest.raises(ConfigError, match="nowhere/config.toml"):
        load_region(bad)
    bad.write_text('name = "X"\ncouncils = ["E06000017/config.toml"]\ncouncil = "E06000017"\n')
    with pytest.raises(ConfigError, match="unknown key 'council'.*did you mean 'councils'"):
        load_region(bad)
    bad.write_text('name = "X"\ncouncils = ["E06000017/config.toml"]\n[compute]\nworker = 2\n')
    with pytest.raises(ConfigError, match=r"unknown key '\[compute\] worker'"):
        load_region(bad)
    bad.write_text(
        'name = "X"\ncouncils = ["E06000017/config.toml"]\n[compute]\nscheduler = "localhost"\n'
    )
    with pytest.raises(ConfigError, match="scheduler"):
        load_region(bad)
    reg = load_region(synth_region)
    assert reg.codes == COUNCILS
    assert reg.scenarios[0].output.dir == reg.out_dir / COUNCILS[0]
    assert all(s.analysis.travel == "estimate" for s in reg.scenarios)
    assert with_compute(reg, scheduler="none", workers=None).compute.scheduler == "none"
    with pytest.raises(ConfigError):
        with_compute(reg, scheduler="nonsense", workers=None)


def test_region_report_and_map(runs):
    rep = (runs["none"] / "region" / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in rep
    assert "Rutland" in rep and "Leicestershire" in rep
    assert "Placements between councils" in rep
    mp = (runs["none"] / "region" / "map.html").read_text(encoding="utf-8")
    assert "L.geoJson" in mp or "geo_json" in mp
    assert not re.search(r"<script[^>]+src=\"https?://", mp)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_region_report_and_map_open_in_chromium(runs):
    if not CHROMIUM.exists():
        msg = "Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("GEOSUFF_REQUIRE_BROWSER"):
            pytest.fail(msg + "; `make test` requires it")
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for name in ("map.html", "report.html"):
                page = b.new_page()
                errors: list[str] = []
                page.on(
                    "console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None
                )
                page.on("pageerror", lambda ex, e=errors: e.append(str(ex)))
                page.goto((runs["none"] / "region" / name).as_uri())
                page.wait_for_load_state("load")
                assert not errors, (name, errors)
                if name == "map.html":
                    assert page.locator("path.leaflet-interactive").count() >= len(COUNCILS)
                page.close()
        finally:
            b.close()


def test_every_region_key_is_documented_and_accepted():
    """The README's region-file block lists exactly the keys the loader accepts."""
    from geosuff.config.region import ComputeConfig, RegionFile, RegionOutput

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Regions", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
            keys.setdefault(section, set())
        elif "=" in line:
            keys[section].add(line.split("=", 1)[0].strip())
    assert keys[""] == set(RegionFile.model_fields) - {"siting", "output", "compute"}
    assert keys["output"] == set(RegionOutput.model_fields)
    assert keys["compute"] == set(ComputeConfig.model_fields)
    assert "siting" in keys
