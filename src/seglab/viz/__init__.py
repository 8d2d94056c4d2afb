"""Visual helpers: overlays, confusion colours, histograms, elbow plots and panels.

Names are loaded lazily from their modules (``seglab.viz.overlay``, ``.confusion``, ``.plots``, ``.elbow``), so
importing this package loads neither matplotlib nor scikit-image.
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
