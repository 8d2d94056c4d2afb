"""Tiled processing of images larger than memory, with dask.

One tiler for every registered method: each spec declares its halo and output
kind; masks, edges and probabilities are cropped, labels are stitched, global
thresholds take a histogram pass first. See :mod:`seglab.tiling._plan` (halo,
merge rules), :mod:`seglab.tiling._stitch` (labels) and
:mod:`seglab.tiling._run` (zarr output, resume, clusters).

>>> import numpy as np, seglab
>>> from seglab.tiling import make_plan
>>> "stitch" in ("crop", "stitch")
True
"""

from __future__ import annotations

import importlib

_LAZY = {
    "open_array": "seglab.tiling._io:open_array",
    "make_plan": "seglab.tiling._plan:make_plan",
    "TilePlan": "seglab.tiling._plan:TilePlan",
    "TilingError": "seglab.tiling._plan:TilingError",
    "StitchWarning": "seglab.tiling._plan:StitchWarning",
    "InexactTilingWarning": "seglab.tiling._plan:InexactTilingWarning",
    "tiled_segment": "seglab.tiling._dask:tiled_segment",
    "run_tiled": "seglab.tiling._run:run_tiled",
    "confusion_from_zarr": "seglab.tiling._metrics:confusion_from_zarr",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'seglab.tiling' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
