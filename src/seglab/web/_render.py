"""Pictures for the page: transparent RGBA overlays of results and fast PNG encoding.

Display only: nothing here changes a result. Exported overlays (``overlay.png``) use
:mod:`seglab.viz`, as ``seglab segment`` does; the live page gets transparent layers it can blend
with an opacity slider over the deep-zoom image.
"""

from __future__ import annotations

import base64

import numpy as np

__all__ = ["data_url", "encode_png", "histogram", "overlay_rgba"]

MASK_RGB = (255, 60, 60)
_LUT_SIZE = 4096
_rng = np.random.default_rng(12345)
# Random, bright label colours (label % 4096); fixed seed, so the same label keeps its colour.
LABEL_LUT = _rng.integers(50, 256, (_LUT_SIZE, 3)).astype(np.uint8)
# Heat map for edges and probabilities: black-red-yellow-white ramp.
_ramp = np.linspace(0.0, 1.0, 256)
HEAT_LUT = np.stack([np.clip(3 * _ramp, 0, 1), np.clip(3 * _ramp - 1, 0, 1), np.clip(3 * _ramp - 2, 0, 1)],
                    axis=-1)
HEAT_LUT = np.round(HEAT_LUT * 255).astype(np.uint8)


def _boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label (inner boundary, cheap)."""
    edge = np.zeros(labels.shape, bool)
    if labels.shape[0] > 1:
        diff = labels[1:, :] != labels[:-1, :]
        edge[1:, :] |= diff
        edge[:-1, :] |= diff
    if labels.shape[1] > 1:
        diff = labels[:, 1:] != labels[:, :-1]
        edge[:, 1:] |= diff
        edge[:, :-1] |= diff
    return edge


def overlay_rgba(data: np.ndarray, output: str, *, style: str = "fill", contour=None,
                 offset=(0, 0)) -> np.ndarray:
    """Return an (M, N, 4) uint8 layer for a result: transparent where there is nothing to show.

    Parameters
    ----------
    data : ndarray
        The result (mask, labels, edges, proba).
    output : str
        Its kind.
    style : {'fill', 'outline'}
        Fill objects (tinted) or draw their boundaries only.
    contour : (K, 2) array, optional
        Snake points in image coordinates (contour outputs), drawn as a line.
    offset : (row, col)
        Where `data` starts in the image (to place `contour`).
    """
    rows, cols = data.shape[:2]
    out = np.zeros((rows, cols, 4), np.uint8)
    if output in ("mask", "contour"):
        mask = np.asarray(data, bool)
        edge = _boundaries(mask) & mask
        if style == "fill":
            out[mask] = (*MASK_RGB, 110)
        out[edge] = (*MASK_RGB, 255)
    elif output == "labels":
        labels = np.asarray(data)
        inside = labels > 0
        edge = _boundaries(labels) & inside
        if style == "fill":
            out[..., :3] = LABEL_LUT[labels % _LUT_SIZE]
            out[..., 3] = np.where(inside, 140, 0)
            out[edge, 3] = 255
        else:
            out[edge] = (255, 255, 0, 255)
    else:  # edges, proba, image: a heat map whose opacity follows the value
        values = np.asarray(data, np.float32)
        if values.ndim == 3:
            values = values.mean(axis=-1)
        top = float(values.max()) if values.size else 0.0
        lo = float(values.min()) if values.size else 0.0
        if output == "proba":
            norm = np.clip(values, 0, 1)
        else:
            norm = (values - lo) / (top - lo) if top > lo else np.zeros_like(values)
        index = np.round(norm * 255).astype(np.uint8)
        out[..., :3] = HEAT_LUT[index]
        out[..., 3] = index
    if contour is not None and len(contour):
        import cv2

        points = np.round(np.asarray(contour)[:, ::-1] - np.asarray(offset)[::-1]).astype(np.int32)
        cv2.polylines(out, [points.reshape(-1, 1, 2)], True, (255, 230, 0, 255), 1)
    return out


def encode_png(array: np.ndarray, *, level: int = 1) -> bytes:
    """PNG bytes of a gray, RGB or RGBA uint8 (or uint16 gray) array (OpenCV, fast compression)."""
    import cv2

    if array.ndim == 3 and array.shape[-1] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif array.ndim == 3 and array.shape[-1] == 4:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:  # pragma: no cover - OpenCV refuses only impossible shapes
        raise ValueError(f"cannot encode an array of shape {array.shape} as PNG")
    return buffer.tobytes()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def histogram(image: np.ndarray) -> dict | None:
    """256-bin histogram of a gray image: ``{"counts", "lo", "hi"}``; bin i starts at lo + i (hi - lo) / 256."""
    image = np.asarray(image)
    if image.ndim != 2 or image.size == 0:
        return None
    if image.dtype == np.uint8:
        return {"counts": np.bincount(image.ravel(), minlength=256).tolist(), "lo": 0.0, "hi": 256.0}
    values = image.astype(np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, _ = np.histogram(values, bins=256, range=(lo, hi))
    return {"counts": counts.tolist(), "lo": lo, "hi": hi}
