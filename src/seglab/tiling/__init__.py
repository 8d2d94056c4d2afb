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

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
