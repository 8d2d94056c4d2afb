"""seglab: a workbench for image segmentation.

Every classical method behind one call, learned segmentation, honest metrics,
comparison and tuning, and tiled processing of images larger than memory.

The public API is loaded lazily: ``import seglab`` imports NumPy-free code
only, and each name below imports its module on first use.

>>> import seglab
>>> "otsu" in seglab.list_methods()
True
"""

from __future__ import annotations

import lazy_loader as _lazy

__version__ = "0.1.0"

# The public names are listed once, in ``__init__.pyi`` (scikit-image's mechanism): type checkers read the stub,
# and ``attach_stub`` turns each of its relative imports into an attribute imported on first access, so
# ``import seglab`` imports neither NumPy-heavy code nor any subpackage.
__getattr__, _stub_dir, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = sorted([*__all__, "__version__"])


def __dir__() -> list[str]:
    return list(__all__)
