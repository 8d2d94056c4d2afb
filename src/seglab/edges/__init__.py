"""Edge detection: Sobel/Scharr/Prewitt gradients, Laplace, LoG, Canny, and edge-based filling.

>>> from seglab.edges import sobel, scharr, prewitt, laplace, log, canny, edge_fill
"""

from ._canny import canny, edge_fill
from ._gradient import laplace, log, prewitt, scharr, sobel

__all__ = ["sobel", "scharr", "prewitt", "laplace", "log", "canny", "edge_fill"]
