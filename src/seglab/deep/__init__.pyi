# Public names of ``seglab.deep``: read by type checkers, and by ``lazy_loader.attach_stub`` in
# ``__init__.py``, which imports each module below on first access to one of its names. A new public name
# is one import line here plus its entry in ``__all__`` (see ``seglab/__init__.pyi``).
from ._data import percentile_range
from ._predict import load_unet, predict_probabilities, unet, unet_instance
from ._train import TRAIN_OPTIONS, train_unet

__all__ = [
    "TRAIN_OPTIONS",
    "load_unet",
    "percentile_range",
    "predict_probabilities",
    "train_unet",
    "unet",
    "unet_instance",
]
