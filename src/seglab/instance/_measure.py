"""Per-object measurements of a label image, as a table of columns (a fast ``regionprops_table``).

Where each column comes from:

* ``area``, ``centroid_row``, ``centroid_col``, ``mean_intensity``: one
  ``np.bincount`` pass each (sums per label), divided by the area;
* ``bbox_*``: ``scipy.ndimage.find_objects`` (one pass);
* ``min_intensity``, ``max_intensity``: ``scipy.ndimage.minimum`` / ``maximum``;
* ``equivalent_diameter``: ``sqrt(4 * area / pi)``;
* ``perimeter``, ``eccentricity``: ``skimage.measure.regionprops_table``
  (per-object contour and moments; the slow columns, computed only when asked).

``cv2.connectedComponentsWithStats`` is not used: it measures connected
components of a binary image, which differ from the objects of a label
image whenever two labels touch.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ImageTypeError, ImageWriteError, InvalidImageError, ParameterError, close_matches_hint
from seglab._core.validation import check_image, check_labels, check_same_shape

__all__ = ["measure", "write_csv", "PROPERTIES", "labels_for_measure", "pixel_size_from_file"]

PROPERTIES = ("area", "centroid", "bbox", "perimeter", "eccentricity", "equivalent_diameter", "intensity")
_COLUMNS = {
    "area": ("area",),
    "centroid": ("centroid_row", "centroid_col"),
    "bbox": ("bbox_min_row", "bbox_min_col", "bbox_max_row", "bbox_max_col"),
    "perimeter": ("perimeter",),
    "eccentricity": ("eccentricity",),
    "equivalent_diameter": ("equivalent_diameter",),
    "intensity": ("mean_intensity", "min_intensity", "max_intensity"),
}


def measure(labels: ArrayLike, image: ArrayLike | None = None, *, properties: Sequence[str] = PROPERTIES,
            pixel_size: float | None = None, unit: str = "um") -> dict[str, NDArray[Any]]:
    """Measure every object of a 2-D label image.

    Parameters
    ----------
    labels : (M, N) ndarray of int
        Objects (0 = background).
    image : (M, N) ndarray, optional
        Single-channel intensity image for the intensity columns.
    properties : sequence of str, optional
        Column groups, any of ``'area'``, ``'centroid'``, ``'bbox'``,
        ``'perimeter'``, ``'eccentricity'``, ``'equivalent_diameter'``,
        ``'intensity'``. ``'intensity'`` is skipped when `image` is None
        and `properties` is the default; asked for explicitly, it needs
        `image`.
    pixel_size : float, optional
        Side of a pixel in `unit` (square pixels). When given, physical
        columns follow the pixel ones: ``area_<unit>2``,
        ``centroid_row_<unit>``, ``centroid_col_<unit>``,
        ``perimeter_<unit>``, ``equivalent_diameter_<unit>``.
    unit : str
        Name of the unit of `pixel_size` (``'um'``, ``'nm'``, ``'mm'``...).

    Returns
    -------
    table : dict of str -> ndarray
        Columns of equal length, one row per label in increasing order:
        ``label``, ``area``, ``centroid_row``, ``centroid_col``,
        ``bbox_min_row``, ``bbox_min_col``, ``bbox_max_row``,
        ``bbox_max_col`` (max exclusive, as scikit-image), ``perimeter``,
        ``eccentricity``, ``equivalent_diameter``, ``mean_intensity``,
        ``min_intensity``, ``max_intensity``. They equal
        ``skimage.measure.regionprops_table``'s ``label``, ``area``,
        ``centroid-0/1``, ``bbox-0..3``, ``perimeter``, ``eccentricity``,
        ``equivalent_diameter_area``, ``intensity_mean/min/max``.

    Raises
    ------
    ParameterError
        Unknown property, or intensity asked without `image`.
    InvalidImageError, ShapeMismatchError
        Labels not 2-D, image of another shape or colour.

    References
    ----------
    .. [1] van der Walt, S. et al. (2014). scikit-image: image processing in
           Python. PeerJ 2:e453. :DOI:`10.7717/peerj.453` (regionprops)

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.instance import measure
    >>> labels = np.zeros((6, 6), np.int32); labels[1:3, 1:4] = 1; labels[4:6, 4:6] = 3
    >>> table = measure(labels, properties=("area", "centroid"))
    >>> table["label"].tolist(), table["area"].tolist(), table["centroid_row"].tolist()
    ([1, 3], [6, 4], [1.5, 4.5])
    """
    from scipy import ndimage as ndi

    label_array = check_labels(labels)
    if label_array.ndim != 2:
        raise InvalidImageError(f"`labels` must be 2-D (rows, cols); got shape {label_array.shape}")
    if isinstance(properties, str):
        properties = (properties,)
    wanted = list(dict.fromkeys(properties))
    for name in wanted:
        if name not in PROPERTIES:
            raise ParameterError(f"unknown property {name!r}; expected any of {', '.join(PROPERTIES)}."
                                 + close_matches_hint(name, PROPERTIES))
    if "intensity" in wanted and image is None:
        if tuple(properties) == PROPERTIES:
            wanted.remove("intensity")
        else:
            raise ParameterError("property 'intensity' needs `image`; pass image=... or drop 'intensity'")
    intensity = None
    if image is not None:
        intensity, info = check_image(image)
        if info.is_color:
            raise InvalidImageError(f"`image` must be single-channel for intensity columns; got shape "
                                    f"{intensity.shape}")
        check_same_shape(label_array, intensity, reference_name="labels", other_name="image")

    flat = label_array.ravel()
    counts = np.bincount(flat)
    present = np.flatnonzero(counts)
    present = present[present > 0]
    area = counts[present]
    table: dict[str, np.ndarray] = {"label": present.astype(np.int64)}
    if "area" in wanted:
        table["area"] = area.astype(np.int64)
    if "centroid" in wanted:
        rows, cols = label_array.shape
        row_sum = np.bincount(flat, weights=np.repeat(np.arange(rows, dtype=np.float64), cols), minlength=counts.size)
        col_sum = np.bincount(flat, weights=np.tile(np.arange(cols, dtype=np.float64), rows), minlength=counts.size)
        table["centroid_row"] = row_sum[present] / area
        table["centroid_col"] = col_sum[present] / area
    if "bbox" in wanted:
        boxes = ndi.find_objects(label_array)
        spans = np.array([[boxes[i - 1][0].start, boxes[i - 1][1].start, boxes[i - 1][0].stop,
                           boxes[i - 1][1].stop] for i in present], dtype=np.int64).reshape(-1, 4)
        for index, name in enumerate(_COLUMNS["bbox"]):
            table[name] = spans[:, index]
    slow = [p for p in ("perimeter", "eccentricity") if p in wanted]
    if slow:
        from skimage.measure import regionprops_table

        props = regionprops_table(label_array, properties=("label", *slow))
        for name in slow:
            table[name] = np.asarray(props[name], dtype=np.float64)
    if "equivalent_diameter" in wanted:
        table["equivalent_diameter"] = np.sqrt(4.0 * area / math.pi)
    if pixel_size is not None:
        size = float(pixel_size)
        if not (math.isfinite(size) and size > 0):
            raise ParameterError(f"`pixel_size` must be a positive number (length of a pixel side); got {pixel_size!r}")
        if not (math.isfinite(size * size) and size * size > 0):
            # the area columns are size**2: 1e308 overflowed (OverflowError), 1e-300 would give areas of 0
            raise ParameterError(f"`pixel_size` got {pixel_size!r}; the area of a pixel (its square) is not a finite "
                                 "positive number; give the size in a unit that keeps it between 1e-150 and 1e150")
        for name, power in (("area", 2), ("centroid_row", 1), ("centroid_col", 1), ("perimeter", 1),
                            ("equivalent_diameter", 1)):
            if name in table:
                suffix = f"{unit}2" if power == 2 else unit
                table[f"{name}_{suffix}"] = np.asarray(table[name], dtype=np.float64) * size**power
    if "intensity" in wanted and intensity is not None:  # (wanted only with an image: checked above)
        values = intensity.ravel().astype(np.float64)
        table["mean_intensity"] = np.bincount(flat, weights=values, minlength=counts.size)[present] / area
        table["min_intensity"] = np.asarray(ndi.minimum(intensity, label_array, present), dtype=np.float64)
        table["max_intensity"] = np.asarray(ndi.maximum(intensity, label_array, present), dtype=np.float64)
    return table


_IMAGE_LIKE_CHANGE = 0.30


def labels_for_measure(array: ArrayLike, *, name: str = "labels") -> tuple[NDArray[np.integer[Any]], str]:
    """Turn what a user passes to ``seglab measure`` into objects, or refuse it with a reason.

    Returns ``(labels, note)``: a label image is used as it is (note ``''``); a binary mask
    (two values, one of them 0, e.g. a 0/255 PNG) becomes its connected components (4-connected,
    as ``scipy.ndimage.label``; the same objects ``seglab compare`` scores), with a note saying
    so, instead of one object labelled 255.

    Raises
    ------
    InvalidImageError
        A gray or colour image (many values, neighbours differ as in a photograph), or fractional
        values: segment it first.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((5, 5), np.uint8); mask[0, 0] = mask[3:5, 3:5] = 255
    >>> labels, note = labels_for_measure(mask)
    >>> int(labels.max()), note
    (2, 'binary mask (values 0 and 255): measuring its 2 connected components')
    """
    from scipy import ndimage as ndi

    data = np.asarray(array)
    hint = "segment it first, e.g. seglab segment IMAGE -m otsu --post label, then measure the .labels.tif"
    if data.dtype.kind not in "biuf":
        # a complex array was measured as a "binary mask (values 0j and (1+0j))"
        raise ImageTypeError(f"`{name}` has dtype {data.dtype}; a label image holds whole numbers; {hint}")
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        raise InvalidImageError(f"`{name}` is a colour image (shape {data.shape}), not a label image; {hint}")
    if data.dtype.kind == "f" and not np.array_equal(data, np.round(data)):
        raise InvalidImageError(f"`{name}` holds fractional values ({data.dtype}): it is an image, not labels; {hint}")
    values = np.unique(data)
    if data.dtype == bool or (values.size <= 2 and values[0] == 0):
        labels, count = ndi.label(data != 0)
        shown = "True/False" if data.dtype == bool else " and ".join(str(v) for v in values.tolist())
        return labels.astype(np.int32), f"binary mask (values {shown}): measuring its {count} connected components"
    if values.size > 32 and data.ndim >= 2 and data.shape[-1] > 1:
        change = float(np.count_nonzero(data[..., 1:] != data[..., :-1])) / data[..., 1:].size
        if change > _IMAGE_LIKE_CHANGE:
            raise InvalidImageError(
                f"`{name}` looks like a gray image, not a label image: {values.size} distinct values and "
                f"{change:.0%} of neighbouring pixels differ (labels change only at object boundaries); {hint}"
            )
    return check_labels(data, name=name), ""


def pixel_size_from_file(path: str | os.PathLike[str]) -> tuple[float, str] | None:
    """Read the pixel size of a TIFF / OME-TIFF file: ``(size, unit)``, or None when it does not say.

    OME-XML ``PhysicalSizeX`` (with ``PhysicalSizeXUnit``, default µm) wins; then ImageJ's
    ``unit`` with the X resolution tag; then the TIFF resolution tags with ResolutionUnit
    centimetre or inch (converted to µm). TIFF's default of 72 pixels per inch with no unit is
    "no information", not a measurement, and gives None. X and Y sizes must agree.
    """
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
        return None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if tif.is_ome and tif.ome_metadata:
                import re

                found = re.search(r'PhysicalSizeX="([0-9.eE+-]+)"', tif.ome_metadata)
                unit = re.search(r'PhysicalSizeXUnit="([^"]+)"', tif.ome_metadata)
                if found:
                    return float(found.group(1)), _unit_name(unit.group(1) if unit else "µm")
            tags = tif.pages.first.tags
            x = tags.get("XResolution")
            y = tags.get("YResolution")
            if x is None:
                return None
            num, den = x.value
            if not num or not den:
                return None
            per_unit = num / den
            if y is not None:
                ynum, yden = y.value
                if ynum and yden and abs(ynum / yden - per_unit) > 1e-6 * per_unit:
                    return None
            meta = tif.imagej_metadata or {}
            if meta.get("unit"):
                return 1.0 / per_unit, _unit_name(str(meta["unit"]))
            res_unit = tags.get("ResolutionUnit")
            code = int(res_unit.value) if res_unit is not None else 2
            if code == 3:  # centimetre
                return 1e4 / per_unit, "um"
            if code == 2 and res_unit is not None and per_unit != 72:  # inch, other than the 72 dpi default
                return 25_400.0 / per_unit, "um"
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def _unit_name(text: str) -> str:
    text = text.strip().lower()
    return {"µm": "um", "micron": "um", "microns": "um", "micrometer": "um", "um": "um",
            "nm": "nm", "nanometer": "nm", "mm": "mm", "millimeter": "mm"}.get(text, text or "um")


def write_csv(table: Mapping[str, ArrayLike], path: str | os.PathLike[str]) -> Path:
    """Write a table (dict of equal-length columns) to a CSV file atomically.

    The rows go to a temporary file in the destination folder, which then
    replaces `path` (``os.replace``): readers never see a half-written file.

    Parameters
    ----------
    table : dict of str -> sequence
        Columns, as returned by :func:`measure`.
    path : str or Path
        Destination ``.csv`` file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ImageWriteError
        The folder is missing or not writable.
    ParameterError
        Columns of different lengths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from seglab.instance import write_csv
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_csv({"label": [1, 2], "area": [4, 9]}, folder / "t.csv").read_text().splitlines()
    ['label,area', '1,4', '2,9']
    """
    path = Path(path)
    columns = list(table)
    data = [np.asarray(table[name]) for name in columns]
    lengths = {len(column) for column in data}
    if len(lengths) > 1:
        raise ParameterError(f"table columns have different lengths {sorted(lengths)}; expected one length")
    n_rows = lengths.pop() if lengths else 0
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    import io

    from seglab.io import atomic_write

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    lists = [column.tolist() for column in data]
    for index in range(n_rows):
        writer.writerow([values[index] for values in lists])
    # the one atomic writer: temporary file, fsync, rename; the file's mode follows the umask
    atomic_write(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
    return path
