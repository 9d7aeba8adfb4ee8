"""geosuff: geography for the children's-services sufficiency duty (Children Act 1989 s22G).

Catchments around provision sites, placement-distance gaps and site selection for English councils.
All metric work is in British National Grid (EPSG:27700).

The main entry points are re-exported here and imported on first use, so that ``import geosuff``
stays cheap and the layers below (:mod:`geosuff.reference` ... :mod:`geosuff.cli`) import in one
direction only::

    from geosuff import load_config, run
    res = run(load_config("my-council.toml"), write=False)
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: public name -> module that defines it (imported lazily by :func:`__getattr__`)
_EXPORTS = {
    "BNG": "geosuff.reference",
    "WGS84": "geosuff.reference",
    "load_config": "geosuff.config",
    "Scenario": "geosuff.config",
    "run": "geosuff.pipeline",
    "run_demo": "geosuff.pipeline",
    "Results": "geosuff.results",
    "od_matrix": "geosuff.routing",
    "from_cost_matrix": "geosuff.siting",
    "build_graph": "geosuff.network",
    "publish": "geosuff.publication.ledger",
    "GeosuffError": "geosuff._errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name])
        value = module if name == "publish" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'geosuff' has no attribute {name!r}")
