"""Instance segmentation: split touching objects (distance-transform watershed) and measure objects.

>>> from seglab.instance import split_touching, split_touching_mask, measure, write_csv
"""

from ._measure import PROPERTIES, labels_for_measure, measure, pixel_size_from_file, write_csv
from ._split import split_touching, split_touching_mask

__all__ = ["split_touching", "split_touching_mask", "measure", "write_csv", "PROPERTIES", "labels_for_measure",
           "pixel_size_from_file"]
