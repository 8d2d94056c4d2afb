"""Pictures for the page: transparent RGBA overlays of results and fast PNG encoding.

Display only: nothing here changes a result. Exported overlays (``overlay.png``) use
:mod:`seglab.viz`, as ``seglab segment`` does; the live page gets transparent layers it can blend
with an opacity slider over the deep-zoom image.
"""

from __future__ import annotations

import base64

import numpy as np

__all__ = ["data_url", "encode_png", "histogram", "overlay_png"]

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


def _inner_edge(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (one erosion; the image border does not count)."""
    import cv2

    eroded = cv2.erode(mask.view(np.uint8), _CROSS, borderType=cv2.BORDER_REPLICATE)
    return mask & ~eroded.view(bool)


def _label_edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood holds another label (float32 morphology: exact below 2**24 labels)."""
    import cv2

    values = labels.astype(np.float32)
    high = cv2.dilate(values, _CROSS, borderType=cv2.BORDER_REPLICATE)
    low = cv2.erode(values, _CROSS, borderType=cv2.BORDER_REPLICATE)
    return (high != low) & (labels > 0)


_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
_EMPTY = np.zeros((256, 3), np.uint8)
# mask palette: 0 nothing, 1 fill, 2 outline, 3 contour line
_MASK_PALETTE = _EMPTY.copy()
_MASK_PALETTE[1] = _MASK_PALETTE[2] = MASK_RGB
_MASK_PALETTE[3] = (255, 230, 0)
_MASK_ALPHA = bytes([0, 110, 255, 255])
# labels palette: 0 nothing, 1..254 label colours (label % 254), 255 boundary (yellow)
_LABEL_PALETTE = np.concatenate([[[0, 0, 0]], LABEL_LUT[:254], [[255, 255, 0]]]).astype(np.uint8)


def overlay_png(data: np.ndarray, output: str, *, style: str = "fill", contour=None, offset=(0, 0)) -> bytes:
    """Return a transparent palette PNG showing a result (what the page lays over the image).

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

    A palette PNG with per-entry transparency is a quarter of the bytes of RGBA to compress, which
    is most of a preview's cost; browsers decode it to the same colours.
    """
    import cv2

    if output in ("mask", "contour"):
        mask = np.ascontiguousarray(data, dtype=bool)
        edge = _inner_edge(mask)
        # fill: 1 inside, 2 on the inner edge (edge pixels are inside: 1 + 1); outline: 2 on the edge only
        index = mask.view(np.uint8) + edge.view(np.uint8) if style == "fill" else edge.view(np.uint8) * np.uint8(2)
        palette, alpha, bits = _MASK_PALETTE, _MASK_ALPHA, 2
    elif output == "labels":
        labels = np.asarray(data)
        index = np.zeros(labels.shape, np.uint8)
        if style == "fill":
            inside = labels > 0
            index[inside] = (labels[inside] % 254 + 1).astype(np.uint8)
        index[_label_edges(labels)] = 255
        palette, alpha, bits = _LABEL_PALETTE, bytes([0] + [140] * 254 + [255]), 8
    else:  # edges, proba, extra maps: a heat map whose opacity follows the value
        values = np.asarray(data, np.float32)
        if values.ndim == 3:
            values = values.mean(axis=-1)
        if output == "proba":
            norm = np.clip(values, 0, 1)
        else:
            lo = float(values.min()) if values.size else 0.0
            top = float(values.max()) if values.size else 0.0
            norm = (values - lo) / (top - lo) if top > lo else np.zeros_like(values)
        index = np.round(norm * 255).astype(np.uint8)
        palette, alpha, bits = HEAT_LUT, bytes(range(256)), 8
    if contour is not None and len(contour):
        points = np.round(np.asarray(contour)[:, ::-1] - np.asarray(offset)[::-1]).astype(np.int32)
        line = 3 if bits == 2 else 255
        cv2.polylines(index, [points.reshape(-1, 1, 2)], True, line, 1)
    return _palette_png(index, palette, alpha, bits)


def _palette_png(index: np.ndarray, palette: np.ndarray, alpha: bytes, bits: int) -> bytes:
    """A palette PNG (colour type 3) written directly: rows packed to `bits`, filter 0, zlib level 1.

    Writing the four chunks here costs a third of Pillow's encoder for a preview-sized layer (the
    filter search it runs buys nothing on flat index images); ``zlib.compress`` releases the GIL, so
    other requests proceed meanwhile. Browsers and Pillow decode it to the same colours.
    """
    import struct
    import zlib

    height, width = index.shape
    if bits == 2:
        padded = np.zeros((height, -(-width // 4) * 4), np.uint8)
        padded[:, :width] = index
        quads = padded.reshape(height, -1, 4)
        rows = (quads[..., 0] << 6) | (quads[..., 1] << 4) | (quads[..., 2] << 2) | quads[..., 3]
    else:
        rows = index
    raw = np.empty((height, rows.shape[1] + 1), np.uint8)
    raw[:, 0] = 0  # filter type 0 (none) on every row
    raw[:, 1:] = rows

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    entries = 1 << bits
    colours = np.asarray(palette, np.uint8)[:entries].tobytes()
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, 3, 0, 0, 0)),
        chunk(b"PLTE", colours),
        chunk(b"tRNS", bytes(alpha[:entries])),
        chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)),
        chunk(b"IEND", b""),
    ))


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
        import cv2

        counts = cv2.calcHist([np.ascontiguousarray(image)], [0], None, [256], [0, 256]).ravel()
        return {"counts": counts.astype(np.int64).tolist(), "lo": 0.0, "hi": 256.0}
    values = image.astype(np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, _ = np.histogram(values, bins=256, range=(lo, hi))
    return {"counts": counts.tolist(), "lo": lo, "hi": hi}
