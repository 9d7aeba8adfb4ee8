"""Disclosure across runs (``[disclosure] previous``): a figure that changed by 1-4 children since
an earlier publication of the same council is withheld, so that differencing the two
publications cannot give a small count. Real runs of a SYNTHETIC Rutland cohort (an episode
history of three years, reviewed at 31 March 2025 and again at 31 March 2026).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff._errors import ConfigError, NotAnOutputFolderError
from geosuff.config import load_config
from geosuff.config.safety import previous_outputs
from geosuff.publication import disclosure as dc
from geosuff.publication.ledger import Ledger
from geosuff.publication.ledger.previous import DISCLOSURE_FILE, FORMAT, load_previous

MIN_COUNT = 5


def _small_change(a: str, b: str) -> bool:
    return a.isdigit() and b.isdigit() and 0 < abs(int(a) - int(b)) < MIN_COUNT


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    root = tmp_path_factory.mktemp("across_runs")
    syn = synthesise(
        "E06000017", root / "inputs", n_children=40, years=3, reference_date=dt.date(2026, 3, 31)
    )
    sc = load_config(syn.config)

    def review(ref: dt.date, out: Path, previous: list[Path]):
        s = sc.model_copy(
            update={
                "analysis": sc.analysis.model_copy(update={"reference_date": ref}),
                "output": sc.output.model_copy(update={"dir": out, "excel": False}),
                "disclosure": sc.disclosure.model_copy(update={"previous": previous}),
            }
        )
        return run(s)

    y2025 = review(dt.date(2025, 3, 31), root / "2025", [])
    plain = review(dt.date(2026, 3, 31), root / "2026_plain", [])
    # previous given as the folder of councils' outputs (a region's layout): root/2025 holds
    # the run itself, root holds it as a subfolder
    compared = review(dt.date(2026, 3, 31), root / "2026", [root / "2025"])

    def figures(out: Path) -> dict[str, str]:
        return json.loads((out / DISCLOSURE_FILE).read_text(encoding="utf-8"))["figures"]

    return {
        "root": root,
        "config": syn.config,
        "y2025": y2025,
        "fig2025": figures(root / "2025"),
        "plain": plain,
        "fig_plain": figures(root / "2026_plain"),
        "compared": compared,
        "fig_compared": figures(root / "2026"),
    }


def test_without_previous_a_small_change_is_recoverable(runs: dict) -> None:
    before, after = runs["fig2025"], runs["fig_plain"]
    recoverable = {
        k: (before[k], v) for k, v in after.items() if k in before and _small_change(before[k], v)
    }
    # the premise of the feature: two honest publications a year apart give small differences
    assert recoverable, "expected a figure that changed by 1-4 children between the years"
    k, (a, b) = next(iter(recoverable.items()))
    assert 0 < abs(int(a) - int(b)) < MIN_COUNT


def test_with_previous_no_small_change_is_recoverable(runs: dict) -> None:
    before, after = runs["fig2025"], runs["fig_compared"]
    shown_pairs = [k for k, v in after.items() if k in before and _small_change(before[k], v)]
    assert shown_pairs == []
    # the figures that were recoverable are now withheld ...
    was = [k for k, v in runs["fig_plain"].items() if k in before and _small_change(before[k], v)]
    assert was and all(after[k] == dc.SUPPRESSED for k in was)
    # ... and the LP audit over both publications cannot work the change out: every figure that
    # changed by 1-4 keeps a range at least one child wide given everything this run publishes
    from geosuff.publication import ledger as publish

    led = publish.build(runs["compared"]).ledger  # the run's ledger, made again
    assert led is not None
    aud = led.audit_previous()
    assert len(aud)
    small = aud[(aud["value"] - aud["previous"]).abs().between(1, MIN_COUNT - 1)]
    assert len(small)
    assert (small["published"] == dc.SUPPRESSED).all()
    width = small["change_upper"] - small["change_lower"]
    assert (width >= 1 - 1e-6).all(), small[width < 1]
    # figures that did not change by a small number are compared too, and may stay shown
    assert (aud["published"] != dc.SUPPRESSED).any()
    w = led.withheld()
    assert w.across_runs >= len(set(small["figure"])) - int((small["value"] < MIN_COUNT).sum())


def test_previous_changes_only_what_it_must(runs: dict) -> None:
    plain, compared = runs["fig_plain"], runs["fig_compared"]
    assert plain.keys() == compared.keys()
    # more is withheld with previous, nothing shown differs in value
    for k, v in compared.items():
        if v != dc.SUPPRESSED:
            assert plain[k] in (v, dc.SUPPRESSED)
    assert sum(v == dc.SUPPRESSED for v in compared.values()) > sum(
        v == dc.SUPPRESSED for v in plain.values()
    )
    # and the published tables agree with the record: trend counts as in tables/trend.csv
    trend = pd.read_csv(runs["root"] / "2026" / "tables" / "trend.csv", dtype=str)
    for r in trend.itertuples(index=False):
        key = f"trend: {r.year} {r.measure} {r.breakdown} {r.group}"
        assert compared[key] == r.count


def test_disclosure_record_holds_no_child_level_data(runs: dict) -> None:
    out = runs["root"] / "2026"
    data = json.loads((out / DISCLOSURE_FILE).read_text(encoding="utf-8"))
    assert data["format"] == FORMAT and data["council"] == "E06000017" and data["synthetic"]
    assert set(data) == {
        "format",
        "council",
        "reference_date",
        "synthetic",
        "min_count",
        "note",
        "figures",
    }
    values = set(data["figures"].values())
    assert all(v.isdigit() or v == dc.SUPPRESSED for v in values)
    text = (out / DISCLOSURE_FILE).read_text(encoding="utf-8")
    m = runs["compared"].measures
    for col in ("CHILD", "HOME_POST", "PL_POST"):
        if col in m:
            for v in m[col].dropna().astype(str).unique():
                if len(v) >= 4:
                    assert v not in text
    # the published-file check, strictly (as for every published file of the demo)
    forb = dc.personal_strings(m, sites=runs["compared"].sites)
    pts = dc.personal_points(m, sites=runs["compared"].sites)
    assert dc.check_published_file(out / DISCLOSURE_FILE, forb, points=pts, strict=True) == []
    # no small count is published in it
    assert not any(v.isdigit() and 0 < int(v) < MIN_COUNT for v in values)
    # the manifest covers it, so a later run can check it is this run's
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert DISCLOSURE_FILE in manifest["files_sha256"]


def test_previous_in_config_is_validated(runs: dict, tmp_path: Path) -> None:
    cfg = Path(runs["config"])
    text = cfg.read_text(encoding="utf-8")

    def with_previous(value: str) -> Path:
        p = cfg.parent / f"prev_{abs(hash(value))}.toml"
        if "[disclosure]" in text:
            p.write_text(text.replace("[disclosure]", f"[disclosure]\nprevious = {value}"), "utf-8")
        else:
            p.write_text(text + f"\n[disclosure]\nprevious = {value}\n", encoding="utf-8")
        return p

    # a string or a list, relative to the config file's folder
    rel = Path(os.path.relpath(runs["root"] / "2025", cfg.parent))
    sc = load_config(with_previous(json.dumps(rel.as_posix())))
    assert sc.disclosure.previous == [(cfg.parent / rel).resolve()]
    sc = load_config(with_previous(json.dumps([str(runs["root"] / "2025")])))
    assert len(sc.disclosure.previous) == 1
    # a folder holding councils' output folders is read as all of them
    assert previous_outputs(runs["root"]) == sorted(
        d for d in runs["root"].iterdir() if (d / DISCLOSURE_FILE).is_file()
    )
    # not a geosuff output: a clear error naming the folder and the fix
    empty = tmp_path / "not_output"
    empty.mkdir()
    (empty / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(NotAnOutputFolderError, match="not a geosuff output folder") as err:
        load_config(with_previous(json.dumps(str(empty))))
    assert "manifest.json" in str(err.value) and err.value.fix
    with pytest.raises(NotAnOutputFolderError, match="does not exist"):
        load_config(with_previous(json.dumps(str(tmp_path / "missing"))))
    assert issubclass(NotAnOutputFolderError, ConfigError)
    with pytest.raises(ConfigError, match="previous"):
        load_config(with_previous("3"))


def test_a_changed_record_is_refused(runs: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "2025"
    shutil.copytree(runs["root"] / "2025", copy)
    assert load_previous([copy], council="E06000017")
    assert load_previous([copy], council="E06000016") == {}  # other councils: other children
    rec = copy / DISCLOSURE_FILE
    rec.write_text(rec.read_text(encoding="utf-8").replace('"c"', '"7"', 1), encoding="utf-8")
    with pytest.raises(NotAnOutputFolderError, match="sha256"):
        load_previous([copy], council="E06000017")
    (copy / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(NotAnOutputFolderError, match="not written by geosuff"):
        load_previous([copy], council="E06000017")


def test_ledger_protects_a_small_change_and_its_complement() -> None:
    # 20 children: a total and its two parts; last year part A was 10, now it is 12
    led = Ledger(20, min_count=MIN_COUNT)
    idx = np.arange(20)
    t = led.add(idx, table="t", label="all", keep=True)
    a = led.add(idx[:12], table="t", label="A")
    b = led.add(idx[12:], table="t", label="B")
    led.compare_with({"t: A": [10], "t: B": [8]})
    led.solve()
    assert led.text(t) == "20"
    # A changed by 2: withheld, and B with it (20 - B would give A); B itself did not change
    assert led.text(a) == dc.SUPPRESSED and led.text(b) == dc.SUPPRESSED
    aud = led.audit_previous().set_index("definition")
    assert aud.at["t: A", "previous"] == 10
    lo, hi = aud.at["t: A", "change_lower"], aud.at["t: A", "change_upper"]
    assert hi - lo >= 1 and (lo <= 2 <= hi)
    assert led.result is not None and int(led.result.reason[a]) == 5
    assert led.withheld().across_runs == 1
    # without the earlier figures nothing is withheld
    plain = Ledger(20, min_count=MIN_COUNT)
    plain.add(idx, table="t", label="all", keep=True)
    pa = plain.add(idx[:12], table="t", label="A")
    plain.solve()
    assert plain.text(pa) == "12"
    assert math.isfinite(float(aud.at["t: B", "previous"]))
