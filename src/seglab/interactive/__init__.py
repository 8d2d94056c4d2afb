"""Interactive segmentation: methods that need user input (seeds, an initial contour, a rectangle).

The functions live in private modules and are imported on first use, so
``import seglab.interactive`` stays cheap (no cv2, no pyamg).
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
