"""Two runs, one output folder; a killed run. Real ``geosuff review`` processes on synthetic
cohorts: the folder is locked, and it only ever holds one complete run (the files the manifest
lists, with its sha256s)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geosuff._errors import LockedError
from geosuff._lock import LOCK_NAME, output_lock
from geosuff.publication import files as outputs

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9 and fork timing are POSIX")


def _cohort(root: Path, name: str, seed: int, out: Path) -> Path:
    from geosuff.synth import synthesise

    return Path(
        synthesise("E06000017", root / name, seed=seed, n_children=40, output_dir=str(out)).config
    )


def _review(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "geosuff.cli", "review", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _assert_one_complete_run(out: Path) -> dict:
    """The folder holds exactly the files its manifest lists, each with the listed sha256."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = manifest["files_sha256"]
    assert set(listed) == set(manifest["files"])
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - {LOCK_NAME} == {*listed, "manifest.json"}
    assert {rel: _sha(out / rel) for rel in listed} == listed
    assert {"report.html", "map.html", "tables/candidates_ranked.csv"} <= set(listed)
    assert any(rel.startswith("rasters/") for rel in listed)
    assert not list(out.parent.glob(f".{out.name}{outputs.STAGING_PREFIX}*"))
    return manifest


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_two_reviews_into_one_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    a = _cohort(tmp_path, "a", 3, out)
    b = _cohort(tmp_path, "b", 4, out)
    first = _review(a)
    time.sleep(0.5)
    second = _review(b)
    texts = {cfg: p.communicate(timeout=600)[0] for cfg, p in ((a, first), (b, second))}
    codes = {a: first.returncode, b: second.returncode}
    assert sorted(c == 0 for c in codes.values()) == [False, True], texts
    loser = next(cfg for cfg, c in codes.items() if c != 0)
    winner = next(cfg for cfg, c in codes.items() if c == 0)
    said = " ".join(texts[loser].split())
    assert "Another geosuff run (process" in said and "started" in said, said
    assert "Wait for it to finish" in said and "Traceback" not in said, said
    manifest = _assert_one_complete_run(out)
    # the winner's run: its own placements file, by sha256
    assert manifest["inputs"]["placements"]["sha256"] == _sha(winner.parent / "placements.csv")


def test_a_held_lock_names_the_holder_and_a_stale_one_is_taken_over(tmp_path: Path) -> None:
    with output_lock(tmp_path) as lock:
        held = json.loads(lock.read_text(encoding="utf-8"))
        assert held["pid"] == os.getpid()
        code = f"from geosuff._lock import output_lock\nwith output_lock({str(tmp_path)!r}): pass"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.returncode != 0
        assert f"process {os.getpid()} on {held['host']}, started {held['started']}" in r.stderr
    assert not (tmp_path / LOCK_NAME).exists()
    dead = _dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": "x", "started": "then"}))
    with output_lock(tmp_path) as lock:
        assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == os.getpid()
    with output_lock(tmp_path), pytest.raises(LockedError) as err, output_lock(tmp_path):
        pass
    assert isinstance(err.value, RuntimeError)


def test_a_lock_removes_only_the_empty_folders_it_made(tmp_path: Path) -> None:
    """A run refused before writing leaves no ``outputs/<code>`` behind; a folder with files,
    or one that was there before, stays."""
    target = tmp_path / "outputs" / "E06000017"
    with output_lock(target):
        assert (target / LOCK_NAME).exists()
    assert not (tmp_path / "outputs").exists()
    with output_lock(target):
        (target / "report.html").write_text("x", encoding="utf-8")
    assert (target / "report.html").exists() and not (target / LOCK_NAME).exists()
    before = tmp_path / "kept"
    before.mkdir()
    with output_lock(before):
        pass
    assert before.is_dir()


def test_a_killed_review_leaves_the_previous_run_and_its_stage_is_cleaned(tmp_path: Path) -> None:
    from geosuff.config import load_config
    from geosuff.pipeline import run

    out = tmp_path / "out"
    a = _cohort(tmp_path, "a", 3, out)
    b = _cohort(tmp_path, "b", 4, out)
    p = _review(a)
    assert p.wait(timeout=600) == 0, p.communicate()[0]
    before = _assert_one_complete_run(out)
    # a stale lock (a dead process's) is taken over by the next review, which is then killed
    (out / LOCK_NAME).write_text(json.dumps({"pid": _dead_pid(), "host": "x", "started": "t"}))
    p = _review(b)
    pattern = f".{out.name}{outputs.STAGING_PREFIX}*"
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(pattern)) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.poll() is None, p.communicate()[0]
    assert list(tmp_path.glob(pattern))
    time.sleep(0.3)  # some files written into the stage
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert list(tmp_path.glob(pattern)), "the killed run's stage is left behind"
    # the previous run's files, all of them and unchanged, and nothing of the killed run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == before
    listed = manifest["files_sha256"]
    assert {rel: _sha(out / rel) for rel in listed} == listed
    on_disk = {q.relative_to(out).as_posix() for q in out.rglob("*") if q.is_file()}
    assert on_disk - {LOCK_NAME} == {*listed, "manifest.json"}
    # the next run takes the killed run's lock over and removes its stage
    res = run(load_config(b))
    assert not list(tmp_path.glob(pattern))
    after = _assert_one_complete_run(out)
    assert after["inputs"]["placements"]["sha256"] == _sha(b.parent / "placements.csv")
    assert res.files["manifest"] == out / "manifest.json"
