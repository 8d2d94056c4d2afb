"""Deep learning: a 2-D U-Net (MONAI BasicUNet) trained on the user's own images, on a CPU in minutes.

* :func:`train_unet` — pairs of images and truths -> a model folder (safetensors weights + config.json),
  ``task='semantic'`` (mask / classes) or ``'instance'`` (interior / boundary / background, then a seeded
  watershed); validation each epoch, early stopping, checkpoints and exact resume.
* :func:`unet`, :func:`unet_instance` — the registered methods (``seglab.segment(image, "unet",
  model=folder)``): sliding windows blended with MONAI's Gaussian weights, tiled exactly.
* :func:`predict_probabilities`, :func:`percentile_range` — the probability maps and the normalisation.

This package is the only place seglab imports torch and MONAI, and only when one of these names is used:
``import seglab.deep`` (which the registry does to read ``seglab.deep._spec``) imports neither.
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
