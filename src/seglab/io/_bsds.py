"""BSDS500 ground truth: several human segmentations of one image in a MATLAB .mat file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from seglab._core.errors import ImageReadError


def read_truths(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """Read every annotator's region labels from a BSDS500 ``groundTruth`` .mat file.

    Parameters
    ----------
    path : str or Path
        A BSDS500 ground-truth file (``groundTruth[0, k]['Segmentation']``, one cell per annotator).

    Returns
    -------
    list of (M, N) ndarray
        One uint16 label image per annotator (labels start at 1).

    Raises
    ------
    ImageReadError
        Missing file, not a MATLAB file, or no ``groundTruth`` cell array in it.
    """
    from scipy.io import loadmat

    source = Path(path)
    if not source.is_file():
        raise ImageReadError(f"{source}: no such file")
    try:
        content = loadmat(str(source))
    except (ValueError, OSError, TypeError) as exc:
        raise ImageReadError(f"{source.name}: not a readable MATLAB .mat file ({exc})") from None
    cells = content.get("groundTruth")
    if cells is None:
        raise ImageReadError(f"{source.name}: no `groundTruth` variable; expected a BSDS500 ground-truth file")
    try:
        return [np.asarray(cells[0, k]["Segmentation"][0, 0]) for k in range(cells.shape[1])]
    except (KeyError, IndexError, ValueError) as exc:
        raise ImageReadError(f"{source.name}: `groundTruth` has no Segmentation cells ({exc})") from None
