"""Compare segmentation methods against ground truth and rank them.

>>> from seglab.compare import compare, rank
"""

from ._compare import Candidate, compare, rank, resolve_candidates
from ._pairing import expand_paths, pair_files
from ._report import OverlayCollector, write_report, write_results
from ._score import infer_metric_kind, metric_kind_of

__all__ = [
    "Candidate",
    "OverlayCollector",
    "compare",
    "expand_paths",
    "infer_metric_kind",
    "metric_kind_of",
    "pair_files",
    "rank",
    "resolve_candidates",
    "write_report",
    "write_results",
]
