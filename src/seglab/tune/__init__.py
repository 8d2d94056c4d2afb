"""Tune method parameters against ground truth: Optuna TPE, k-fold cross-validation over images.

>>> from seglab.tune import tune, write_tune_outputs
"""

from ._report import best_pipeline_dict, write_tune_outputs
from ._space import Dimension, pipeline_from_params, search_space, space_of_pipeline
from ._tune import FoldResult, MethodTuning, TuneResult, evaluate_pipeline, kfold_indices, tune

__all__ = [
    "Dimension",
    "FoldResult",
    "MethodTuning",
    "TuneResult",
    "best_pipeline_dict",
    "evaluate_pipeline",
    "kfold_indices",
    "pipeline_from_params",
    "search_space",
    "space_of_pipeline",
    "tune",
    "write_tune_outputs",
]
