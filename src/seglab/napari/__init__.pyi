# Public names of ``seglab.napari``: read by type checkers, and by ``lazy_loader.attach_stub`` in
# ``__init__.py``, which imports each module below on first access to one of its names. A new public name
# is one import line here plus its entry in ``__all__`` (see ``seglab/__init__.pyi``).
from ._io import get_reader, read_seglab_zarr, write_labels
from ._widgets import CompareWidget, SegmentWidget, TrainWidget

__all__ = [
    "CompareWidget",
    "SegmentWidget",
    "TrainWidget",
    "get_reader",
    "read_seglab_zarr",
    "write_labels",
]
