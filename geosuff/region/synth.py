"""A SYNTHETIC region: one synthetic scenario per council and the region file."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geosuff._errors import ConfigError
from geosuff.config import GSS_RE

logger = logging.getLogger(__name__)

#: Share of each council's placements outside its own LA moved to another council of the region
#: (so the synthetic region has flows between its councils).
CROSS_BORDER_SHARE = 0.4


@dataclass
class SynthRegion:
    """What :func:`synthesise_region` wrote."""

    folder: Path
    region_file: Path
    councils: list[str]
    children: dict[str, int]


def _estimate_only(config: Path) -> None:
    """Make a synthetic council config use straight-line estimates (no road network), as
    ``geosuff synth`` does for councils without a shipped network.
    """
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^network = ".*"\n', "", text)
    if 'travel = "estimate"' not in text:
        text = re.sub(r"(?m)^(reference_date = .*)$", r'\1\ntravel = "estimate"', text, count=1)
    config.write_text(text, encoding="utf-8")


def _cross_border(placements: Path, council: str, others: list[str], seed: int) -> int:
    """Move a share of the council's placements outside its LA into the region's other
    councils (new PL_POST from their postcodes); the number moved.
    """
    from geosuff.synth import _council_postcodes, _england_postcodes

    if not others:
        return 0
    df = pd.read_csv(placements, dtype=str, keep_default_na=False)
    eng = _england_postcodes()
    utla = dict(zip(eng["postcode"].str.replace(" ", ""), eng["utla"], strict=False))
    own = _council_postcodes(council)
    own_set = set(own["postcode"].str.replace(" ", ""))
    pl = df["PL_POST"].str.replace(" ", "", regex=False)
    outside = np.flatnonzero([(p not in own_set) and utla.get(p, council) != council for p in pl])
    rng = np.random.default_rng(seed)
    move = outside[rng.random(outside.size) < CROSS_BORDER_SHARE]
    pools = {o: _council_postcodes(o)["postcode"].to_numpy(dtype=object) for o in others}
    for i in move:
        o = others[int(rng.integers(len(others)))]
        df.loc[i, "PL_POST"] = str(pools[o][int(rng.integers(len(pools[o])))])
    df.to_csv(placements, index=False, lineterminator="\n")
    return int(move.size)


def synthesise_region(
    councils: list[str],
    out_dir: str | Path,
    *,
    network: str | Path | None = None,
    seed: int = 2026,
    n_children: int | None = None,
    name: str | None = None,
) -> SynthRegion:
    """Write a SYNTHETIC region: ``<out>/<code>/`` per council (:func:`geosuff.synth.synthesise`)
    with some placements moved into the region's other councils, and ``<out>/region.toml``.

    Parameters
    ----------
    councils : list of str
        GSS codes of upper-tier LAs.
    out_dir : path
        Folder to write.
    network : path, optional
        One OSM network covering every council (written as the region's ``network``); without
        it travel times are straight-line estimates (``travel = "estimate"``) for every council.
    seed : int
        Council ``i`` uses ``seed + i``.
    n_children : int, optional
        Children per council (default: each council's DfE count).
    name : str, optional
        The region's name (default "Synthetic region").
    """
    from geosuff.synth import synthesise

    codes = [c.strip().upper() for c in councils if c.strip()]
    bad = [c for c in codes if not GSS_RE.match(c)]
    if bad or not codes:
        raise ConfigError(
            f"--councils must be GSS codes separated by commas (got {', '.join(bad) or 'none'}).",
            fix="For example --councils E06000017,E10000024.",
        )
    if len(set(codes)) != len(codes):
        raise ConfigError("--councils lists a council twice.", fix="List each council once.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    children = {}
    for i, code in enumerate(codes):
        res = synthesise(code, out / code, seed=seed + i, n_children=n_children, network=network)
        if network is None:
            _estimate_only(res.config)
        moved = _cross_border(
            out / code / "placements.csv", code, [c for c in codes if c != code], seed + i
        )
        logger.info(
            "synthetic %s: %d placements moved into the region's other councils", code, moved
        )
        children[code] = res.n_children
    region = out / "region.toml"
    lines = [
        "# SYNTHETIC region written by `geosuff synth-region` - not real children.",
        f'name = "{name or "Synthetic region"}"',
        "councils = [" + ", ".join(f'"{c}/config.toml"' for c in codes) + "]",
    ]
    if network is not None:
        lines.append(f'network = "{Path(network).resolve().as_posix()}"')
    lines += [
        "",
        "[siting]",
        "k = 3",
        "",
        "[output]",
        'dir = "outputs"',
        "",
        "[compute]",
        '# "" = embedded dask LocalCluster; "none" = in process; or "tcp://host:8786"',
        'scheduler = ""',
        "workers = 2",
        "",
    ]
    region.write_text("\n".join(lines), encoding="utf-8")
    return SynthRegion(folder=out, region_file=region, councils=codes, children=children)
