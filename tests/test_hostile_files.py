"""Hostile files: a zip bomb named .xlsx, a gzip bomb, a 2 GB CSV (a sparse file: no 2 GB is
written), a deeply nested TOML, an output folder in a system folder or through a symbolic link.
Each is a clear error (a GeosuffError subclass with a fix), read with bounded memory (the size
limit is checked before reading), and nothing is written outside the intended folder.
"""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from geosuff._errors import (
    ConfigError,
    GeosuffError,
    InputFileError,
    InputTooLargeError,
    UnsafeOutputError,
)
from geosuff._lock import LOCK_NAME, output_lock
from geosuff.config import load_config
from geosuff.config.safety import DEFAULT_MAX_INPUT_MB, check_output_dir, max_input_bytes
from geosuff.inputs import read_raw

MB = 1024 * 1024
#: what reading a refused hostile file may allocate at most (bytes)
MEMORY_BOUND = 40 * MB


def _peak(fn) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        fn()
        err = None
    except BaseException as e:  # noqa: BLE001 - returned to the test
        err = e
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return err, peak


def _xlsx_bytes() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["CHILD", "PLACE", "HOME_POST", "PL_POST"])
    ws.append(["1", "K2", "LE15 6HP", "LE15 6HP"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_limit_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSUFF_MAX_INPUT_MB", raising=False)
    assert max_input_bytes() == DEFAULT_MAX_INPUT_MB * MB
    monkeypatch.setenv("GEOSUFF_MAX_INPUT_MB", "3")
    assert max_input_bytes() == 3 * MB


def test_xlsx_zip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSUFF_MAX_INPUT_MB", raising=False)
    # a real workbook whose sheet unpacks to 256 MB of zeros (about 250 kB on disk)
    src = zipfile.ZipFile(io.BytesIO(_xlsx_bytes()))
    bomb = tmp_path / "placements.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with z.open(info.filename, "w", force_zip64=True) as f:
                    zeros = b"\0" * MB
                    for _ in range(256):
                        f.write(zeros)
            else:
                z.writestr(info, src.read(info))
    assert bomb.stat().st_size < 2 * MB
    err, peak = _peak(lambda: read_raw(bomb, name="placements"))
    assert isinstance(err, InputTooLargeError), err
    assert "unpacked" in str(err) and "GEOSUFF_MAX_INPUT_MB" in str(err)
    assert isinstance(err, InputFileError) and err.fix
    assert peak < MEMORY_BOUND, f"read {peak / MB:.0f} MB"
    # the same workbook unbombed reads
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(_xlsx_bytes())
    assert len(read_raw(ok, name="placements").df) == 1


def test_gzip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOSUFF_MAX_INPUT_MB", "4")
    p = tmp_path / "placements.csv.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"CHILD,PLACE,HOME_POST,PL_POST\n")
        for _ in range(16):
            f.write(b"1,K2,LE15 6HP,LE15 6HP\n" * (MB // 24))
    assert p.stat().st_size < MB
    err, peak = _peak(lambda: read_raw(p, name="placements"))
    assert isinstance(err, InputTooLargeError) and "unpacked" in str(err)
    assert peak < MEMORY_BOUND


def test_two_gigabyte_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOSUFF_MAX_INPUT_MB", raising=False)
    p = tmp_path / "placements.csv"
    with open(p, "wb") as f:
        f.write(b"CHILD,PLACE,HOME_POST,PL_POST\n")
        f.truncate(2 * 1024 * MB)  # sparse: 2 GB long, almost nothing on disk
    assert p.stat().st_size == 2 * 1024 * MB
    err, peak = _peak(lambda: read_raw(p, name="placements"))
    assert isinstance(err, InputTooLargeError), err
    assert "2,048.0 MB" in str(err) and f"({DEFAULT_MAX_INPUT_MB} MB)" in str(err)
    assert peak < MEMORY_BOUND


def test_two_gigabyte_csv_in_a_run_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    monkeypatch.delenv("GEOSUFF_MAX_INPUT_MB", raising=False)
    syn = synthesise("E06000017", tmp_path / "in", n_children=20, output_dir="../out")
    placements = Path(load_config(syn.config).inputs.placements)
    with open(placements, "r+b") as f:
        f.truncate(2 * 1024 * MB)
    sc = load_config(syn.config)
    with pytest.raises(InputTooLargeError):
        run(sc)
    assert not sc.output.dir.exists()  # refused before anything was written


def _config(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "cfg" / "review.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    for name in ("placements.csv", "sites.csv"):
        (p.parent / name).write_text("x\n", encoding="utf-8")
    p.write_text(
        'council = "E06000017"\n[inputs]\nplacements = "placements.csv"\nsites = "sites.csv"\n'
        '[analysis]\ntravel = "estimate"\n' + body,
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize("depth", [100_000, 40])
def test_deeply_nested_toml(tmp_path: Path, depth: int) -> None:
    p = _config(tmp_path, "[network]\nx = " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(ConfigError, match="nests arrays or tables") as err:
        load_config(p)
    assert err.value.fix


def test_huge_config(tmp_path: Path) -> None:
    p = _config(tmp_path, "# " + "x" * (2 * MB) + "\n")
    with pytest.raises(ConfigError, match="a geosuff config is a few kB"):
        load_config(p)


@pytest.mark.parametrize(
    "folder", ["/", "/etc", "/usr", "/usr/local/share/geosuff", "/var/log", "/home", "HOME"]
)
def test_output_in_a_system_folder(tmp_path: Path, folder: str) -> None:
    folder = str(Path.home()) if folder == "HOME" else folder
    before = sorted(os.listdir(folder)) if os.path.isdir(folder) else None
    p = _config(tmp_path, f'[output]\ndir = "{folder}"\n')
    with pytest.raises(UnsafeOutputError, match="system or shared folder") as err:
        load_config(p)
    assert isinstance(err.value, ConfigError) and "outputs/rutland" in str(err.value)
    if before is not None:
        assert sorted(os.listdir(folder)) == before


def test_relative_output_climbing_into_etc(tmp_path: Path) -> None:
    cfg_dir = tmp_path / "cfg"
    up = "/".join([".."] * len(cfg_dir.parts))
    p = _config(tmp_path, f'[output]\ndir = "{up}/etc/geosuff"\n')
    with pytest.raises(UnsafeOutputError, match="/etc/geosuff"):
        load_config(p)
    assert not Path("/etc/geosuff").exists()
    # beside the config file is fine
    ok = _config(tmp_path, '[output]\ndir = "outputs/rutland"\n')
    assert load_config(ok).output.dir == (cfg_dir / "outputs" / "rutland").resolve()


def test_symlinked_output_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "cfg" / "outputs"
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    for d in ("outputs", "outputs/rutland"):
        p = _config(tmp_path, f'[output]\ndir = "{d}"\n')
        with pytest.raises(UnsafeOutputError, match="symbolic link") as err:
            load_config(p)
        assert err.value.fix and "real folder" in err.value.fix
    assert check_output_dir(elsewhere / "rutland") == (elsewhere / "rutland").resolve()
    assert list(elsewhere.iterdir()) == []


def test_symlinked_lock_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).symlink_to(victim)
    with pytest.raises(UnsafeOutputError, match="symbolic link"):
        with output_lock(out):
            pass
    assert victim.read_text(encoding="utf-8") == "keep me\n"


def test_symlinks_in_a_run(tmp_path: Path) -> None:
    """A scenario made in code with a linked output folder, and a link planted inside a real
    output folder (``tables -> elsewhere``): the run refuses, nothing reaches the link's target
    and the folder keeps the previous run's files."""
    import json

    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    syn = synthesise("E06000017", tmp_path / "in", n_children=20, output_dir="../out")
    sc = load_config(syn.config)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    linked = tmp_path / "linked_out"
    linked.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeOutputError):
        run(sc.model_copy(update={"output": sc.output.model_copy(update={"dir": linked})}))
    assert list(elsewhere.iterdir()) == []

    run(sc)
    out = sc.output.dir
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    tables = out / "tables"
    moved = tmp_path / "tables_real"
    tables.rename(moved)
    tables.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeOutputError, match="tables"):
        run(sc)
    assert list(elsewhere.iterdir()) == []
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert not [p for p in out.parent.iterdir() if "geosuff-staging" in p.name]


def test_every_refusal_is_a_geosuff_error() -> None:
    for cls in (InputTooLargeError, UnsafeOutputError):
        assert issubclass(cls, GeosuffError)
    assert issubclass(InputTooLargeError, ValueError)
