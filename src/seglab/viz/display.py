"""How images are shown: one display range rule, picture size limits, and colour keys.

Display range
-------------
Every overlay, confusion picture and report thumbnail draws the *original* image (never the
pre-processed one) mapped to 0..255 by one rule, :func:`display_range`:

* ``uint8`` (and bool): shown as stored, 0..255 (what other viewers show for 8-bit data), unless
  the image uses less than a quarter of that range between its 0.5th and 99.5th percentiles (a
  dim 8-bit fluorescence frame such as NIH3T3's, nearly black as stored): then it is stretched
  like the others;
* 16-bit, 32-bit and float images: a percentile stretch from the 0.5th to the 99.5th percentile
  (ImageJ's "auto contrast" and napari's contrast limits do the same kind of thing). A min..max
  stretch lets a few hot pixels or a camera offset flatten a 16-bit micrograph into uniform gray
  (the HeLa frames store ~33,000 as background).

:func:`display_note` states the range in words, for captions.

Size
----
Pictures whose longest side exceeds :data:`MAX_DISPLAY_SIDE` (4096) pixels are drawn at a reduced
size (every k-th pixel, k the smallest integer that brings the side under the limit); callers say
so. An 8000 x 8000 overlay at full size took 223 s and 8 GB; a 2000 x 2000 one takes a second.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_DISPLAY_SIDE", "display_range", "display_note", "to_display", "display_stride", "reduce",
           "add_key", "DISPLAY_PERCENTILES"]

MAX_DISPLAY_SIDE = 4096
DISPLAY_PERCENTILES = (0.5, 99.5)
# An 8-bit image whose central 99 % of values span less than this is stretched (it looks black as stored).
_DIM_SPAN = 64
# Percentiles are estimated on at most this many pixels (a regular subsample): exact enough for a
# display range and O(1) in the image size.
_RANGE_SAMPLE = 1_000_000


def _sample(array: np.ndarray) -> np.ndarray:
    flat = array.reshape(-1) if array.flags.c_contiguous else np.ravel(array)
    if flat.size <= _RANGE_SAMPLE:
        return flat
    return flat[:: int(math.ceil(flat.size / _RANGE_SAMPLE))]


def display_range(image) -> tuple[float, float]:
    """Return ``(low, high)``: the intensities drawn as black and white (rule in the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> display_range(np.array([[0, 200]], np.uint8))
    (0.0, 255.0)
    >>> lo, hi = display_range(np.arange(1000, dtype=np.uint16)); round(lo, 1), round(hi, 1)
    (5.0, 994.0)
    """
    array = np.asarray(image)
    if array.dtype == bool:
        return 0.0, 255.0
    values = _sample(array).astype(np.float64)
    if array.dtype == np.uint8:
        low, high = np.percentile(values, DISPLAY_PERCENTILES)
        if high - low >= _DIM_SPAN:
            return 0.0, 255.0
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, DISPLAY_PERCENTILES)
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def display_note(image) -> str:
    """A caption stating how `image` is shown, e.g. ``'uint16 shown 33012-41877 (0.5-99.5th percentile)'``."""
    array = np.asarray(image)
    low, high = display_range(array)
    if array.dtype == bool or (array.dtype == np.uint8 and (low, high) == (0.0, 255.0)):
        return f"{array.dtype} shown as stored (0-255)"
    return f"{array.dtype} shown {low:.6g}-{high:.6g} (0.5-99.5th percentile stretch)"


def to_display(image, *, rgb: bool = True) -> np.ndarray:
    """Map `image` to uint8 by :func:`display_range`; gray becomes (M, N, 3) when `rgb`.

    Colour images keep their channels (a 16-bit colour image is stretched with one range for all
    channels, so hues are kept). Alpha is dropped.
    """
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    low, high = display_range(array)
    if array.dtype != np.uint8 or (low, high) != (0.0, 255.0):
        scaled = (array.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
        array = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if rgb and array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    return array


def display_stride(shape, max_side: int = MAX_DISPLAY_SIDE) -> int:
    """Smallest integer step that brings the longest of the first two sides to `max_side` or less."""
    longest = max(int(s) for s in tuple(shape)[:2])
    return max(1, int(math.ceil(longest / max_side)))


def reduce(array, step: int):
    """Every `step`-th pixel along the first two axes (a view; labels stay labels)."""
    if step <= 1:
        return array
    return array[::step, ::step]


_KEY_ROW = 22


def add_key(picture: np.ndarray, items, *, note: str = "") -> np.ndarray:
    """Append a colour key below a uint8 RGB picture: a swatch and a label per item, then `note`.

    Parameters
    ----------
    picture : (M, N, 3) uint8
    items : sequence of (label, (r, g, b))
        ``None`` as colour draws an outlined empty swatch (e.g. "TN: image").
    note : str
        Extra text after the swatches (the display range, "drawn at 1/4 size", ...).

    Returns
    -------
    (M + K, N, 3) uint8
        The picture with key rows under it (as many rows as needed to fit its width).
    """
    from PIL import Image, ImageDraw, ImageFont

    picture = np.asarray(picture)
    width = picture.shape[1]
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1 has one fixed-size bitmap font
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_width(text: str) -> int:
        box = probe.textbbox((0, 0), text, font=font)
        return int(box[2] - box[0])

    cells = [(label, colour, 16 + 4 + text_width(label) + 12) for label, colour in items]
    if note:
        cells.append((note, "note", text_width(note) + 8))
    rows: list[list[tuple[str, str, int]]] = [[]]
    x = 4
    for cell in cells:
        if x + cell[2] > width and rows[-1]:
            rows.append([])
            x = 4
        rows[-1].append(cell)
        x += cell[2]
    band = Image.new("RGB", (width, _KEY_ROW * len(rows) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    for r, row in enumerate(rows):
        x, y = 4, 4 + r * _KEY_ROW
        for label, colour, w in row:
            if colour == "note":
                draw.text((x, y + 1), label, fill=(70, 70, 70), font=font)
            else:
                if colour is None:
                    draw.rectangle([x, y, x + 15, y + 15], outline=(0, 0, 0), fill=(190, 190, 190))
                else:
                    draw.rectangle([x, y, x + 15, y + 15], outline=(0, 0, 0), fill=tuple(int(c) for c in colour))
                draw.text((x + 20, y + 1), label, fill=(0, 0, 0), font=font)
            x += w
    return np.concatenate([picture, np.asarray(band)], axis=0)
