"""The CLI: clear one-sentence errors, no traceback unless --debug."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from geosuff.cli import app

runner = CliRunner()


def test_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["review", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2
    text = res.output
    assert "does not exist" in text
    assert "Traceback" not in text


def test_bad_key_names_the_key(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('council = "E06000017"\ncouncill = 1\n[inputs]\nplacements="a"\nsites="b"\nnetwork="c"\n')
    res = runner.invoke(app, ["review", str(p)])
    assert res.exit_code == 2
    assert "councill" in res.output
    assert "Traceback" not in res.output


def test_version_and_help() -> None:
    assert "geosuff" in runner.invoke(app, ["--version"]).output
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("demo", "review", "validate", "synth", "network", "traveltime", "catchments", "distances", "sites"):
        assert cmd in res.output
