# Public names of ``seglab.tiling``: read by type checkers, and by ``lazy_loader.attach_stub`` in ``__init__.py``, which
# imports each module below on first access to one of its names (see ``seglab/__init__.pyi``).
from ._dask import tiled_segment
from ._io import open_array
from ._metrics import confusion_from_zarr
from ._plan import InexactTilingWarning, StitchWarning, TilePlan, TilingError, make_plan
from ._run import check_tileable, make_client, remove_scratch, run_tiled

__all__ = [
    "InexactTilingWarning",
    "StitchWarning",
    "TilePlan",
    "TilingError",
    "check_tileable",
    "confusion_from_zarr",
    "make_client",
    "make_plan",
    "open_array",
    "remove_scratch",
    "run_tiled",
    "tiled_segment",
]
