"""Compare segmentation methods against ground truth and rank them.

>>> from seglab.compare import compare, rank
"""

from ._compare import Candidate, auto_gray, compare, load_input, pipeline_label, rank, resolve_candidates
from ._pairing import expand_paths, pair_files
from ._report import REPORT_CSS, OverlayCollector, figure_data_uri, fmt, write_report, write_results
from ._score import LOWER_IS_BETTER, infer_metric_kind, metric_kind_of, score

__all__ = [
    "LOWER_IS_BETTER",
    "REPORT_CSS",
    "auto_gray",
    "figure_data_uri",
    "fmt",
    "load_input",
    "pipeline_label",
    "score",
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
