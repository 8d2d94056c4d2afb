"""seglab inside napari: dock widgets built from the registry, a reader and a writer (npe2 plugin).

Install with ``pip install "seglab[napari]"``; napari then finds the manifest ``napari.yaml`` through the
``napari.manifest`` entry point and imports a contribution only when the user opens it:

* ``Segment`` (:class:`SegmentWidget`) — any registered method with pre- and post-steps, its form
  generated from the registry schema; drawn inputs from Labels/Points/Shapes layers; scribbles that
  train the pixel classifier as you paint; dask/zarr layers through the tiler; export to a pipeline
  YAML that ``seglab segment --pipeline`` reruns bit for bit;
* ``Compare`` (:class:`CompareWidget`) — metrics against a ground-truth layer and a confusion layer;
* ``Train`` (:class:`TrainWidget`) — train a pixel classifier from an image and a labels layer;
* a reader for the zarr stores ``seglab tile`` writes and a writer for Labels layers.

Importing this package imports neither napari nor Qt (the registry scans every seglab subpackage).
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
