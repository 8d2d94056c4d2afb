"""Superpixels: SLIC, Felzenszwalb, quickshift; RAG merging; region-average images.

Labels are int32 and start at 1 (scikit-image's 0-based felzenszwalb/quickshift labels are shifted by +1).

>>> from seglab.superpixel import slic, felzenszwalb, quickshift, rag_merge, region_average
"""

from ._rag import rag_merge
from ._superpixel import felzenszwalb, quickshift, region_average, slic

__all__ = ["slic", "felzenszwalb", "quickshift", "rag_merge", "region_average"]
