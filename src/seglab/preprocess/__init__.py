"""Pre-steps (image -> image of the same shape): grayscale, invert, median, gaussian, rescale_intensity,
equalize_adapthist. Each follows one scikit-image/SciPy function; see each docstring for the output dtype."""

from ._steps import equalize_adapthist, gaussian, grayscale, invert, median, rescale_intensity

__all__ = ["grayscale", "invert", "median", "gaussian", "rescale_intensity", "equalize_adapthist"]
