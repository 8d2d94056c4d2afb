"""One picture of a result beside its truth, for reports (compare, tune, the demo).

:func:`result_picture` draws what a metric saw, on the *original* image (display rule of
:mod:`seglab.viz.display`): confusion colours of the foreground with their key when the result
is scored as a mask or as objects, the predicted region boundaries (red) when it is scored as a
partition, and a plain overlay when there is no truth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["result_picture", "png_uri"]


def result_picture(image, data, output: str, truth=None, *, max_side: int = 480) -> tuple[np.ndarray, str]:
    """Return ``(picture, caption)``: a uint8 RGB picture of a method's output and how it is drawn.

    Parameters
    ----------
    image : (M, N[, 3]) ndarray
        The original image.
    data : (M, N) ndarray
        The output (mask, labels, probabilities).
    output : str
        Its kind (``'mask'``, ``'labels'``, ``'proba'``, ``'contour'``, ``'edges'``).
    truth : (M, N) ndarray, optional
        Ground truth; the scoring rule (:func:`seglab.metrics.metric_kind_for`) picks the picture.
    max_side : int
        Longest side of the picture (every k-th pixel above it).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 60), np.uint8); truth = np.zeros((40, 60), bool); truth[10:20, 10:30] = True
    >>> picture, caption = result_picture(image, truth, "mask", truth)
    >>> picture.shape[1], caption.startswith("confusion colours")
    (60, True)
    """
    from .display import display_note, display_stride, reduce, to_display

    image = np.asarray(image)
    data = np.asarray(data)
    step = display_stride(image.shape, max_side)
    small_image, small = reduce(image, step), reduce(data, step)
    size_note = f"; drawn at 1/{step} size" if step > 1 else ""
    shown = display_note(image)
    if output == "edges":
        from .overlay import edges_image

        return edges_image(small), f"edge map{size_note}"
    mask_like = small >= 0.5 if output == "proba" else small
    if truth is None:
        from .overlay import label_overlay, mask_overlay

        if output == "labels":
            return label_overlay(small_image, small, kind="overlay"), f"labels over the image ({shown}){size_note}"
        return mask_overlay(small_image, mask_like != 0), f"mask in red over the image ({shown}){size_note}"
    from seglab.metrics import metric_kind_for, truth_kind

    kind = metric_kind_for(truth_kind(truth), output)
    small_truth = reduce(np.asarray(truth), step)
    if kind in ("binary", "instance"):
        from .confusion import confusion_overlay, with_confusion_key

        picture = confusion_overlay(small_image, small_truth != 0, np.asarray(mask_like) != 0)
        return with_confusion_key(picture), f"confusion colours of the foreground ({shown}){size_note}"
    from skimage.segmentation import find_boundaries

    picture = to_display(small_image, rgb=True).copy()
    picture[find_boundaries(small, mode="inner")] = (255, 40, 40)
    return picture, f"predicted region boundaries in red ({shown}){size_note}"


def png_uri(rgb: np.ndarray) -> str:
    """Encode a uint8 picture as a ``data:image/png;base64`` URI (Pillow), for self-contained HTML."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
