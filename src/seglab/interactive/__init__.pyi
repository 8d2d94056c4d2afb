# Public names of ``seglab.interactive``: read by type checkers, and by ``lazy_loader.attach_stub`` in
# ``__init__.py``, which imports each module below on first access to one of its names (see ``seglab/__init__.pyi``).
from ._contours import active_contour, morphological_chan_vese, morphological_geodesic_active_contour
from ._grabcut import grabcut
from ._random_walker import random_walker
from .inputs import circle_contour, parse_contour, parse_rect, seeds_from_json

__all__ = [
    "active_contour",
    "circle_contour",
    "grabcut",
    "morphological_chan_vese",
    "morphological_geodesic_active_contour",
    "parse_contour",
    "parse_rect",
    "random_walker",
    "seeds_from_json",
]
