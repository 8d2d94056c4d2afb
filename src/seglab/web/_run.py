"""Running a pipeline for the page: a region preview or the whole image, drawn inputs, scores.

This is the only place the server calls the segmentation API, and it calls only public names:
:meth:`seglab.Pipeline.from_dict` / ``run`` (the same executor as ``seglab segment``),
:func:`seglab.evaluate`, :func:`seglab.interactive.inputs.as_contour` / ``as_rect`` /
``circle_contour``, :func:`seglab.instance.measure` and :mod:`seglab.viz`.

A region preview reads the region plus the halo the pipeline's steps declare
(``spec.halo_for(params)``), runs, and crops the halo off again, so a local method's preview
equals the same pixels of the whole-image result. Methods with a global statistic (Otsu...) see
only the region's histogram in a preview; the whole-image run (a job) is exact.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seglab._core.errors import ParameterError

__all__ = ["Result", "ResultStore", "RunRequest", "parse_request", "rasterize_strokes", "run_request"]

# Largest preview region (pixels): a preview is interactive, the whole image is a job.
MAX_PREVIEW_PIXELS = 2048 * 2048
# Whole-image jobs on images larger than this run through seglab's tiler (tile by tile, with progress per
# tile, the tiler's exact merge of global statistics and labels) in TILE_CHUNK-pixel tiles.
TILE_PIXELS = 4096 * 4096
TILE_CHUNK = 2048


@dataclass
class RunRequest:
    """A checked run request (what ``POST /api/run`` and a job receive)."""

    image: str
    pipeline: Any  # seglab.Pipeline
    pipeline_dict: dict
    region: tuple[int, int, int, int] | None = None
    drawing: dict = field(default_factory=dict)
    truth: str | None = None
    style: str = "fill"
    with_overlay: bool = True
    chunk: int | None = None  # whole-image runs: tile side (None: tiles only for images over TILE_PIXELS)


@dataclass
class Result:
    """A finished run kept by the server for overlays and exports."""

    id: str
    image: str
    output: str
    data: np.ndarray
    region: tuple[int, int, int, int]
    info: dict
    pipeline: dict
    seen: np.ndarray | None = None  # the image the method saw (after pre-steps), same region
    seeds: np.ndarray | None = None
    extras: dict = field(default_factory=dict)  # per-pixel maps (probability, uncertainty), same region
    metrics: dict | None = None
    truth: str | None = None
    seconds: float = 0.0
    created: float = field(default_factory=time.time)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + (self.seen.nbytes if self.seen is not None else 0)
                   + (self.seeds.nbytes if self.seeds is not None else 0)
                   + sum(v.nbytes for v in self.extras.values()))


class ResultStore:
    """The last results (bounded by count and bytes), by id."""

    def __init__(self, max_items: int = 64, max_bytes: int = 2_000_000_000):
        self._items: OrderedDict[str, Result] = OrderedDict()
        self._lock = threading.Lock()
        self._total = 0  # bytes held, kept as results come and go (not summed on every add)
        self.max_items, self.max_bytes = max_items, max_bytes

    def add(self, result: Result) -> Result:
        size = result.nbytes
        with self._lock:
            self._items[result.id] = result
            self._total += size
            while len(self._items) > 1 and (len(self._items) > self.max_items or self._total > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._total -= dropped.nbytes
        return result

    def get(self, result_id: str) -> Result | None:
        with self._lock:
            return self._items.get(result_id)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


# -- request parsing ------------------------------------------------------------------------------
def parse_request(body: Mapping[str, Any], *, whole: bool = False, workspace=None) -> RunRequest:
    """Check a JSON request body; every problem is a :class:`ParameterError` with one clear line.

    A ``model`` parameter names a folder inside the workspace (relative or absolute); it is
    replaced by its absolute path, so the exported pipeline works from any folder, and a model
    outside the workspace is refused like any other path outside it.
    """
    from seglab import Pipeline

    if not isinstance(body, Mapping):
        raise ParameterError("the request body must be a JSON object with `image` and `pipeline`")
    allowed = ("image", "pipeline", "region", "drawing", "truth", "style", "overlay", "chunk")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise ParameterError(f"unknown request key {unknown[0]!r}; allowed keys: {', '.join(allowed)}")
    image = body.get("image")
    if not isinstance(image, str) or not image:
        raise ParameterError("`image` must be the name of a workspace image (GET /api/images lists them)")
    pipeline_data = body.get("pipeline")
    if isinstance(pipeline_data, str):
        pipeline_data = {"method": pipeline_data}
    if workspace is not None:
        pipeline_data = _models_in_workspace(pipeline_data, workspace)
    pipeline = Pipeline.from_dict(pipeline_data)  # type: ignore[arg-type]  # it checks the type itself
    region = body.get("region")
    if region is not None and not whole:
        if not isinstance(region, (list, tuple)) or len(region) != 4:
            raise ParameterError(f"`region` got {region!r}; expected [row, col, height, width]")
        try:
            region = tuple(int(v) for v in region)
        except (TypeError, ValueError):
            raise ParameterError(f"`region` got {region!r}; expected 4 integers [row, col, height, width]") from None
        if region[2] <= 0 or region[3] <= 0 or region[0] < 0 or region[1] < 0:
            raise ParameterError(f"`region` got {list(region)}; expected row, col >= 0 and height, width > 0")
        if region[2] * region[3] > MAX_PREVIEW_PIXELS:
            raise ParameterError(f"`region` of {region[2]} x {region[3]} pixels is larger than the preview limit "
                                 f"({MAX_PREVIEW_PIXELS} pixels); run the whole image as a job instead")
    else:
        region = None
    drawing = body.get("drawing") or {}
    if not isinstance(drawing, Mapping):
        raise ParameterError("`drawing` must be an object with strokes, rect and/or contour")
    truth = body.get("truth") or None
    style = body.get("style", "fill")
    if style not in ("fill", "outline"):
        raise ParameterError(f"`style` got {style!r}; expected 'fill' or 'outline'")
    chunk = body.get("chunk")
    if chunk is not None:
        if isinstance(chunk, bool) or not isinstance(chunk, int) or not 64 <= chunk <= 16384:
            raise ParameterError(f"`chunk` got {chunk!r}; expected a tile side in pixels, 64..16384")
        if region is not None:
            raise ParameterError("`chunk` applies to whole-image jobs (POST /api/jobs), not to a region preview")
    overlay = body.get("overlay", True)
    if not isinstance(overlay, bool):  # bool("no") is True: refuse rather than guess
        raise ParameterError(f"`overlay` got {overlay!r}; expected true or false")
    return RunRequest(image, pipeline, pipeline.to_dict(), region, dict(drawing), truth, style,  # type: ignore[arg-type]
                      overlay, chunk)


def _models_in_workspace(data, workspace):
    """Return `data` with every step's ``model`` parameter resolved inside the workspace."""
    from pathlib import Path

    from ._workspace import NotInWorkspace

    if not isinstance(data, Mapping):
        return data
    data = dict(data)
    for key in ("pre", "method", "post"):
        steps = data.get(key)
        many = isinstance(steps, list)
        fixed = []
        for step in steps if many else [steps]:
            params = step.get("params") if isinstance(step, Mapping) else None
            model = params.get("model") if isinstance(params, Mapping) else None
            if isinstance(model, str) and model.strip() and model.strip().lower() not in ("none", "null"):
                name = model.strip()
                root = str(workspace.root)
                if Path(name).is_absolute():
                    name = name[len(root) + 1:] if name.startswith(root + "/") else "/"
                try:
                    path = workspace.resolve(name)
                except NotInWorkspace:
                    raise ParameterError(f"parameter `model` got {model!r}; expected a model folder inside the "
                                         "workspace (train one from the page, or copy it there)") from None
                step = dict(step)
                step["params"] = dict(params, model=str(path))
            fixed.append(step)
        if steps is not None:
            data[key] = fixed if many else fixed[0]
    return data


# -- drawn inputs ---------------------------------------------------------------------------------
# OpenCV draws int32 coordinates (it clips lines to the image itself); farther points would wrap around.
_MAX_STROKE_COORD = 2**30


def rasterize_strokes(strokes, shape, offset=(0, 0)) -> np.ndarray | None:
    """Paint brush strokes into an int32 seed image of `shape` whose pixel (0, 0) is image pixel `offset`.

    Each stroke is ``{"class": k >= 1, "points": [[row, col], ...], "width": w}``; ``"erase": true``
    (or class 0) paints 0. Later strokes paint over earlier ones. Lines are clipped to the region, so
    the same strokes give the same seeds in a preview region and in the whole image.
    """
    import cv2

    if not strokes:
        return None
    if not isinstance(strokes, list):
        raise ParameterError("`drawing.strokes` must be a list of {class, points, width}")
    seeds = np.zeros(tuple(int(s) for s in shape), np.int32)
    for i, stroke in enumerate(strokes):
        if not isinstance(stroke, Mapping):
            raise ParameterError(f"stroke #{i} must be an object {{class, points, width}}")
        erase = bool(stroke.get("erase", False))
        label = stroke.get("class", 0)
        if isinstance(label, bool) or not isinstance(label, int) or label < 0 or label > 255:
            raise ParameterError(f"stroke #{i} has class {label!r}; expected an integer in [0, 255]")
        width = stroke.get("width", 1)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not 1 <= width <= 500:
            raise ParameterError(f"stroke #{i} has width {width!r}; expected a number in [1, 500]")
        try:
            points = np.asarray(stroke.get("points"), dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"stroke #{i}: `points` must be [[row, col], ...]") from None
        if points.ndim != 2 or points.shape[1] != 2 or not len(points) or not np.isfinite(points).all():
            raise ParameterError(f"stroke #{i}: `points` must be a non-empty list of [row, col]")
        shifted = np.round(points[:, ::-1] - np.asarray(offset, float)[::-1])
        if np.abs(shifted).max() > _MAX_STROKE_COORD:
            # int32 would wrap (1e12 landed somewhere else; 1e300 raised IndexError): refuse instead
            raise ParameterError(f"stroke #{i}: `points` must lie within {_MAX_STROKE_COORD:,} pixels of the image; "
                                 f"got {float(np.abs(points).max()):g}")
        xy = shifted.astype(np.int32)
        value = 0 if erase else int(label)
        thickness = max(1, round(width))
        if len(xy) == 1:
            cv2.circle(seeds, (int(xy[0, 0]), int(xy[0, 1])), max(0, thickness // 2), value, -1)
        else:
            cv2.polylines(seeds, [xy.reshape(-1, 1, 2)], False, value, thickness, lineType=cv2.LINE_8)
    return seeds


def _inputs_for(spec, drawing: Mapping[str, Any], shape, offset) -> tuple[dict[str, Any], np.ndarray | None]:
    """The user inputs `spec` takes, built from the drawing, in the coordinates of the array it will see."""
    from seglab.interactive.inputs import as_contour, as_rect, circle_contour

    wanted = set(spec.inputs) | set(spec.optional_inputs)
    inputs: dict[str, Any] = {}
    seeds = None
    strokes = drawing.get("strokes")
    if strokes and ("seeds" in wanted or "scribbles" in wanted or "labels" in wanted):
        seeds = rasterize_strokes(strokes, shape, offset)
        key = "seeds" if "seeds" in wanted else ("scribbles" if "scribbles" in wanted else "labels")
        inputs[key] = seeds
    rect = drawing.get("rect")
    if rect is not None and "rect" in wanted:
        try:
            r, c, h, w = (round(float(v)) for v in rect)
        except (TypeError, ValueError, OverflowError):  # OverflowError: round(inf)
            raise ParameterError(f"`drawing.rect` got {rect!r}; expected [row, col, height, width] (4 finite "
                                 "numbers)") from None
        r, c = r - offset[0], c - offset[1]
        r0, c0 = max(r, 0), max(c, 0)
        r1, c1 = min(r + h, shape[0]), min(c + w, shape[1])
        inputs["rect"] = as_rect((r0, c0, r1 - r0, c1 - c0), shape)
    contour = drawing.get("contour")
    if contour is not None and "contour" in wanted:
        if isinstance(contour, Mapping) and "circle" in contour:
            try:
                row, col, radius = (float(v) for v in contour["circle"])
            except (TypeError, ValueError):
                raise ParameterError(f"`drawing.contour.circle` got {contour['circle']!r}; expected [row, col, radius] "
                                     "(3 numbers)") from None
            points = circle_contour(row - offset[0], col - offset[1], radius)
        else:
            points = as_contour(contour) - np.asarray(offset, float)
        inputs["contour"] = points
    return inputs, seeds


_DRAWN = {"seeds": ("strokes", "paint seeds with the brush (class 1, 2, ...)"),
          "rect": ("rect", "draw a rectangle"), "contour": ("contour", "draw a polygon or a circle")}


def check_drawn_inputs(request: RunRequest) -> None:
    """Refuse a request whose method needs a drawn input that the drawing lacks (before any work)."""
    from seglab._core.errors import MissingInputError

    spec = request.pipeline.method.spec
    for need in spec.inputs:
        key, how = _DRAWN.get(need, (None, None))
        if key is not None and not request.drawing.get(key):
            raise MissingInputError(f"method {spec.name!r} needs `{need}` (user input): {how}")


def _halo(pipeline) -> int:
    total = 0
    for step in [*pipeline.pre, pipeline.method, *pipeline.post]:
        spec = step.spec
        if spec.tiling == "local":
            total += int(spec.halo_for(step.params))
    return total


# -- running --------------------------------------------------------------------------------------
def run_request(workspace, request: RunRequest, *, progress=None) -> Result:
    """Run `request` on its image (a region preview, or the whole image) and return a :class:`Result`."""
    from seglab import evaluate

    started = time.perf_counter()
    report = progress or (lambda fraction, stage: None)
    source = workspace.source(request.image)
    spec = request.pipeline.method.spec
    if request.region is None and _tiled(request, source):
        return _run_tiled(workspace, request, source, report, started)
    report(0.05, "reading image")
    if request.region is None:
        pixels = workspace.read_whole(request.image)
        origin = (0, 0)
        inner = (0, 0, source.shape[0], source.shape[1])
    else:
        row, col, height, width = request.region
        if row >= source.shape[0] or col >= source.shape[1]:
            # was moved to the last pixel and run on a 1 x 1 crop ("image is too small")
            raise ParameterError(f"`region` starts at row {row}, col {col}, outside the {source.shape[0]} x "
                                 f"{source.shape[1]} image")
        height, width = min(height, source.shape[0] - row), min(width, source.shape[1] - col)
        halo = 0 if spec.tiling == "none" else _halo(request.pipeline)
        r0, c0 = max(0, row - halo), max(0, col - halo)
        r1, c1 = min(source.shape[0], row + height + halo), min(source.shape[1], col + width + halo)
        pixels = source.region(r0, c0, r1 - r0, c1 - c0)
        origin = (r0, c0)
        inner = (row, col, height, width)
    shape = pixels.shape[:2]
    inputs, seeds = _inputs_for(spec, request.drawing, shape, origin)
    report(0.15, f"running {request.pipeline.method.name}")
    result = request.pipeline.run(pixels, **inputs)
    report(0.85, "scoring")
    # crop the halo off again
    top, left = inner[0] - origin[0], inner[1] - origin[1]
    window = (slice(top, top + inner[2]), slice(left, left + inner[3]))
    data = np.asarray(result.data)[window]
    seen = result.image[window] if result.image is not None and result.image.ndim >= 2 else None
    seeds = seeds[window] if seeds is not None else None
    info = {k: v for k, v in result.info.items() if k != "pipeline"}
    extras = {k: np.asarray(v)[window] for k, v in result.extras.items()
              if isinstance(v, np.ndarray) and v.shape[:2] == tuple(shape) and v.ndim == 2}
    # short curves a method reports (k-means' elbow: k_values, inertias) travel in the info
    curves = {k: np.asarray(v).tolist() for k, v in result.extras.items()
              if isinstance(v, np.ndarray) and v.ndim == 1 and v.size <= 1000}
    if curves:
        info["curves"] = curves
    if "contour" in result.extras:
        info["contour"] = (np.asarray(result.extras["contour"]) + np.asarray(origin, float)).tolist()
    metrics = None
    if request.truth:
        truth = truth_region(workspace, request.truth, inner)
        if result.output in ("mask", "contour", "labels"):
            metrics = evaluate(truth, data)
        else:
            raise ParameterError(f"metrics need a mask or labels output; {request.pipeline.method.name!r} gives "
                                 f"{result.output!r}")
    report(0.95, "saving")
    return Result(id=new_id(), image=request.image, output=result.output, data=data, region=tuple(inner),
                  info=info, pipeline=request.pipeline_dict, seen=seen, seeds=seeds, extras=extras, metrics=metrics,
                  truth=request.truth, seconds=time.perf_counter() - started)


def _tiled(request: RunRequest, source) -> bool:
    """Run this whole-image request through the tiler? (asked by `chunk`, or a large image that can be tiled)"""
    wanted = request.chunk is not None or source.shape[0] * source.shape[1] > TILE_PIXELS
    if not wanted:
        return False
    # drawn inputs are whole-image arrays the tiler does not cut: those runs stay in memory
    uses_drawing = any(request.drawing.get(key) for key in ("strokes", "rect", "contour"))
    if uses_drawing or any(step.spec.inputs for step in [*request.pipeline.pre, request.pipeline.method,
                                                         *request.pipeline.post]):
        if request.chunk is not None:
            raise ParameterError(f"`chunk`: {request.pipeline.method.name!r} with drawn inputs runs on the whole "
                                 "image in memory; leave `chunk` out")
        return False
    from seglab._core.quiet import ignoring
    from seglab.tiling import TilingError, make_plan

    try:
        with ignoring(Warning):  # requests run on the server's threads: not catch_warnings
            make_plan(request.pipeline)
    except TilingError as exc:
        if request.chunk is not None:  # asked for explicitly: say why not
            raise ParameterError(f"`chunk`: this pipeline cannot run tile by tile ({exc})") from None
        return False  # in memory, exactly as `seglab segment`
    return True


# the tiler's passes and the part of the progress bar each one fills
_TILE_STAGES = {"stage": ("staging the input", 0.05, 0.15), "stats": ("histogram", 0.15, 0.4),
                "write": ("segmenting", 0.4, 0.85), "pairs": ("stitching", 0.85, 0.9),
                "final": ("relabelling", 0.9, 0.95)}


def _run_tiled(workspace, request: RunRequest, source, report, started: float) -> Result:
    """A whole-image run through :func:`seglab.tiling.run_tiled`, reporting each tile."""
    import tempfile
    from pathlib import Path

    from seglab import evaluate
    from seglab.tiling import run_tiled

    chunk = request.chunk or TILE_CHUNK

    def tile_event(event) -> None:  # seglab.workflows.Event: (stage, done, total) after every tile
        label, lo, hi = _TILE_STAGES.get(event.stage, (event.stage, 0.4, 0.85))
        fraction = lo + (hi - lo) * (event.done / event.total if event.total else 0.0)
        report(fraction, f"{label}: tile {event.done}/{event.total}")

    report(0.05, f"tiles of {chunk} px")
    # a lazy (large TIFF/zarr) image is read by the tiler tile by tile; a small one is already in memory
    image = source.path if source.lazy else source.array
    with tempfile.TemporaryDirectory(prefix="seglab-tiled-") as tmp:
        out = run_tiled(image, request.pipeline, Path(tmp) / "out.zarr", chunk=chunk, client="threads",
                        progress=tile_event)
        data = np.asarray(out[...])
        saved = out.attrs.get("provenance")
        provenance: dict[str, Any] = dict(saved) if isinstance(saved, Mapping) else {}
        output = str(out.attrs.get("output", request.pipeline.output))
    if output in ("mask", "contour"):
        data = data.astype(bool)
    info: dict[str, Any] = {"tiled": {"chunk": chunk, "tiles": int(np.prod([-(-n // chunk) for n in data.shape[:2]]))}}
    if provenance.get("threshold") is not None:
        info["threshold"] = provenance["threshold"]
    metrics = None
    inner = (0, 0, source.shape[0], source.shape[1])
    if request.truth:
        report(0.96, "scoring")
        metrics = evaluate(truth_region(workspace, request.truth, inner), data)
    report(0.98, "saving")
    return Result(id=new_id(), image=request.image, output=output, data=data, region=inner, info=info,
                  pipeline=request.pipeline_dict, metrics=metrics, truth=request.truth,
                  seconds=time.perf_counter() - started)


def truth_region(workspace, name: str, region) -> np.ndarray:
    """The ground truth's pixels of `region` (shape checked against the image by :func:`seglab.evaluate`)."""
    from seglab._core.errors import ShapeMismatchError

    source = workspace.source(name)
    row, col, height, width = region
    truth = source.region(row, col, height, width)
    if truth.ndim == 3:
        raise ShapeMismatchError(f"ground truth {name!r} is a colour image; expected a mask or a label image")
    if truth.shape != (height, width):
        raise ShapeMismatchError(
            f"ground truth {name!r} has shape {source.shape}; it does not cover the region "
            f"(row={row}, col={col}, height={height}, width={width}) of the image"
        )
    return truth


def describe(result: Result, *, overlay: bool = True, style: str = "fill") -> dict[str, Any]:
    """The JSON answer for a result: ids, info, metrics, overlay layer (data URL), histogram."""
    from seglab._core.provenance import jsonable

    from ._render import data_url, histogram, overlay_png

    out: dict[str, Any] = {
        "id": result.id,
        "image": result.image,
        "output": result.output,
        "region": list(result.region),
        "shape": list(result.data.shape),
        "info": jsonable(result.info),
        "metrics": jsonable(result.metrics) if result.metrics is not None else None,
        "truth": result.truth,
        "pipeline": result.pipeline,
        "seconds": round(result.seconds, 4),
        "urls": export_urls(result),
    }
    out["layers"] = sorted(result.extras)
    if result.output == "labels":
        out["n_objects"] = int(np.unique(result.data[result.data > 0]).size)
    if overlay:
        contour = result.info.get("contour")
        out["overlay"] = data_url(overlay_png(result.data, result.output, style=style, contour=contour,
                                              offset=result.region[:2]))
    # the image histogram with the intensity threshold(s) the method chose (threshold family only:
    # elsewhere `threshold` may be a probability, a gradient level...)
    family = _family(result.pipeline)
    if family == "threshold" and ("threshold" in result.info or "thresholds" in result.info) \
            and result.seen is not None:
        out["histogram"] = histogram(result.seen)
    return out


def _family(pipeline: dict) -> str | None:
    from seglab import get_method

    method = pipeline.get("method")
    name = method.get("name") if isinstance(method, dict) else method
    try:
        return get_method(str(name)).family
    except Exception:  # noqa: BLE001 - a method unregistered since the run: no histogram
        return None


EXPORTS = {
    "mask": ("mask.png", "mask.tif", "mask.zarr.zip"),
    "contour": ("mask.png", "mask.tif", "mask.zarr.zip"),
    "labels": ("labels.tif", "labels.png", "labels.zarr.zip"),
    "edges": ("edges.tif",),
    "proba": ("proba.tif",),
    "image": ("image.tif",),
}


def export_urls(result: Result) -> dict[str, str]:
    base = f"/api/results/{result.id}/"
    names = list(EXPORTS.get(result.output, ())) + ["overlay.png", "pipeline.yaml", "result.json"]
    if result.output in ("mask", "contour", "labels"):
        names += ["objects.csv"]
    if result.seeds is not None:
        names += ["seeds.tif"]
    return {name: base + name for name in names}


def export(result: Result, name: str, workspace) -> tuple[bytes, str]:
    """Bytes and media type of one export of `result` (written through :mod:`seglab.io`)."""
    import json
    import tempfile
    from pathlib import Path

    import yaml

    from seglab._core.provenance import jsonable
    from seglab.io import write

    if name not in export_urls(result):
        raise LookupError(name)
    if name == "pipeline.yaml":
        text = "# seglab pipeline: seglab segment IMAGE --pipeline pipeline.yaml --out OUT\n"
        return (text + yaml.safe_dump(result.pipeline, sort_keys=False)).encode(), "application/x-yaml"
    if name == "result.json":
        body = {"image": result.image, "region": list(result.region), "output": result.output,
                "pipeline": result.pipeline, "info": jsonable(result.info), "metrics": jsonable(result.metrics)}
        return json.dumps(body, indent=2).encode(), "application/json"
    with tempfile.TemporaryDirectory(prefix="seglab-export-") as tmp:
        path = Path(tmp) / name
        if name == "objects.csv":
            from seglab.instance import measure, write_csv

            table = measure(objects_of(result), _intensity(result))
            write_csv(table, path)
            return path.read_bytes(), "text/csv"
        if name.endswith(".zarr.zip"):
            # a zarr store is a folder: written by seglab.io (atomically), sent as one uncompressed zip
            # (the chunks are compressed already); unzipped, seglab.read reads it
            store = write(Path(tmp) / name[: -len(".zip")], export_array(result, name))
            return _zip_folder(store), "application/zip"
        if name == "overlay.png":
            write(path, overlay_picture(result, workspace))
        elif name.startswith(("mask.", "labels.")):
            write(path, export_array(result, name))
        elif name == "seeds.tif" and result.seeds is not None:
            write(path, result.seeds.astype(np.uint16))
        else:
            write(path, np.asarray(result.data, np.float32))
        media = "image/png" if name.endswith(".png") else "image/tiff"
        return path.read_bytes(), media


def export_array(result: Result, name: str) -> np.ndarray:
    """The array a mask or labels export holds: the same values in every format (PNG, TIFF, zarr).

    Masks are uint8 0/255 (what a viewer shows as white objects); labels are uint16, or uint32 above
    65535 labels (not for PNG).
    """
    if name.startswith("mask."):
        return np.asarray(result.data, bool).astype(np.uint8) * 255
    labels = np.asarray(result.data)
    top = int(labels.max()) if labels.size else 0
    if name.endswith(".png") and top >= 2**16:
        raise ParameterError("more than 65535 labels do not fit a 16-bit PNG; export labels.tif or labels.zarr.zip")
    return labels.astype(np.uint16 if top < 2**16 else np.uint32)


def _zip_folder(folder) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, (folder.name / path.relative_to(folder)).as_posix())
    return buffer.getvalue()


def save_export(result: Result, name: str, workspace) -> str:
    """Write a mask/labels export into the workspace's ``exports/`` folder (atomically); return its name.

    ``mask.zarr`` and ``labels.zarr`` (a zarr store, for images too big to download comfortably), or
    any other mask/labels format (``mask.png``, ``labels.tif``...). The file is listed with the
    workspace's images and read by :func:`seglab.read`.
    """
    from pathlib import Path, PurePosixPath

    from seglab.io import write

    kinds = {"mask": ("mask", "contour"), "labels": ("labels",)}
    stem, _, suffix = name.partition(".")
    if stem not in kinds or suffix not in ("zarr", "png", "tif"):
        raise ParameterError(f"`file` got {name!r}; expected mask.zarr, labels.zarr, mask.png, mask.tif, labels.tif "
                             "or labels.png")
    if result.output not in kinds[stem]:
        raise ParameterError(f"this result is {result.output!r}; it has no {stem} export")
    if workspace.read_only:
        raise ParameterError("this workspace is read-only; start seglab serve with --workspace DIR to save into it")
    image_stem = PurePosixPath(result.image).name.split(".")[0]
    folder = Path(workspace.root) / "exports"
    folder.mkdir(exist_ok=True)
    target = folder / f"{image_stem}-{result.id[:8]}.{name}"
    write(target, export_array(result, name), overwrite=True)
    return target.relative_to(workspace.root).as_posix()


def objects_of(result: Result) -> np.ndarray:
    """Labels of the result's objects: labels as they are, masks as connected components."""
    if result.output == "labels":
        return np.asarray(result.data)
    from scipy import ndimage as ndi

    return ndi.label(np.asarray(result.data, bool))[0]


def _intensity(result: Result):
    seen = result.seen
    return seen if seen is not None and seen.ndim == 2 else None


def overlay_picture(result: Result, workspace) -> np.ndarray:
    """The exported overlay: :mod:`seglab.viz`'s picture for the output kind, on the region's image."""
    from seglab import viz

    image = result.seen
    if image is None or image.ndim not in (2, 3):
        image = workspace.source(result.image).region(*result.region)
    if result.output == "mask":
        return viz.mask_overlay(image, result.data)
    if result.output == "labels":
        return viz.label_overlay(image, result.data, kind="overlay", boundaries=True)
    if result.output == "contour":
        contour = np.asarray(result.info.get("contour", np.zeros((0, 2)))) - np.asarray(result.region[:2], float)
        return viz.mask_overlay(image, result.data) if not len(contour) else viz.contour_overlay(image, contour)
    return viz.edges_image(result.data)


def objects_table(result: Result, limit: int = 500) -> dict[str, Any]:
    """Measurements of the objects (``seglab.instance.measure``) as JSON columns, first `limit` rows."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ParameterError(f"`limit` got {limit!r}; expected an integer >= 0 (rows to return)")
    from seglab._core.provenance import jsonable
    from seglab.instance import measure

    table = measure(objects_of(result), _intensity(result),
                    properties=("area", "centroid", "bbox", "equivalent_diameter")
                    + (("intensity",) if _intensity(result) is not None else ()))
    columns = {k: jsonable(np.asarray(v)[:limit]) for k, v in table.items()}
    n = len(next(iter(table.values()))) if table else 0
    return {"n_objects": int(n), "columns": columns, "truncated": n > limit}


def confusion_picture(workspace, result: Result) -> np.ndarray:
    """:func:`seglab.viz.confusion_overlay` of the result against its truth (region of the image)."""
    from seglab import viz

    truth = truth_region(workspace, result.truth, result.region) if result.truth else None
    if truth is None:
        raise ParameterError("this result has no ground truth; pick one first")
    image = workspace.source(result.image).region(*result.region)
    image = workspace.source(result.image).to_display(image)
    return viz.confusion_overlay(image, np.asarray(truth) > 0, np.asarray(result.data) > 0)


def train_pixel_classifier(workspace, body: Mapping[str, Any]) -> dict[str, Any]:
    """Train :func:`seglab.learn.fit_pixel_classifier` on painted scribbles; save the model in the workspace.

    The scribbles are the strokes of ``body["drawing"]`` (class 1 = background by the classifier's
    convention, 2... = foreground classes) over the whole image, or over ``body["region"]`` for a
    large one. The model folder goes to ``models/scribbles-ID`` inside the workspace, where the
    ``pixel_classifier`` method (and ``seglab segment --param model=...``) reads it.
    """
    from seglab.learn import fit_pixel_classifier

    if not isinstance(body, Mapping) or not isinstance(body.get("image"), str):
        raise ParameterError("the request body must be an object with `image` and `drawing.strokes`")
    source = workspace.source(body["image"])
    region = body.get("region")
    if region:
        row, col, height, width = (int(v) for v in region)
        if height * width > MAX_PREVIEW_PIXELS:
            raise ParameterError(f"`region` of {height} x {width} pixels is larger than the training limit "
                                 f"({MAX_PREVIEW_PIXELS} pixels)")
        pixels = source.region(row, col, height, width)
        origin = (row, col)
    else:
        pixels = workspace.read_whole(body["image"])
        origin = (0, 0)
    drawing = body.get("drawing") or {}
    scribbles = rasterize_strokes(drawing.get("strokes") if isinstance(drawing, Mapping) else None,
                                  pixels.shape[:2], origin)
    if scribbles is None or np.unique(scribbles[scribbles > 0]).size < 2:
        raise ParameterError("paint at least two classes of scribbles (class 1: background, class 2: objects) "
                             "before training the pixel classifier")
    n_estimators = int(body.get("n_estimators", 30))
    if not 1 <= n_estimators <= 500:
        raise ParameterError(f"`n_estimators` got {n_estimators}; expected 1..500")
    started = time.perf_counter()
    model = fit_pixel_classifier(pixels, scribbles, n_estimators=n_estimators, seed=0)
    name = f"models/scribbles-{new_id()[:10]}"
    folder = workspace.root / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    model.save(folder)
    return {"model": name, "path": str(folder), "classes": [int(c) for c in model.classes],
            "labelled_pixels": int(np.count_nonzero(scribbles)), "seconds": round(time.perf_counter() - started, 3)}
