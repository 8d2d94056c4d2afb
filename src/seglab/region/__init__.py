"""Region-based segmentation: watershed (Sobel or distance-transform markers), region growing, connected components.

>>> from seglab.region import watershed, watershed_distance, region_growing, connected_components
"""

from ._grow import connected_components, region_growing
from ._watershed import band_markers, watershed, watershed_distance

__all__ = ["watershed", "watershed_distance", "band_markers", "region_growing", "connected_components"]
