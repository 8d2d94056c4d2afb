"""What the widgets run in their worker thread: seglab's public API, with progress and cancel.

No napari or Qt import: a :class:`Job` is plain data and :func:`run_job` a plain function, so the
same code runs under the viewer and in the default tests. Three routes, chosen from the layer's data
and the method's spec (never from the method's name):

* in memory: ``Pipeline.run`` on the whole array (2-D images, 3-D stacks for 3-D methods);
* plane by plane: a 3-D stack given to a method that declares only 2-D, one ``Pipeline.run`` per
  plane (cancel and progress between planes);
* tiled: a dask- or zarr-backed layer (too large to load) goes through :func:`seglab.tiling.run_tiled`
  with threads into a zarr store, which the result layer then reads lazily.
"""

from __future__ import annotations

import inspect
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab.workflows import Cancelled, CancelToken, Event

__all__ = ["RunCancelled", "RunState", "Job", "JobResult", "is_lazy", "run_job", "route"]


#: The user pressed Cancel: the workflows' one cancellation error, raised at the next checkpoint
#: (between planes, steps or tiles).
RunCancelled = Cancelled


class RunState:
    """Progress and the cancel flag, shared between the worker thread and the widget's timer.

    The worker reports through :meth:`update` (the workflows' :class:`~seglab.workflows.Event`, or
    ``(stage, done, total)``); the widget reads :meth:`snapshot` from the GUI thread (Qt widgets
    must not be touched from the worker). :attr:`token` is the :class:`~seglab.workflows.CancelToken`
    handed to workflows that take one (the tiler).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.token = CancelToken()
        self.stage, self.done, self.total = "", 0, 0

    def update(self, stage: str | Event, done: int = 0, total: int = 0) -> None:
        if isinstance(stage, Event):
            name, done, total = stage.stage, stage.done, stage.total
        else:
            name = stage
        with self._lock:
            self.stage, self.done, self.total = str(name), int(done), int(total)
        self.check()

    def check(self) -> None:
        self.token.check(self.stage or "the run")

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def snapshot(self) -> tuple[str, int, int]:
        with self._lock:
            return self.stage, self.done, self.total


@dataclass
class Job:
    """One run of the segment widget.

    Attributes
    ----------
    pipeline : seglab.Pipeline
    image : array-like
        The layer's data (NumPy, dask or zarr; level 0 of a multiscale layer).
    rgb : bool
        The layer's last axis is colour.
    inputs : dict
        User inputs (``seeds``, ``contour``, ``rect``, ``markers``, ``model``).
    tile_out : Path, optional
        Zarr output of a tiled run (a fresh temporary folder when None).
    chunk : int
        Tile size of a tiled run.
    scribbles : ndarray, optional
        Painted classes (0 = unlabelled) to train the method on first (a learned method, see
        :mod:`seglab.napari._learn`); the model is saved to `model_dir` and the pipeline's ``model``
        parameter set to that folder, so the exported pipeline reruns the same model.
    """

    pipeline: Any
    image: Any
    rgb: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    tile_out: Path | None = None
    chunk: int = 1024
    name: str = ""
    scribbles: np.ndarray | None = None
    model_dir: Path | None = None


@dataclass
class JobResult:
    """What a job returns: the same fields as :class:`seglab.SegmentationResult`, and the route taken."""

    data: Any
    output: str
    info: dict[str, Any]
    extras: dict[str, np.ndarray]
    pipeline: Any
    route: str
    tile_out: Path | None = None


def is_lazy(data: Any) -> bool:
    """True for dask and zarr arrays: data a layer reads on demand, which go through the tiler."""
    if isinstance(data, np.ndarray):
        return False
    module = type(data).__module__ or ""
    return hasattr(data, "compute") or module.split(".")[0] == "zarr"


def route(job: Job) -> str:
    """``'tiled'``, ``'planes'`` or ``'memory'`` for `job` (see the module docstring)."""
    if is_lazy(job.image):
        return "tiled"
    spatial = np.ndim(job.image) - (1 if job.rgb else 0)
    if spatial == 3 and 3 not in job.pipeline.method.spec.dims:
        return "planes"
    return "memory"


def run_job(job: Job, state: RunState | None = None) -> JobResult:
    """Run `job` and return its result; raise :class:`RunCancelled` if `state` is cancelled."""
    state = state or RunState()
    state.check()
    if job.scribbles is not None:
        job = _train_first(job, state)
    channel_axis = -1 if job.rgb else None
    how = route(job)
    if how == "tiled":
        return _run_tiled(job, state)
    if how == "planes":
        return _run_planes(job, state, channel_axis)
    state.update(job.pipeline.method.name, 0, 0)
    result = job.pipeline.run(np.asarray(job.image), channel_axis=channel_axis, **job.inputs)
    state.update(job.pipeline.method.name, 1, 1)
    return JobResult(result.data, result.output, result.info, result.extras, result.pipeline, how)


def _train_first(job: Job, state: RunState) -> Job:
    from dataclasses import replace

    from seglab import Pipeline

    from . import _learn

    if job.model_dir is None or job.scribbles is None:
        raise ValueError("a job with scribbles needs `model_dir`, the folder the trained model is saved to")
    state.update("train", 0, 0)
    method = job.pipeline.method.name
    folder = _learn.train(np.asarray(job.image), job.scribbles, Path(job.model_dir), method=method)
    state.check()
    data = job.pipeline.to_dict()
    data["method"]["params"]["model"] = str(folder)
    return replace(job, pipeline=Pipeline.from_dict(data), scribbles=None)


def _plane_inputs(inputs: Mapping[str, Any], index: int, depth: int) -> dict[str, Any]:
    # a label image drawn over the whole stack (seeds, markers) gives each plane its own slice
    out = {}
    for key, value in inputs.items():
        if key in ("seeds", "markers") and isinstance(value, np.ndarray) and value.ndim == 3 \
                and value.shape[0] == depth:
            value = value[index]
        out[key] = value
    return out


def _run_planes(job: Job, state: RunState, channel_axis) -> JobResult:
    image = np.asarray(job.image)
    depth = image.shape[0]
    planes, infos = [], []
    output = job.pipeline.output
    offset = 0
    for index in range(depth):
        state.update("plane", index, depth)
        result = job.pipeline.run(image[index], channel_axis=channel_axis, **_plane_inputs(job.inputs, index, depth))
        data = result.data
        if result.output == "labels":
            # one object, one id across the stack: each plane's ids follow the previous plane's
            data = np.where(data > 0, data + offset, 0).astype(data.dtype)
            offset = int(data.max(initial=offset))
        planes.append(data)
        infos.append({k: v for k, v in result.info.items() if k != "pipeline"})
        output = result.output
    state.update("plane", depth, depth)
    info = {"planes": infos, "per_plane": True, "pipeline": job.pipeline.to_dict()}
    return JobResult(np.stack(planes), output, info, {}, job.pipeline, "planes")


def _run_tiled(job: Job, state: RunState) -> JobResult:
    from seglab.tiling import run_tiled

    out = Path(job.tile_out) if job.tile_out is not None else \
        Path(tempfile.mkdtemp(prefix="seglab-napari-")) / f"{job.name or 'result'}.zarr"
    extra: dict[str, Any] = {}
    if "cancel" in inspect.signature(run_tiled).parameters:
        extra["cancel"] = state.token  # checked by the tiler after every tile
    array = run_tiled(job.image, job.pipeline, out, chunk=job.chunk, client="threads", progress=state.update,
                      **extra)
    attrs: dict[str, Any] = dict(array.attrs)
    info = {"provenance": attrs.get("provenance", {}), "tile_out": str(out)}
    threshold = (attrs.get("provenance") or {}).get("threshold")
    if threshold is not None:
        info["threshold"] = threshold
    info["pipeline"] = job.pipeline.to_dict()
    return JobResult(array, str(attrs.get("output", job.pipeline.output)), info, {}, job.pipeline, "tiled", out)
