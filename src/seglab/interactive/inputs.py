"""User inputs of interactive methods: seed label images, initial contours and rectangles.

These parse what a user types on the command line or saves in a JSON file:

* seeds JSON: ``{"seeds": [{"class": 1, "circle": [row, col, radius]},
  {"class": 2, "points": [[r, c], ...]}, {"class": 1, "polyline": [[r, c], ...], "width": 3}]}``;
* contour: ``"ROW,COL,RADIUS"`` (a circle, 400 points) or a JSON file ``{"points": [[r, c], ...]}``;
* rectangle: ``"ROW,COL,HEIGHT,WIDTH"``.

Every problem raises :class:`~seglab.ParameterError` naming what was wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import ParameterError, close_matches_hint, short_repr

__all__ = ["seeds_from_json", "parse_contour", "parse_rect", "circle_contour", "as_contour", "as_rect",
           "check_contour_on_image"]

CIRCLE_POINTS = 400
_SHAPES = ("circle", "points", "polyline")
_ENTRY_KEYS = ("class",) + _SHAPES + ("width",)


def circle_contour(row: float, col: float, radius: float, n: int = CIRCLE_POINTS) -> np.ndarray:
    """Return `n` (row, col) points on a circle, as the scikit-image active contour example builds them."""
    if not radius > 0:
        raise ParameterError(f"circle radius got {radius!r}; expected a positive number")
    s = np.linspace(0, 2 * np.pi, n)
    return np.column_stack([row + radius * np.sin(s), col + radius * np.cos(s)])


def as_contour(contour) -> np.ndarray:
    """Return a (K, 2) float contour from points, a ``(row, col, radius)`` circle or a text/path."""
    if isinstance(contour, (str, Path)):
        return parse_contour(contour)
    if isinstance(contour, Mapping) and "points" in contour:
        contour = contour["points"]  # the JSON file's form, {"points": [[row, col], ...]}, given as data
    try:
        array = np.asarray(contour, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"`contour` got {short_repr(contour)}; expected (K, 2) (row, col) points with K >= 3, "
                             "or a circle (row, col, radius)") from None
    if array.ndim == 1 and array.size == 3:
        return circle_contour(*array)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 3:
        raise ParameterError(
            f"`contour` has shape {array.shape}; expected (K, 2) (row, col) points with K >= 3, "
            "or a circle (row, col, radius)"
        )
    if not np.isfinite(array).all():
        raise ParameterError("`contour` contains NaN or infinite coordinates")
    return array


def check_contour_on_image(contour: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Refuse a (K, 2) contour whose points all lie on one side outside the image; return it.

    Such a contour encloses no pixel: the result would be an empty mask, silently. A contour around the
    whole image (a large circle, to shrink onto the object) reaches the image and is kept.
    """
    rows, cols = int(shape[0]), int(shape[1])
    low, high = contour.min(axis=0), contour.max(axis=0)
    if high[0] < 0 or high[1] < 0 or low[0] > rows - 1 or low[1] > cols - 1:
        raise ParameterError(
            f"`contour` lies outside the image: its points span rows {low[0]:g}..{high[0]:g} and cols "
            f"{low[1]:g}..{high[1]:g}, the image rows 0..{rows - 1} and cols 0..{cols - 1}; place it on the object "
            "(row, col, radius with row and col inside the image)"
        )
    return contour


def parse_contour(text_or_path: str | os.PathLike[str]) -> np.ndarray:
    """Parse ``"ROW,COL,RADIUS"`` (a 400-point circle) or a JSON file ``{"points": [[r, c], ...]}``.

    Examples
    --------
    >>> parse_contour("100,220,100").shape
    (400, 2)
    """
    text = str(text_or_path).strip()
    if text.lower().endswith(".json") or Path(text).is_file():
        data = _load_json(text)
        if not isinstance(data, Mapping) or "points" not in data:
            raise ParameterError(f"contour file {text!r} must hold a JSON object {{\"points\": [[row, col], ...]}}")
        unknown = [k for k in data if k != "points"]
        if unknown:
            raise ParameterError(f"contour file {text!r} has unknown key {unknown[0]!r}; the only key is 'points'")
        return as_contour(_points(data["points"], where=f"contour file {text!r}"))
    parts = _numbers(text, "contour", "ROW,COL,RADIUS (a circle) or a JSON file with points")
    if len(parts) != 3:
        raise ParameterError(f"contour got {text!r}; expected ROW,COL,RADIUS (3 numbers) or a JSON file")
    row, col, radius = parts
    return circle_contour(row, col, radius)


def parse_rect(text: str) -> tuple[int, int, int, int]:
    """Parse ``"ROW,COL,HEIGHT,WIDTH"`` into four integers.

    Examples
    --------
    >>> parse_rect("10, 20, 30, 40")
    (10, 20, 30, 40)
    """
    parts = _numbers(str(text), "rect", "ROW,COL,HEIGHT,WIDTH")
    if len(parts) != 4 or any(p != int(p) for p in parts):
        raise ParameterError(f"rect got {text!r}; expected ROW,COL,HEIGHT,WIDTH (4 integers)")
    row, col, height, width = (int(p) for p in parts)
    if height <= 0 or width <= 0 or row < 0 or col < 0:
        raise ParameterError(f"rect got {text!r}; expected row, col >= 0 and height, width > 0")
    return row, col, height, width


def as_rect(rect, shape) -> tuple[int, int, int, int]:
    """Return a checked (row, col, height, width) inside an image of `shape` (rows, cols)."""
    if isinstance(rect, str):
        rect = parse_rect(rect)
    try:
        values = tuple(rect)
        whole = len(values) == 4 and all(float(v) == int(v) for v in values)
    except (TypeError, ValueError, OverflowError):  # NaN, inf, text or not a sequence
        whole = False
    if not whole:
        raise ParameterError(f"`rect` got {short_repr(rect)}; expected (row, col, height, width) as 4 integers")
    row, col, height, width = (int(v) for v in values)
    if height <= 0 or width <= 0 or row < 0 or col < 0 or row + height > shape[0] or col + width > shape[1]:
        raise ParameterError(
            f"`rect` (row={row}, col={col}, height={height}, width={width}) does not fit inside the image of "
            f"{shape[0]} rows x {shape[1]} cols; it must satisfy row + height <= {shape[0]} and "
            f"col + width <= {shape[1]} with positive height and width"
        )
    return row, col, height, width


def seeds_from_json(path_or_dict: str | os.PathLike[str] | Mapping[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    """Draw a seed label image from a JSON description.

    Parameters
    ----------
    path_or_dict : str, Path or dict
        ``{"seeds": [{"class": k, "circle": [r, c, radius]} | {"class": k, "points": [[r, c], ...]}
        | {"class": k, "polyline": [[r, c], ...], "width": w}, ...]}``. Later entries paint over earlier ones.
    shape : (M, N)
        Image shape.

    Returns
    -------
    seeds : (M, N) ndarray of int32
        0 = unlabelled.

    Examples
    --------
    >>> s = seeds_from_json({"seeds": [{"class": 2, "points": [[1, 1], [3, 4]]}]}, (5, 5))
    >>> int(s[1, 1]), int(s[3, 4]), int(s.sum())
    (2, 2, 4)
    """
    from skimage.draw import disk, line

    data = _load_json(path_or_dict) if isinstance(path_or_dict, (str, Path)) else path_or_dict
    where = f"seeds file {str(path_or_dict)!r}" if isinstance(path_or_dict, (str, Path)) else "seeds"
    if not isinstance(data, Mapping) or "seeds" not in data:
        raise ParameterError(f"{where} must be a JSON object {{\"seeds\": [...]}}")
    extra = [k for k in data if k != "seeds"]
    if extra:
        raise ParameterError(f"{where} has unknown key {extra[0]!r}; the only top-level key is 'seeds'")
    entries = data["seeds"]
    if not isinstance(entries, list) or not entries:
        raise ParameterError(f"{where}: 'seeds' must be a non-empty list of seed shapes")
    rows, cols = int(shape[0]), int(shape[1])
    seeds = np.zeros((rows, cols), np.int32)
    for i, entry in enumerate(entries):
        here = f"{where}: seed #{i}"
        if not isinstance(entry, Mapping):
            raise ParameterError(f"{here} must be an object like {{\"class\": 1, \"circle\": [row, col, radius]}}")
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise ParameterError(f"{here} has unknown key {key!r}; allowed keys: {', '.join(_ENTRY_KEYS)}."
                                     + close_matches_hint(str(key), _ENTRY_KEYS))
        label = entry.get("class")
        if isinstance(label, bool) or not isinstance(label, int) or label < 1:
            raise ParameterError(f"{here} has class {label!r}; expected an integer >= 1")
        kinds = [k for k in _SHAPES if k in entry]
        if len(kinds) != 1:
            raise ParameterError(f"{here} needs exactly one of circle, points, polyline; got {kinds or 'none'}")
        kind = kinds[0]
        if "width" in entry and kind != "polyline":
            raise ParameterError(f"{here}: 'width' applies to a polyline only")
        if kind == "circle":
            values = _points([entry["circle"]], where=f"{here} circle", size=3)[0]
            r, c, radius = values
            if not radius > 0:
                raise ParameterError(f"{here}: circle radius got {radius!r}; expected > 0")
            if not (0 <= r < rows and 0 <= c < cols):
                raise ParameterError(f"{here}: circle centre ({r:g}, {c:g}) is outside the image "
                                     f"({rows} rows x {cols} cols)")
            # a radius past rows + cols covers the whole image either way; bounding it keeps skimage in range
            rr, cc = disk((r, c), min(radius, float(rows + cols)), shape=(rows, cols))
        else:
            pts = _points(entry[kind], where=f"{here} {kind}")
            _inside(pts, rows, cols, here)
            ipts = np.round(pts).astype(int)
            if kind == "points":
                rr, cc = ipts[:, 0], ipts[:, 1]
            else:
                width = entry.get("width", 1)
                if isinstance(width, bool) or not isinstance(width, int) or width < 1 or width % 2 == 0:
                    raise ParameterError(f"{here}: width got {width!r}; expected an odd integer >= 1 "
                                         "(the line is widened by a disk of that diameter)")
                path = np.zeros((rows, cols), bool)
                if len(ipts) == 1:
                    path[ipts[0, 0], ipts[0, 1]] = True
                for a, b in zip(ipts[:-1], ipts[1:]):
                    lr, lc = line(a[0], a[1], b[0], b[1])
                    path[lr, lc] = True
                if width > 1:
                    from scipy import ndimage as ndi

                    half = min((width - 1) // 2, rows + cols)  # wider covers the whole image anyway
                    yy, xx = np.mgrid[-half: half + 1, -half: half + 1]
                    path = ndi.binary_dilation(path, structure=yy**2 + xx**2 <= half**2)
                rr, cc = np.nonzero(path)
        seeds[rr, cc] = label
    return seeds


def _inside(pts, rows, cols, where):
    bad = (pts[:, 0] < 0) | (pts[:, 0] > rows - 1) | (pts[:, 1] < 0) | (pts[:, 1] > cols - 1)
    if bad.any():
        r, c = pts[np.argmax(bad)]
        raise ParameterError(f"{where}: point ({r:g}, {c:g}) is outside the image ({rows} rows x {cols} cols)")


def _points(value, *, where, size=2) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{where}: expected a list of numbers, got {value!r}") from None
    if array.ndim != 2 or array.shape[1] != size or array.shape[0] == 0 or not np.isfinite(array).all():
        want = "[[row, col], ...]" if size == 2 else "[row, col, radius]"
        raise ParameterError(f"{where}: expected {want}, got {value!r}")
    return array


def _numbers(text: str, name: str, expected: str) -> list[float]:
    try:
        values = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
    except ValueError:
        raise ParameterError(f"{name} got {text!r}; expected {expected}") from None
    if not all(np.isfinite(values)):
        raise ParameterError(f"{name} got {text!r}; expected finite numbers")
    return values


def _load_json(path) -> object:
    from seglab.io import check_json_text, check_text_file  # FIFOs, loops, size and depth limits

    path = Path(path)
    check_text_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParameterError(f"file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ParameterError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    check_json_text(text, source=str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                             f"column {exc.colno}") from None


def parse_contour_for(text_or_path, shape) -> np.ndarray:
    """Input loader of ``contour`` (``seglab._core.inputs``): :func:`parse_contour`; `shape` is unused."""
    return parse_contour(text_or_path)


def parse_rect_for(text, shape) -> tuple[int, int, int, int]:
    """Input loader of ``rect`` (``seglab._core.inputs``): :func:`parse_rect`; `shape` is unused."""
    return parse_rect(text)
