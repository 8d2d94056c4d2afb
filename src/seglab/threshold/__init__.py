"""Threshold segmentation: global (Otsu, Li, Yen, triangle, ISODATA, mean, minimum, multi-Otsu, manual),
local (block mean/Gaussian/median, Niblack, Sauvola) and hysteresis.

Every function takes a single-channel 2-D or 3-D image and returns
``(mask, info)``; ``multi_otsu`` returns ``(labels, info)``. Semantics follow
scikit-image exactly: ``mask == image > t`` (``image <= t`` with
``invert=True``). Constant images give an empty mask, ``info["constant"] =
True`` and a :class:`~seglab.ConstantImageWarning`.

:func:`threshold_from_histogram` computes a global threshold from histogram
counts and :func:`full_histogram` counts every value of a uint8/uint16 image
(the tiler sums them over tiles to threshold images larger than memory exactly);
:func:`run_parts` runs such a pass in parts on OpenCV's threads and :func:`row_views` cuts an array into the 2-D
views OpenCV splits over its threads itself (gray k-means' label lookup uses both).
"""

from ._global import isodata, li, manual, mean, minimum, multi_otsu, otsu, triangle, yen
from ._histogram import full_histogram, row_views, run_parts, threshold_from_histogram
from ._local import hysteresis, local, niblack, sauvola

__all__ = [
    "manual", "otsu", "multi_otsu", "li", "yen", "triangle", "isodata", "mean", "minimum",
    "local", "niblack", "sauvola", "hysteresis", "threshold_from_histogram", "full_histogram",
    "run_parts", "row_views",
]
