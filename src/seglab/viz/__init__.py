"""Visual helpers: overlays, confusion colours, histograms, elbow plots and panels.

Names are loaded lazily from their modules (``seglab.viz.overlay``, ``.confusion``, ``.plots``, ``.elbow``), so
importing this package loads neither matplotlib nor scikit-image.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "overlay_for": "overlay", "label_overlay": "overlay", "mask_overlay": "overlay", "edges_image": "overlay",
    "contour_overlay": "overlay", "save_png": "overlay", "save_figure": "overlay", "to_uint8": "overlay",
    "confusion_overlay": "confusion", "confusion_legend": "confusion",
    "histogram_plot": "plots", "sobel_panels": "plots", "contour_plot": "plots", "panel": "plots",
    "elbow_plot": "elbow",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seglab.viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"seglab.viz.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
