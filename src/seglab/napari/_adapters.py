"""Translations between napari's world and seglab's public API, with no napari or Qt import.

Everything here works on plain data, so the default test suite checks it without a viewer:

* :func:`widget_options` — a registry parameter (its ``to_dict()`` schema, the one ``seglab methods
  --json`` prints) -> the magicgui widget that edits it;
* :func:`seeds_from_points`, :func:`contour_from_shape`, :func:`rect_from_shape` — drawn layers ->
  the user inputs interactive methods declare (``seeds``, ``contour``, ``rect``);
* :func:`result_layer` — a :class:`seglab.SegmentationResult` -> a napari layer-data tuple whose
  metadata hold the method's info and the pipeline;
* :func:`pipeline_yaml` — a pipeline -> the YAML ``seglab segment --pipeline`` reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from seglab._core.errors import ParameterError

__all__ = [
    "FLOAT_LIMIT",
    "INT_LIMIT",
    "widget_options",
    "float_decimals",
    "seeds_from_points",
    "contour_from_shape",
    "rect_from_shape",
    "result_layer",
    "layer_metadata",
    "pipeline_yaml",
    "spatial_shape",
]

#: Bounds of a spin box when the registry declares none: wide enough for any sensible value, and a
#: default outside them widens them (a spin box must never change a default silently).
INT_LIMIT = 2**53
FLOAT_LIMIT = 1e12
_MAX_DECIMALS = 15


def float_decimals(*values: Any) -> int:
    """Decimals a spin box needs to show every finite number of `values` exactly (at least 3).

    Qt's ``QDoubleSpinBox`` rounds its value to ``decimals()`` places, so a default of ``1e-6`` in a
    box with 2 decimals would silently become 0. The repr of a float is its shortest exact
    decimal form; its count of fractional digits is what the box must keep.

    Examples
    --------
    >>> float_decimals(0.5, 1e-6, 130.0)
    6
    >>> float_decimals(None, "auto")
    3
    """
    needed = 3
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        text = repr(float(value))
        if "e" in text:
            mantissa, _, exponent = text.partition("e")
            digits = len(mantissa.partition(".")[2].rstrip("0")) - int(exponent)
        else:
            digits = len(text.partition(".")[2].rstrip("0"))
        needed = max(needed, digits)
    return min(needed, _MAX_DECIMALS)


def widget_options(param: Mapping[str, Any]) -> dict[str, Any]:
    """Return the magicgui widget for one registry parameter schema.

    Parameters
    ----------
    param : dict
        One entry of ``spec.to_dict()["params"]``: ``name``, ``type``, ``default`` and optionally
        ``min``, ``max``, ``choices``, ``special``, ``nullable``, ``help``.

    Returns
    -------
    dict
        ``widget_type`` (a magicgui class name), ``options`` (its keyword arguments: ``value``,
        ``min``/``max``, ``choices``, ``tooltip``, ``label``) and ``decimals`` for float spin boxes.
        int -> ``SpinBox``, float -> ``FloatSpinBox``, choices -> ``ComboBox``, bool -> ``CheckBox``,
        str -> ``LineEdit``. Numbers that also accept ``None`` or a special word (``'auto'``) and
        tuples of numbers are typed as text in a ``LineEdit`` and checked by the registry when run.

    Examples
    --------
    >>> widget_options({"name": "n", "type": "int", "default": 3, "min": 1, "help": "count"})["widget_type"]
    'SpinBox'
    >>> widget_options({"name": "t", "type": "float", "default": "auto", "special": ["auto"]})["options"]["value"]
    'auto'
    """
    kind = param["type"]
    default: Any = param.get("default")
    tooltip = param.get("help") or ""
    text_form = bool(param.get("special")) or bool(param.get("nullable")) or default is None
    options: dict[str, Any] = {"label": param["name"], "tooltip": _tooltip(param, tooltip)}
    if param.get("choices") is not None:
        choices = list(param["choices"])
        return {"widget_type": "ComboBox", "options": {**options, "choices": choices, "value": default}}
    if kind == "bool" and text_form:
        # a three-way switch (None = the method decides): text values the registry reads back
        return {"widget_type": "ComboBox",
                "options": {**options, "choices": ["None", "true", "false"], "value": _as_text(default).lower()
                            if default is not None else "None"}}
    if kind == "bool":
        return {"widget_type": "CheckBox", "options": {**options, "value": bool(default)}}
    if kind in ("int", "float") and not text_form:
        limit = INT_LIMIT if kind == "int" else FLOAT_LIMIT
        low = param.get("min", -limit)
        high = param.get("max", limit)
        low, high = min(low, default), max(high, default)
        if kind == "int":
            return {"widget_type": "SpinBox", "options": {**options, "value": int(default), "min": int(low),
                                                          "max": int(high), "step": 1}}
        decimals = float_decimals(default, param.get("min"), param.get("max"))
        step = _float_step(default, decimals)
        return {"widget_type": "FloatSpinBox",
                "options": {**options, "value": float(default), "min": float(low), "max": float(high),
                            "step": step},
                "decimals": decimals}
    # str, tuples, and numbers that also take None/'auto': typed text, checked by Param.coerce at run time
    return {"widget_type": "LineEdit", "options": {**options, "value": _as_text(default)}}


def _float_step(default: float, decimals: int) -> float:
    if default and math.isfinite(default):
        # a tenth of the default's magnitude: 130 -> 10, 0.01 -> 0.001
        step = 10.0 ** math.floor(math.log10(abs(default)) - 1)
    else:
        step = 0.1
    return max(step, 10.0 ** -decimals)


def _as_text(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _tooltip(param: Mapping[str, Any], text: str) -> str:
    bounds = []
    if param.get("min") is not None:
        bounds.append(f"min {param['min']}")
    if param.get("max") is not None:
        bounds.append(f"max {param['max']}")
    if param.get("special"):
        bounds.append("or " + " or ".join(map(repr, param["special"])))
    if param.get("nullable"):
        bounds.append("or None")
    extra = f" ({', '.join(bounds)})" if bounds else ""
    return f"{text}{extra}  [default: {_as_text(param.get('default'))}]".strip()


def spatial_shape(shape: Sequence[int], rgb: bool) -> tuple[int, ...]:
    """The spatial part of an image layer's shape (channels last are dropped for RGB layers)."""
    shape = tuple(int(n) for n in shape)
    return shape[:-1] if rgb else shape


# -- drawn inputs ----------------------------------------------------------------------------------
def seeds_from_points(points: np.ndarray, shape: Sequence[int], classes: Sequence[int] | np.ndarray | None = None
                      ) -> np.ndarray:
    """Draw a seed label image from a Points layer's coordinates.

    Parameters
    ----------
    points : (K, D) ndarray
        Point coordinates in data (pixel) coordinates, as ``Points.data``; when the layer has more
        axes than the image, the last ``len(shape)`` are used.
    shape : tuple of int
        Spatial shape of the image.
    classes : sequence of int, optional
        Class of each point (a ``class`` or ``label`` feature of the layer). Without it every point
        is its own class 1..K (one region per seed, as region growing expects).

    Returns
    -------
    seeds : ndarray of int32
        0 = unlabelled; each point's pixel (rounded to the nearest) holds its class.

    Raises
    ------
    ParameterError
        No points, a point outside the image, or a class < 1.

    Examples
    --------
    >>> s = seeds_from_points(np.array([[1.2, 2.6], [3, 0]]), (4, 4))
    >>> int(s[1, 3]), int(s[3, 0])
    (1, 2)
    """
    points = np.asarray(points, dtype=float)
    ndim = len(shape)
    if points.ndim != 2 or len(points) == 0:
        raise ParameterError("the seeds layer has no points; click at least one point per class")
    if points.shape[1] < ndim:
        raise ParameterError(
            f"the seeds layer has {points.shape[1]}-D points; expected {ndim}-D points for an image of shape "
            f"{tuple(shape)}"
        )
    coords = np.rint(points[:, -ndim:]).astype(np.int64)
    outside = np.any((coords < 0) | (coords >= np.asarray(shape)), axis=1)
    if outside.any():
        first = points[int(np.argmax(outside))].tolist()
        raise ParameterError(f"seed point {first} lies outside the image of shape {tuple(shape)}; move or delete it")
    if classes is None:
        values = np.arange(1, len(coords) + 1)
    else:
        values = np.asarray(classes)
        if values.shape != (len(coords),):
            raise ParameterError(f"got {values.size} point classes for {len(coords)} points")
        if not np.issubdtype(values.dtype, np.number) or np.any(values < 1) or np.any(values != np.round(values)):
            raise ParameterError(f"point classes must be integers >= 1; got {sorted(set(values.tolist()))}")
    seeds = np.zeros(tuple(shape), np.int32)
    seeds[tuple(coords.T)] = values.astype(np.int32)
    return seeds


def _ellipse_points(corners: np.ndarray, n: int = 400) -> np.ndarray:
    # napari stores an ellipse as the four corners of its (possibly rotated) bounding box, in order
    center = corners.mean(axis=0)
    half_a = (corners[1] - corners[0]) / 2
    half_b = (corners[3] - corners[0]) / 2
    s = np.linspace(0, 2 * np.pi, n)
    return center + np.outer(np.cos(s), half_a) + np.outer(np.sin(s), half_b)


def contour_from_shape(vertices: np.ndarray, shape_type: str) -> np.ndarray:
    """Return the (K, 2) (row, col) contour of one napari shape (polygon, path, ellipse or rectangle).

    Examples
    --------
    >>> square = np.array([[0, 0], [0, 10], [10, 10], [10, 0]], float)
    >>> contour_from_shape(square, "ellipse").shape
    (400, 2)
    >>> contour_from_shape(square, "polygon").tolist()[1]
    [0.0, 10.0]
    """
    vertices = np.asarray(vertices, dtype=float)
    if vertices.ndim != 2 or vertices.shape[1] < 2:
        raise ParameterError(f"a shape has vertices of shape {vertices.shape}; expected (K, 2)")
    vertices = vertices[:, -2:]
    if shape_type == "ellipse":
        return _ellipse_points(vertices)
    if shape_type in ("polygon", "path", "rectangle"):
        if len(vertices) < 3:
            raise ParameterError(f"a {shape_type} with {len(vertices)} vertices cannot be a contour; draw at least 3")
        return vertices
    raise ParameterError(f"a {shape_type!r} shape cannot be a contour; draw a polygon, ellipse or rectangle")


def rect_from_shape(vertices: np.ndarray, image_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """Return GrabCut's ``(row, col, height, width)``: the pixels a drawn rectangle covers.

    Examples
    --------
    >>> rect_from_shape(np.array([[2.4, 3.0], [2.4, 9.6], [7.5, 9.6], [7.5, 3.0]]), (20, 20))
    (2, 3, 6, 7)
    """
    vertices = np.asarray(vertices, dtype=float)[:, -2:]
    low = np.floor(vertices.min(axis=0)).astype(int)
    high = np.ceil(vertices.max(axis=0)).astype(int)
    rows, cols = int(image_shape[0]), int(image_shape[1])
    row, col = max(int(low[0]), 0), max(int(low[1]), 0)
    height, width = min(int(high[0]), rows) - row, min(int(high[1]), cols) - col
    if height <= 0 or width <= 0:
        raise ParameterError(
            f"the rectangle {vertices.min(axis=0).tolist()}..{vertices.max(axis=0).tolist()} does not overlap "
            f"the image of {rows} rows x {cols} cols"
        )
    return row, col, height, width


# -- results ---------------------------------------------------------------------------------------
def layer_metadata(result, *, source: str | None = None, inputs: Mapping[str, str] | None = None,
                   per_plane: bool = False) -> dict[str, Any]:
    """The ``layer.metadata`` of a result: ``{"seglab": {pipeline, output, info, source, inputs}}``.

    `info` holds what the method chose (``threshold``, ``n_clusters``, step timings ...) as JSON-safe
    values, so the metadata survive a save.
    """
    from seglab._core.provenance import jsonable

    info = {k: v for k, v in result.info.items() if k != "pipeline"}
    record = {
        "pipeline": jsonable(result.pipeline.to_dict()),
        "output": result.output,
        "info": jsonable(info),
        "extras": sorted(result.extras),
    }
    if source is not None:
        record["source"] = source
    if inputs:
        record["inputs"] = dict(inputs)
    if per_plane:
        record["per_plane"] = True
    return {"seglab": record}


def result_layer(data: np.ndarray, output: str, name: str, metadata: Mapping[str, Any],
                 placement: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any], str]:
    """Return the napari layer-data tuple ``(data, kwargs, layer_type)`` of a segmentation output.

    Masks (and filled contours) become a ``labels`` layer of 0/1 (napari's Labels hold integers),
    label images a ``labels`` layer as they are, edges/probabilities/images an ``image`` layer.
    `placement` (``scale``, ``translate`` ...) is copied from the source image so the result overlays it.

    Examples
    --------
    >>> data, kwargs, kind = result_layer(np.array([[True, False]]), "mask", "m", {})
    >>> kind, data.dtype.name, data.tolist()
    ('labels', 'uint8', [[1, 0]])
    """
    kwargs: dict[str, Any] = {"name": name, "metadata": dict(metadata), **dict(placement or {})}
    if output in ("mask", "contour"):
        return np.asarray(data).astype(np.uint8), kwargs, "labels"
    if output == "labels":
        return np.asarray(data), kwargs, "labels"
    return np.asarray(data), {**kwargs, "colormap": "gray" if output != "proba" else "magma"}, "image"


def pipeline_yaml(pipeline, *, command: str | None = None) -> str:
    """The YAML text of `pipeline` (``Pipeline.to_dict``), read back by ``seglab segment --pipeline``.

    Floats are written by PyYAML's ``repr``, which reads back to the same double, so the file
    reproduces the run bit for bit. `command` becomes a comment line that says how to rerun it.

    Examples
    --------
    >>> import seglab
    >>> print(pipeline_yaml(seglab.Pipeline.build("otsu", pre=["invert"])), end="")
    pre:
    - name: invert
      params: {}
    method:
      name: otsu
      params: {...}
    post: []
    """
    import yaml

    data = pipeline.to_dict() if hasattr(pipeline, "to_dict") else dict(pipeline)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    if command:
        text = f"# {command}\n" + text
    return text
