"""Confusion overlay: where a predicted mask is right and wrong, over the image.

Each pixel gets the category of :func:`seglab.metrics.binary.confusion_counts`
and one colour. The palette is colour-blind aware: the two errors are
vermillion and blue from the Okabe-Ito palette (distinguishable with
protanopia, deuteranopia and tritanopia, and also by lightness), true positives
are Okabe-Ito bluish green (saturated, so it stands out on light and dark gray
alike; white TPs vanished on bright tissue such as the KESM tile), and true
negatives are the grayscale image itself, so the scene stays readable.

========  ==========================  ===============
category  meaning                     RGB
========  ==========================  ===============
TP        foreground, found           (0, 158, 115)
FP        background, claimed         (213, 94, 0)
FN        foreground, missed          (0, 114, 178)
TN        background, left alone      the gray image
========  ==========================  ===============

References
----------
.. [1] Okabe M., Ito K. (2008). Color Universal Design (CUD): how to make figures
       and presentations that are friendly to colorblind people.
       https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError
from seglab._core.validation import check_image, check_mask, check_same_shape

__all__ = ["TP_COLOR", "FP_COLOR", "FN_COLOR", "CONFUSION_COLORS", "confusion_overlay", "confusion_legend",
           "with_confusion_key", "CONFUSION_KEY"]

TP_COLOR = (0, 158, 115)  # Okabe-Ito bluish green
FP_COLOR = (213, 94, 0)  # Okabe-Ito vermillion
FN_COLOR = (0, 114, 178)  # Okabe-Ito blue

#: Category -> RGB; TN is ``None``: it shows the grayscale image unchanged.
CONFUSION_COLORS = {"TP": TP_COLOR, "FP": FP_COLOR, "FN": FN_COLOR, "TN": None}

_MEANING = {
    "TP": "true positive: foreground in truth and prediction",
    "FP": "false positive: predicted foreground, truly background",
    "FN": "false negative: truly foreground, predicted background",
    "TN": "true negative: background in both",
}
_NAMES = {"TP": "bluish green", "FP": "vermillion", "FN": "blue", "TN": "gray image"}


def _gray_uint8(image) -> np.ndarray:
    array, info = check_image(image, name="image", min_size=1)
    if info.is_color:
        # ITU-R BT.601 luma, as skimage.color.rgb2gray / OpenCV use
        array = array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
        if np.asarray(image).dtype == np.uint8:
            return np.clip(np.round(array), 0, 255).astype(np.uint8)
    if array.dtype == np.uint8:
        return array
    # 16-bit and float: the display rule of seglab.viz.display (0.5-99.5th percentile stretch)
    from .display import to_display

    return to_display(array, rgb=False)


def confusion_overlay(image: ArrayLike, mask_true: ArrayLike, mask_pred: ArrayLike, *,
                      alpha: float = 0.6) -> np.ndarray:
    """Colour each pixel of `image` by its confusion category (TP, FP, FN; TN unchanged).

    Parameters
    ----------
    image : (M, N) or (M, N, 3) array_like
        Background image: the original image, not a pre-processed one. uint8
        is used as is; other dtypes are stretched from their 0.5th to 99.5th
        percentile to 0..255 (:mod:`seglab.viz.display`); colour images are
        converted to gray (BT.601 luma).
    mask_true : (M, N) array_like of bool or {0, v}
        Ground truth.
    mask_pred : (M, N) array_like of bool or {0, v}
        Prediction.
    alpha : float in [0, 1]
        Opacity of the category colours: a TP/FP/FN pixel is
        ``round((1 - alpha) * gray + alpha * colour)``. ``alpha=1`` paints the
        exact colours of :data:`CONFUSION_COLORS`.

    Returns
    -------
    (M, N, 3) ndarray of uint8
        TP bluish green (0, 158, 115), FP vermillion (213, 94, 0), FN blue
        (0, 114, 178), TN the gray image.

    Raises
    ------
    ShapeMismatchError
        When the masks do not have the image's (M, N) shape.
    ParameterError
        When `alpha` is outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((1, 4), 100, np.uint8)
    >>> out = confusion_overlay(img, np.array([[1, 1, 0, 0]]), np.array([[1, 0, 1, 0]]), alpha=1.0)
    >>> out[0].tolist()
    [[0, 158, 115], [0, 114, 178], [213, 94, 0], [100, 100, 100]]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ParameterError(f"`alpha` is an opacity in [0, 1]; got {alpha}")
    gray = _gray_uint8(image)
    t = check_mask(mask_true, name="mask_true")
    p = check_mask(mask_pred, name="mask_pred")
    check_same_shape(gray, t, reference_name="image", other_name="mask_true")
    check_same_shape(gray, p, reference_name="image", other_name="mask_pred")
    out = np.repeat(gray[..., None], 3, axis=-1)
    for where, color in ((t & p, TP_COLOR), (~t & p, FP_COLOR), (t & ~p, FN_COLOR)):
        if not where.any():
            continue
        g = gray[where].astype(np.float64)[:, None]
        blended = (1.0 - alpha) * g + alpha * np.asarray(color, np.float64)[None, :]
        out[where] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return out


def confusion_legend() -> str:
    """Return a text legend of the overlay colours, one line per category.

    Examples
    --------
    >>> print(confusion_legend().splitlines()[0])
    TP  bluish green (0, 158, 115)    true positive: foreground in truth and prediction
    """
    lines = []
    for key, color in CONFUSION_COLORS.items():
        rgb = str(color) if color is not None else "(image)"
        lines.append(f"{key:<3} {_NAMES[key]:<12} {rgb:<16} {_MEANING[key]}")
    return "\n".join(lines)


#: The key drawn under every confusion picture: (label, colour); TN shows the image itself.
CONFUSION_KEY = (("TP found", TP_COLOR), ("FP false alarm", FP_COLOR), ("FN missed", FN_COLOR),
                 ("TN: image", None))


def with_confusion_key(picture, *, note: str = "") -> np.ndarray:
    """Append the colour key (TP, FP, FN, TN) under a confusion picture; `note` follows it.

    Examples
    --------
    >>> import numpy as np
    >>> out = with_confusion_key(np.zeros((10, 400, 3), np.uint8))
    >>> out.shape[0] > 10, out.shape[1]
    (True, 400)
    """
    from .display import add_key

    return add_key(np.asarray(picture), CONFUSION_KEY, note=note)
