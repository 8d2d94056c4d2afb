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

import importlib

_LAZY = {
    "train_unet": "seglab.deep._train:train_unet",
    "TRAIN_OPTIONS": "seglab.deep._train:OPTIONS",
    "unet": "seglab.deep._predict:unet",
    "unet_instance": "seglab.deep._predict:unet_instance",
    "predict_probabilities": "seglab.deep._predict:predict_probabilities",
    "load_unet": "seglab.deep._predict:load_unet",
    "percentile_range": "seglab.deep._data:percentile_range",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'seglab.deep' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
