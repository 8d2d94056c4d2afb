"""Learned segmentation without deep learning: a pixel classifier, and the model folder every learned model uses.

* :func:`save_model` / :func:`load_model` — the one model-folder format
  (``weights.safetensors`` + ``config.json``), loaded without executing code;
  every problem is one :class:`ModelError`.
* :func:`hash_arrays` / :func:`hash_files` — training-data hashes for a model's config.
* :func:`pixel_features` — ilastik's multiscale features (cached per image).
* :func:`fit_pixel_classifier` -> :class:`PixelClassifier` — a random forest
  trained from scribbles or masks; ``.predict``, ``.save``, ``PixelClassifier.load``.
  The registered method ``pixel_classifier`` runs a saved model.
* :func:`train_pixel_classifier` — the ``seglab train`` workflow (files in, model folder out).

Names are imported on first use, so ``import seglab.learn`` (which the
registry does to read ``seglab.learn._spec``) imports neither scikit-learn nor
OpenCV.
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
