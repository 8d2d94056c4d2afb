"""Post-steps: opening, closing, fill_holes, remove_small_objects (mask -> mask) and label (mask -> labels).
Each equals one scikit-image/SciPy call; 2-D morphology and labelling run through OpenCV with identical results."""

from ._steps import closing, fill_holes, label, opening, remove_small_objects

__all__ = ["opening", "closing", "fill_holes", "remove_small_objects", "label"]
