"""Interactive segmentation: methods that need user input (seeds, an initial contour, a rectangle).

The functions live in private modules and are imported on first use, so
``import seglab.interactive`` stays cheap (no cv2, no pyamg).
"""

from __future__ import annotations

import importlib

__all__ = [
    "random_walker",
    "active_contour",
    "morphological_chan_vese",
    "morphological_geodesic_active_contour",
    "grabcut",
    "seeds_from_json",
    "parse_contour",
    "parse_rect",
    "circle_contour",
]

_WHERE = {
    "random_walker": "._random_walker",
    "active_contour": "._contours",
    "morphological_chan_vese": "._contours",
    "morphological_geodesic_active_contour": "._contours",
    "grabcut": "._grabcut",
    "seeds_from_json": ".inputs",
    "parse_contour": ".inputs",
    "parse_rect": ".inputs",
    "circle_contour": ".inputs",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
