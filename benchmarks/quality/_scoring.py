"""Scores shared by the learned-method benchmarks (pixel classifier and U-Net), so both report alike."""

from __future__ import annotations

import numpy as np


def binary_summary(truth, mask) -> dict:
    """F1, IoU, MCC, precision and recall of a mask against a binary truth, as floats."""
    from seglab.metrics.binary import binary_scores

    s = binary_scores(truth, mask)
    return {k: float(s[k]) for k in ("f1", "iou", "mcc", "precision", "recall")}


def isbi_scores(truth_label: np.ndarray, interior_mask: np.ndarray) -> dict:
    """ISBI 2012 membranes (truth 0 = membrane): membrane F1, adapted Rand error and VI (split + merge, bits).

    Regions are the connected components of the non-membrane pixels, in the truth and in the prediction.
    """
    from scipy import ndimage as ndi

    from seglab.metrics.region import adapted_rand_error, variation_of_information

    scores = binary_summary(truth_label == 0, ~interior_mask)
    regions_true = ndi.label(truth_label > 0)[0]
    regions_pred = ndi.label(interior_mask)[0]
    are = adapted_rand_error(regions_true, regions_pred)
    are = are[0] if isinstance(are, tuple) else are
    vi = variation_of_information(regions_true, regions_pred)
    vi = float(sum(vi)) if isinstance(vi, tuple) else float(vi)
    return {"membrane_f1": scores["f1"], "adapted_rand_error": float(are), "vi": vi}
