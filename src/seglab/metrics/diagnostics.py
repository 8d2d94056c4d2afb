"""Notice degenerate results and say what usually helps.

A score alone does not tell a user *why* a method failed. :func:`diagnose` looks at a prediction
beside its truth and returns short notes for the cases a practitioner spots at a glance:

* the prediction is empty, or covers (almost) the whole image while the truth does not;
* it has far more objects than the truth (noise or texture cut into fragments: Otsu on raw
  GOWT1 gives ~2,900 objects for 25 nuclei) or far fewer (touching objects merged);
* a partition with far more (or fewer) regions than the truth (over- / under-segmentation).

The thresholds (10x more or fewer objects, 95 % coverage) are deliberately coarse: a note is
a hint to look, not a verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["diagnose", "FAR_RATIO", "FULL_FRACTION"]

#: Object (or region) counts differing from the truth's by this factor or more get a note.
FAR_RATIO = 10.0
#: A mask covering at least this fraction of the image while the truth covers much less gets a note.
FULL_FRACTION = 0.95


def _count_objects(mask: np.ndarray) -> int:
    from scipy import ndimage as ndi

    return int(ndi.label(mask)[1])


def _count_labels(labels: np.ndarray) -> int:
    values = np.unique(labels)
    return int(np.count_nonzero(values))


def _ratio_note(n_pred: int, n_true: int, what: str) -> str:
    if n_true > 0 and n_pred >= FAR_RATIO * n_true:
        hint = ("fragmented; try pre-step gaussian (e.g. --pre gaussian:sigma=2) or post-step remove_small_objects"
                if what == "objects" else "over-segmented; try fewer segments (n_segments, a larger scale)")
        return f"{n_pred} {what}, {n_pred / n_true:.0f}x more than the truth's {n_true}: {hint}"
    if n_pred > 0 and n_true >= FAR_RATIO * n_pred:
        hint = ("try post-step split_touching or the method watershed_distance" if what == "objects"
                else "try more segments (n_segments, a smaller scale)")
        return f"{n_pred} {what}, {n_true / n_pred:.0f}x fewer than the truth's {n_true}: objects are merged; {hint}"
    return ""


def diagnose(truth: NDArray[Any], prediction: NDArray[Any], kind: str) -> list[str]:
    """Return short notes when `prediction` is degenerate next to `truth` (empty list if none).

    Parameters
    ----------
    truth, prediction : ndarray
        Prepared as the metric kind needs them (:mod:`seglab.metrics._rule`): bool masks for
        ``'binary'``, int labels for ``'instance'`` and ``'region'``.
    kind : {'binary', 'instance', 'region'}

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((20, 20), bool); truth[5:15, 5:15] = True
    >>> diagnose(truth, np.zeros((20, 20), bool), "binary")
    ['empty prediction: nothing was segmented (the truth has 25% foreground)']
    """
    several = None
    if isinstance(truth, (list, tuple)):
        # Several annotators (BSDS): compare with their mean region count.
        several = round(float(np.mean([np.unique(np.asarray(t)).size for t in truth])))
        truth = truth[0]
    truth = np.asarray(truth)
    prediction = np.asarray(prediction)
    notes: list[str] = []
    if kind in ("binary", "instance"):
        t = truth != 0
        p = prediction != 0
        true_fraction = float(t.mean()) if t.size else 0.0
        fraction = float(p.mean()) if p.size else 0.0
        if not p.any():
            if t.any():
                notes.append(f"empty prediction: nothing was segmented (the truth has {true_fraction:.0%} foreground)")
            return notes
        if fraction >= FULL_FRACTION and true_fraction < FULL_FRACTION - 0.15:
            notes.append(f"the mask covers {fraction:.0%} of the image (the truth {true_fraction:.0%}): foreground "
                         "and background may be swapped (try pre-step invert) or the threshold is off")
            return notes  # one object covering everything: the count adds nothing
        if kind == "binary":
            n_true, n_pred = _count_objects(t), _count_objects(p)
        else:
            n_true, n_pred = _count_labels(truth), _count_labels(prediction)
        note = _ratio_note(n_pred, n_true, "objects")
        if note:
            notes.append(note)
    elif kind == "region":
        n_true, n_pred = np.unique(truth).size, np.unique(prediction).size
        if several is not None:
            n_true = several
        elif n_true <= 2:
            # A binary truth scored as a partition: its objects (plus the background) are what a
            # label output should find, not "two regions".
            n_true = _count_objects(truth != 0) + 1
            # ... and the prediction's regions are its connected pieces (a k-means cluster is
            # scattered over the image; its label value is not one region).
            from skimage.measure import label

            n_pred = int(label(prediction, background=-1, connectivity=1).max())
        if n_pred == 1 and n_true > 1:
            notes.append("one region: the whole image is a single segment")
        else:
            note = _ratio_note(n_pred, n_true, "regions")
            if note:
                notes.append(note)
    return notes
