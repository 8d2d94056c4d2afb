"""Workflows: the product's jobs as plain functions, between the API and the front ends.

Each takes its inputs, a ``progress`` callback receiving :class:`Event` records
and a :class:`CancelToken`, and writes through :mod:`seglab.io`. The CLI, the
web server and the napari plugin only parse, call and display.

* :func:`segment_files` — segment a batch of files into a folder (``seglab segment``);
* compare (:func:`seglab.compare.compare`), tune (:func:`seglab.tune.tune`), tile
  (:func:`seglab.tiling.run_tiled`) and train (``seglab.learn`` / ``seglab.deep``) live in their
  rooms and follow the same contract.
"""

from ._events import Cancelled, CancelToken, Event, ProgressCallback, emit
from ._segment import OUTPUT_SUFFIX, BatchResult, expand_inputs, segment_file, segment_files

__all__ = [
    "BatchResult", "CancelToken", "Cancelled", "Event", "OUTPUT_SUFFIX", "ProgressCallback", "emit",
    "expand_inputs", "segment_file", "segment_files",
]
