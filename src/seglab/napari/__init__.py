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

import importlib

_LAZY = {
    "SegmentWidget": "seglab.napari._widgets:SegmentWidget",
    "CompareWidget": "seglab.napari._widgets:CompareWidget",
    "TrainWidget": "seglab.napari._widgets:TrainWidget",
    "get_reader": "seglab.napari._io:get_reader",
    "read_seglab_zarr": "seglab.napari._io:read_seglab_zarr",
    "write_labels": "seglab.napari._io:write_labels",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'seglab.napari' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
