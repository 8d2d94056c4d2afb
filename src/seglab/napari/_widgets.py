"""The dock widgets: segment, compare, train. Forms come from the registry, work from seglab's API.

Each widget is a magicgui :class:`~magicgui.widgets.Container` that takes the viewer
(``napari_viewer``), so napari's plugin manager can build it from ``napari.yaml``. No algorithm lives
here: the segment widget reads the registry (``seglab.all_specs()`` and each spec's ``to_dict()``
schema, the one ``seglab methods --json`` prints), builds :class:`seglab.Pipeline` objects and runs
them through :mod:`seglab.napari._jobs` in napari's worker thread.

Without the extra (``pip install "seglab[napari]"``) this module still imports, so the package's
doctests and the registry scan never fail; building a widget then raises
:class:`~seglab.MissingDependencyError` with the install command.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import MissingDependencyError, ParameterError, SeglabError

from ._adapters import (
    contour_from_shape,
    layer_metadata,
    pipeline_yaml,
    rect_from_shape,
    result_layer,
    seeds_from_points,
    spatial_shape,
    widget_options,
)
from ._jobs import Job, JobResult, RunCancelled, RunState, run_job

try:  # the extra's widget toolkit; absent in a plain install (see the module docstring)
    _mg: Any = importlib.import_module("magicgui.widgets")
except ImportError:  # pragma: no cover - exercised only without the extra
    _mg = None


class _MissingExtra:
    def __init__(self, *args, **kwargs):
        raise MissingDependencyError('the napari widgets need napari and magicgui: pip install "seglab[napari]"')


Container: Any = _mg.Container if _mg is not None else _MissingExtra

__all__ = ["SegmentWidget", "CompareWidget", "TrainWidget", "step_form", "form_values"]

#: Which layer types can give each user input.
INPUT_LAYERS = {
    "seeds": ("Labels", "Points"),
    "markers": ("Labels",),
    "contour": ("Shapes",),
    "rect": ("Shapes",),
}
_NONE = "(none)"


def step_form(spec_dict: dict[str, Any]) -> Container:
    """A container with one widget per parameter of a registry entry (from its ``to_dict()`` schema).

    A method registered tomorrow gets its form from its declared ``Param``\\ s with no change here.
    """
    form = Container(labels=True)
    for param in spec_dict["params"]:
        form.append(_param_widget(param))
    return form


def _param_widget(param: dict[str, Any]):
    if param["name"] == "model" and param["type"] == "str":
        # a learned method's saved model: a folder picker
        value = param.get("default") or ""
        widget = _mg.FileEdit(mode="d", label="model", tooltip=param.get("help") or "model folder",
                              value=value or None)
        widget.param_name = "model"
        return widget
    made = widget_options(param)
    widget = getattr(_mg, made["widget_type"])(**made["options"])
    if "decimals" in made:
        # Qt rounds a QDoubleSpinBox value to its decimals: keep enough for the default and bounds
        widget.native.setDecimals(made["decimals"])
        widget.value = made["options"]["value"]
    widget.param_name = param["name"]
    return widget


def form_values(form: Container) -> dict[str, Any]:
    """The values typed in a :func:`step_form` (text as typed; the registry coerces and checks them)."""
    values = {}
    for widget in form:
        name = getattr(widget, "param_name", None)
        if name is None:
            continue
        value = widget.value
        if isinstance(value, Path):
            value = "" if str(value) in ("", ".") else str(value)
        values[name] = value
    return values


def _fresh_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2.suffix``, ``stem-3.suffix`` ... when it exists (a run never overwrites)."""
    path = folder / f"{stem}{suffix}"
    index = 2
    while path.exists():
        path = folder / f"{stem}-{index}{suffix}"
        index += 1
    return path


def _header(text: str):
    return _mg.Label(value=f"<b>{text}</b>")


def _layer_names(viewer, kinds: tuple[str, ...], *, optional: bool = False) -> list[str]:
    names = [layer.name for layer in viewer.layers if layer.__class__.__name__ in kinds]
    return ([_NONE] if optional else []) + names


class _ViewerWidget(Container):
    """A container bound to a viewer, whose layer pickers follow the layer list."""

    def __init__(self, napari_viewer, **kwargs):
        super().__init__(**kwargs)
        self.viewer = napari_viewer
        events = napari_viewer.layers.events
        for name in ("inserted", "removed", "moved", "reordered"):
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self._layers_changed)

    def _layers_changed(self, event=None) -> None:
        self.reset_choices()

    def _picker(self, label: str, kinds: tuple[str, ...], *, optional: bool = False, tooltip: str = ""):
        return _mg.ComboBox(label=label, tooltip=tooltip,
                            choices=lambda _w: _layer_names(self.viewer, kinds, optional=optional))

    def _layer(self, name: str | None):
        if not name or name == _NONE:
            return None
        return self.viewer.layers[name]

    def _put_layer(self, data, kwargs: dict[str, Any], layer_type: str):
        """Add a layer, or update the one of that name (rerunning replaces the result in place)."""
        name = kwargs["name"]
        if name in self.viewer.layers and self.viewer.layers[name].__class__.__name__.lower() == layer_type:
            layer = self.viewer.layers[name]
            layer.data = data
            layer.metadata = kwargs.get("metadata", {})
            return layer
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        return getattr(self.viewer, f"add_{layer_type}")(data, **kwargs)


class SegmentWidget(_ViewerWidget):
    """Run any registered method, with pre- and post-steps, on an image layer.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose layers the widget reads and writes.

    Notes
    -----
    The method list, each parameter form and the inputs shown come from the registry, so a method
    registered later appears here with no change to the plugin. The run happens in a worker thread
    (progress bar, Cancel); its result becomes a Labels layer (masks, labels, filled contours) or an
    Image layer (edges, probabilities) named ``"<image> <method>"`` whose ``metadata["seglab"]``
    holds the pipeline and what the method chose (``info``: threshold, ...).
    """

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer, labels=False, scrollable=False)
        import seglab

        self._specs = {s.name: s for s in seglab.all_specs() if s.kind == "method"}
        self._pre_names = seglab.list_steps("pre")
        self._post_names = seglab.list_steps("post")
        self.image = self._picker("image", ("Image",), tooltip="the image layer to segment")
        self.method = _mg.ComboBox(label="method", choices=sorted(self._specs), value="otsu"
                                   if "otsu" in self._specs else None)
        self.summary = _mg.Label(value="")
        self.summary.native.setWordWrap(True)
        self.summary.native.setMinimumWidth(360)
        self.params = Container(labels=True)
        self.pre = _StepList("pre", self._pre_names)
        self.post = _StepList("post", self._post_names)
        self.inputs = Container(labels=True)
        self._input_pickers: dict[str, Any] = {}
        self.chunk = _mg.SpinBox(label="tile size", value=1024, min=64, max=65536, step=64,
                                 tooltip="tile size for dask/zarr-backed layers, which run through the tiler")
        self.tile_folder = _mg.FileEdit(mode="d", label="tiled output",
                                        tooltip="folder for the zarr a dask/zarr-backed layer's result is written to "
                                                "(<image>_<method>.zarr; a temporary folder when empty)")
        self.live = _mg.CheckBox(label="retrain as you paint", value=True,
                                 tooltip="rerun when the scribbles layer changes (pixel classifier)")
        self.run_button = _mg.PushButton(text="Run")
        self.cancel_button = _mg.PushButton(text="Cancel", enabled=False)
        self.progress = _mg.ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = _mg.Label(value="")
        self.status.native.setWordWrap(True)
        self.status.native.setMinimumWidth(360)
        self.export_path = _mg.FileEdit(mode="w", filter="*.yaml", label="pipeline file",
                                        tooltip="where Export writes the pipeline YAML")
        self.export_button = _mg.PushButton(text="Export pipeline")
        self.inputs_header = _header("inputs (drawn layers)")
        self.extend([Container(widgets=[self.image, self.method], labels=True), self.summary,
                     _header("parameters"), self.params,
                     _header("pre-steps (in order)"), self.pre,
                     _header("post-steps (in order)"), self.post,
                     self.inputs_header, self.inputs,
                     Container(widgets=[self.chunk, self.tile_folder, self.live], labels=True),
                     Container(widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False),
                     Container(widgets=[self.progress], labels=True), self.status,
                     Container(widgets=[self.export_path, self.export_button], layout="horizontal",
                               labels=False)])
        self.method.changed.connect(self._method_changed)
        self.run_button.changed.connect(lambda *_: self.run())
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        self.export_button.changed.connect(lambda *_: self._export_clicked())
        self.worker = None
        self.warnings = []
        self.last_result: JobResult | None = None
        self.last_layer = None
        self._state: RunState | None = None
        self._rerun = False
        self._watched = None
        self._timer = None
        self._scratch_model: Path | None = None
        self.reset_choices()
        self._method_changed()
        active = napari_viewer.layers.selection.active
        if active is not None and active.__class__.__name__ == "Image":
            self.image.value = active.name  # the layer the user has selected

    # -- form -----------------------------------------------------------------------------------
    @property
    def spec(self):
        return self._specs[self.method.value]

    def _method_changed(self, *_):
        spec = self.spec
        schema = spec.to_dict()
        self.summary.value = schema["summary"]
        self.summary.tooltip = "\n".join(schema["references"])
        self.params.clear()
        for widget in step_form(schema):
            self.params.append(widget)
        self.inputs.clear()
        self._input_pickers = {}
        needed = list(spec.inputs) + [i for i in spec.optional_inputs if i not in spec.inputs]
        for name in needed:
            optional = name not in spec.inputs
            if name == "model":
                picker = _mg.FileEdit(mode="d", label="model", tooltip="a saved model folder")
            else:
                kinds = INPUT_LAYERS.get(name, ("Labels",))
                picker = self._picker(name, kinds, optional=optional,
                                      tooltip=f"layer giving `{name}` ({' or '.join(kinds)})")
            self._input_pickers[name] = picker
            self.inputs.append(picker)
        if self._learned():
            # a method trained from painted labels (the pixel classifier): scribbles -> train -> predict
            picker = self._picker("scribbles", ("Labels",), optional=True,
                                  tooltip="paint classes (1 = background, 2.. = objects) to train the model; "
                                          "(none): use the model folder as it is")
            self._input_pickers["scribbles"] = picker
            self.inputs.append(picker)
            needed.append("scribbles")
        self.inputs.visible = self.inputs_header.visible = bool(needed)
        self.live.visible = self._learned()
        self.reset_choices()

    def _learned(self) -> bool:
        from . import _learn

        return _learn.trainer(self.method.value) is not None

    def set_params(self, **values) -> None:
        """Set parameter widgets by name (what a user types; used by scripts and tests)."""
        by_name = {getattr(w, "param_name", None): w for w in self.params}
        for key, value in values.items():
            if key not in by_name:
                raise ParameterError(f"method {self.method.value!r} has no parameter `{key}`; its parameters are "
                                     f"{', '.join(n for n in by_name if n) or '(none)'}")
            by_name[key].value = value

    def pipeline(self):
        """The :class:`seglab.Pipeline` the widget's current settings describe (checked by the registry)."""
        from seglab import Pipeline

        return Pipeline.from_dict({
            "pre": self.pre.steps(),
            "method": {"name": self.method.value, "params": form_values(self.params)},
            "post": self.post.steps(),
        })

    # -- inputs ---------------------------------------------------------------------------------
    def _image_layer(self):
        layer = self._layer(self.image.value)
        if layer is None:
            raise ParameterError("no image layer selected; open an image and pick it in `image`")
        return layer

    @staticmethod
    def _layer_array(layer):
        data = layer.data
        if getattr(layer, "multiscale", False):
            data = data[0]  # level 0: full resolution, tiled if lazy
        return data

    def collect_inputs(self, image_layer) -> tuple[dict[str, Any], dict[str, str]]:
        """User inputs from their layers: ``(inputs, {input: layer name})``."""
        shape = spatial_shape(self._layer_array(image_layer).shape, bool(getattr(image_layer, "rgb", False)))
        inputs: dict[str, Any] = {}
        names: dict[str, str] = {}
        for name, picker in self._input_pickers.items():
            if name == "scribbles":
                continue  # not a method input: the widget trains on it first (see make_job)
            if name == "model":
                value = picker.value
                if value is not None and str(value) not in ("", "."):
                    inputs["model"] = str(value)
                continue
            layer = self._layer(picker.value)
            if layer is None:
                continue
            names[name] = layer.name
            inputs[name] = self._input_from_layer(name, layer, shape)
        return inputs, names

    @staticmethod
    def _input_from_layer(name: str, layer, shape):
        kind = layer.__class__.__name__
        if kind == "Points":
            classes = None
            features = getattr(layer, "features", None)
            for column in ("class", "label"):
                if features is not None and column in getattr(features, "columns", ()):
                    classes = np.asarray(features[column])
                    break
            return seeds_from_points(layer.data, shape, classes)
        if kind == "Shapes":
            if len(layer.data) == 0:
                raise ParameterError(f"the shapes layer {layer.name!r} is empty; draw the {name} first")
            vertices, shape_type = layer.data[-1], layer.shape_type[-1]
            if name == "rect":
                return rect_from_shape(vertices, shape)
            return contour_from_shape(vertices, shape_type)
        data = np.asarray(layer.data)
        if data.shape != tuple(shape):
            raise ParameterError(
                f"the {name} layer {layer.name!r} has shape {data.shape}; expected {tuple(shape)}, the image's shape"
            )
        return data

    # -- running --------------------------------------------------------------------------------
    def make_job(self) -> tuple[Job, Any, dict[str, str]]:
        layer = self._image_layer()
        pipeline = self.pipeline()
        inputs, names = self.collect_inputs(layer)
        job = Job(pipeline, self._layer_array(layer), rgb=bool(getattr(layer, "rgb", False)), inputs=inputs,
                  chunk=int(self.chunk.value), name=f"{layer.name} {pipeline.method.name}".replace(" ", "_"))
        folder = self.tile_folder.value
        if folder is not None and str(folder) not in ("", "."):
            job.tile_out = _fresh_path(Path(folder), job.name, ".zarr")
        scribbles = self._layer(self._input_pickers["scribbles"].value) if "scribbles" in self._input_pickers \
            else None
        if scribbles is not None:
            names["scribbles"] = scribbles.name
            job.scribbles = np.asarray(scribbles.data)
            job.model_dir = self._model_dir()
        return job, layer, names

    def _model_dir(self) -> Path:
        """The folder scribble training saves to: the form's `model` folder, else one temporary folder."""
        chosen = form_values(self.params).get("model")
        if chosen:
            return Path(chosen)
        if self._scratch_model is None:
            import tempfile

            self._scratch_model = Path(tempfile.mkdtemp(prefix="seglab-scribbles-")) / "model"
        return self._scratch_model

    @property
    def running(self) -> bool:
        return self.worker is not None

    def run(self):
        """Start a run in a worker thread and return the worker (None when the settings are invalid)."""
        if self.running:
            self._rerun = True  # a scribble changed mid-run: run again when this one ends
            return self.worker
        from napari.qt.threading import create_worker

        try:
            job, layer, names = self.make_job()
        except SeglabError as exc:
            self.status.value = f"error: {exc}"
            return None
        self._state = state = RunState()
        self._watch_scribbles(names)
        # errors (and Cancel) end up in the status line, not as a traceback in the event loop
        worker = create_worker(run_job, job, state, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result: self._finished(result, layer, names))
        worker.errored.connect(self._failed)
        worker.warned.connect(self._warned)
        self.warnings: list[str] = []
        worker.finished.connect(self._cleanup)
        self.worker = worker
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.status.value = f"running {job.pipeline.method.name} on {layer.name} ..."
        self._start_timer()
        worker.start()
        return worker

    def cancel(self) -> None:
        """Ask the running job to stop at its next checkpoint."""
        if self._state is not None:
            self._state.cancel()
        self._rerun = False

    def _start_timer(self) -> None:
        from qtpy.QtCore import QTimer

        if self._timer is None:
            self._timer = QTimer()
            self._timer.setInterval(100)
            self._timer.timeout.connect(self._poll)
        self._timer.start()

    def _poll(self) -> None:
        if self._state is None:
            return
        stage, done, total = self._state.snapshot()
        if total <= 0:
            self.progress.max = 0  # busy indicator: one call with no checkpoints inside
        else:
            self.progress.max = total
            self.progress.value = min(done, total)
        if stage:
            self.status.value = f"{stage}: {done}/{total}" if total > 0 else f"running {stage} ..."

    def _stop_polling(self) -> None:
        # a tick queued behind the result would overwrite the final status
        if self._timer is not None:
            self._timer.stop()
        self._state = None

    def _finished(self, result: JobResult, image_layer, names: dict[str, str]) -> None:
        self._stop_polling()
        self.last_result = result
        trained = result.pipeline.method.params.get("model")
        if "scribbles" in names and trained:
            for widget in self.params:
                if getattr(widget, "param_name", None) == "model":
                    widget.value = trained  # Export then names the model this result came from
        spec = result.pipeline.method.spec
        name = f"{image_layer.name} {spec.name}"
        metadata = layer_metadata(result, source=image_layer.name, inputs=names, per_plane=result.route == "planes")
        metadata["seglab"]["route"] = result.route
        placement = {key: getattr(image_layer, key) for key in ("scale", "translate")}
        if getattr(image_layer, "rgb", False) or np.ndim(result.data) == len(placement["scale"]):
            pass
        else:
            placement = {}
        data, kwargs, layer_type = result_layer(result.data, result.output, name, metadata, placement)
        self.last_layer = self._put_layer(data, kwargs, layer_type)
        if "contour" in result.extras:
            self._put_layer([np.asarray(result.extras["contour"])],
                            {"name": f"{name} contour", "shape_type": "polygon", "edge_color": "yellow",
                             "face_color": "transparent", "edge_width": 1}, "shapes")
        # what the method chose (threshold, k, ...), short enough for one status line
        chosen = {k: v for k, v in metadata["seglab"]["info"].items()
                  if isinstance(v, (int, float, str, bool)) and k not in ("tile_out", "model")}
        self.status.value = f"done: {name}" + (f" {chosen}" if chosen else "") + \
            "".join(f"\nwarning: {w}" for w in self.warnings)
        self.progress.max = 1
        self.progress.value = 1

    def _warned(self, record) -> None:
        # superqt catches the worker's warnings and hands them over as showwarning() arguments
        message = str(record[0]) if isinstance(record, (tuple, list)) and record else str(record)
        self.warnings.append(message)

    def _failed(self, exc: BaseException) -> None:
        self._stop_polling()
        self.progress.max = 1
        self.progress.value = 0
        if isinstance(exc, RunCancelled):
            self.status.value = "cancelled"
        else:
            self.status.value = f"error: {exc}"

    def _cleanup(self) -> None:
        self._stop_polling()
        self.worker = None
        self.run_button.enabled = True
        self.cancel_button.enabled = False
        if self._rerun:
            self._rerun = False
            self.run()

    # -- live retraining --------------------------------------------------------------------------
    def _watch_scribbles(self, names: dict[str, str]) -> None:
        layer = self._layer(names.get("scribbles"))
        # napari hands plugins proxies of its layers, a new one per lookup: compare what they wrap
        if getattr(layer, "__wrapped__", layer) is getattr(self._watched, "__wrapped__", self._watched):
            return
        if self._watched is not None:
            for emitter in (self._watched.events.paint, self._watched.events.data):
                emitter.disconnect(self._scribbles_changed)
        self._watched = layer
        if layer is not None:
            # `paint` fires after each brush stroke, `data` when the whole array is replaced
            layer.events.paint.connect(self._scribbles_changed)
            layer.events.data.connect(self._scribbles_changed)

    def _scribbles_changed(self, event=None) -> None:
        if self.live.value and self._learned():
            self.run()

    # -- export ---------------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        path = self.export_path.value
        if path is None or str(path) in ("", "."):
            self.status.value = "error: choose a pipeline file to export to"
            return
        try:
            self.export(path)
        except SeglabError as exc:
            self.status.value = f"error: {exc}"

    def export(self, path) -> Path:
        """Write the current settings as a pipeline YAML (atomically); return its path.

        ``seglab segment IMAGE --pipeline PATH --out DIR`` reproduces the widget's result bit for
        bit. Drawn inputs are written beside it (``<stem>.seeds.tif``, ``<stem>.markers.tif``,
        ``<stem>.contour.json``) and the comment line on top gives the full command.
        """
        from seglab.io import write, write_json, write_text_atomic

        path = Path(path)
        pipeline = self.pipeline()
        args = [f"seglab segment IMAGE --pipeline {path.name}"]
        layer = self._layer(self.image.value)
        if layer is not None:
            inputs, _ = self.collect_inputs(layer)
            stem = path.with_suffix("")
            for key in ("seeds", "markers"):
                if key in inputs:
                    target = stem.with_name(f"{stem.name}.{key}.tif")
                    write(target, np.asarray(inputs[key]).astype(np.uint32))
                    args.append(f"--{key} {target.name}")
            if "contour" in inputs:
                target = stem.with_name(f"{stem.name}.contour.json")
                write_json(target, {"points": np.asarray(inputs["contour"]).tolist()})
                args.append(f"--contour {target.name}")
            if "rect" in inputs:
                args.append("--rect " + ",".join(str(v) for v in inputs["rect"]))
        args.append("--out OUT")
        write_text_atomic(path, pipeline_yaml(pipeline, command=" ".join(args)))
        self.status.value = f"exported {path}"
        return path


class _StepList(Container):
    """An ordered list of pre- or post-steps, each with its registry-generated form."""

    def __init__(self, kind: str, names: list[str]):
        super().__init__(labels=False)
        self.kind = kind
        self.choice = _mg.ComboBox(label=f"{kind}-step", choices=names)
        self.add_button = _mg.PushButton(text=f"add {kind}-step")
        self.rows = Container(labels=False)
        self.extend([Container(widgets=[self.choice, self.add_button], layout="horizontal", labels=False), self.rows])
        self.add_button.changed.connect(lambda *_: self.add(self.choice.value))

    def add(self, name: str, **params):
        """Append step `name` (its form pre-filled with `params`); return its row."""
        import seglab

        spec = seglab.get_step(name, self.kind)
        form = step_form(spec.to_dict())
        for widget in form:
            if getattr(widget, "param_name", None) in params:
                widget.value = params[widget.param_name]
        remove = _mg.PushButton(text="remove")
        # the step's name and its remove button on one line, the form below at the full width: side by side
        # the three squeezed the form's labels ("connectivit")
        header = Container(widgets=[_mg.Label(value=name), remove], layout="horizontal", labels=False)
        row = Container(widgets=[header, form], labels=False)
        row.remove_button = remove
        row.step_name = name
        row.form = form
        remove.changed.connect(lambda *_: self.rows.remove(row))
        self.rows.append(row)
        return row

    def steps(self) -> list[dict[str, Any]]:
        return [{"name": row.step_name, "params": form_values(row.form)} for row in self.rows]


class CompareWidget(_ViewerWidget):
    """Score a result layer against a ground-truth layer (``seglab.evaluate``) and colour the errors.

    The metrics table lists what :func:`seglab.evaluate` returns for the pair (binary, region or
    instance scores, by seglab's one scoring rule); the confusion layer paints true positives,
    false positives and false negatives in :mod:`seglab.viz.confusion`'s colour-blind-safe colours
    over the image.
    """

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer, labels=True)
        self.truth = self._picker("ground truth", ("Labels", "Image"))
        self.result = self._picker("result", ("Labels", "Image"))
        self.image = self._picker("image", ("Image",), optional=True,
                                  tooltip="background of the confusion layer (optional)")
        self.button = _mg.PushButton(text="Compare")
        self.table = _mg.Table(value={"value": []})
        self.status = _mg.Label(value="")
        self.extend([self.truth, self.result, self.image, self.button, self.table, self.status])
        self.button.changed.connect(lambda *_: self._clicked())
        self.metrics: dict[str, Any] = {}
        self.reset_choices()

    def _clicked(self) -> None:
        try:
            self.compare()
        except SeglabError as exc:
            self.status.value = f"error: {exc}"

    def compare(self) -> dict[str, Any]:
        """Evaluate, fill the table, add/update the confusion layer; return the metrics."""
        import seglab

        truth_layer, result_layer_ = self._layer(self.truth.value), self._layer(self.result.value)
        if truth_layer is None or result_layer_ is None:
            raise ParameterError("pick a ground-truth layer and a result layer")
        truth, pred = np.asarray(truth_layer.data), np.asarray(result_layer_.data)
        metrics = seglab.evaluate(truth, pred)
        self.metrics = metrics
        rows = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}
        self.table.value = {"data": [[v] for v in rows.values()], "index": list(rows), "columns": ["value"]}
        image_layer = self._layer(self.image.value)
        background = np.asarray(image_layer.data) if image_layer is not None else np.zeros(truth.shape, np.uint8)
        if image_layer is not None and getattr(image_layer, "rgb", False):
            background = background[..., :3]
        overlay = _confusion(background, truth > 0, pred > 0)
        self._put_layer(overlay, {"name": f"confusion {result_layer_.name}", "rgb": True,
                                  "metadata": {"seglab": {"metrics": metrics, "truth": truth_layer.name,
                                                          "result": result_layer_.name}}}, "image")
        self.status.value = ", ".join(f"{k} {v:.3f}" for k, v in rows.items()
                                      if k in ("f1", "iou", "ari", "ap50", "pq") and isinstance(v, float))
        return metrics


def _confusion(image, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    from seglab.viz import confusion_overlay

    if truth.ndim == 3 and not (np.ndim(image) == 3 and np.shape(image)[-1] == 3 and truth.shape[-1] != 3):
        # a stack: colour plane by plane
        return np.stack([confusion_overlay(np.asarray(image)[i], truth[i], pred[i]) for i in range(truth.shape[0])])
    return confusion_overlay(image, truth, pred)


class TrainWidget(_ViewerWidget):
    """Train a learned model (the pixel classifier) from an image layer and a labels layer.

    The model is saved to a folder (safetensors weights + JSON config, seglab's model format);
    the segment widget's ``model`` field then uses it like any other method parameter.
    """

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer, labels=True)
        from . import _learn

        self.image = self._picker("image", ("Image",))
        self.labels = self._picker("labels", ("Labels",), tooltip="painted classes; 0 = not annotated")
        self.truth = _mg.CheckBox(label="labels are a full ground truth", value=False,
                                  tooltip="on: 0 = background, nonzero = objects, every pixel used; "
                                          "off: scribbles, 0 = not annotated, 1..K = classes")
        self.out = _mg.FileEdit(mode="d", label="model folder")
        self.button = _mg.PushButton(text="Train")
        self.status = _mg.Label(value="" if _learn.available() else _learn.UNAVAILABLE)
        self.extend([self.image, self.labels, self.truth, self.out, self.button, self.status])
        self.button.changed.connect(lambda *_: self._clicked())
        self.worker = None
        self.folder: Path | None = None
        self.reset_choices()

    def _clicked(self) -> None:
        try:
            self.train()
        except SeglabError as exc:
            self.status.value = f"error: {exc}"

    def train(self):
        """Train in a worker thread; return the worker (its result is the model folder)."""
        from napari.qt.threading import create_worker

        from . import _learn

        image_layer, labels_layer = self._layer(self.image.value), self._layer(self.labels.value)
        if image_layer is None or labels_layer is None:
            raise ParameterError("pick an image layer and a labels layer to train on")
        out = self.out.value
        if out is None or str(out) in ("", "."):
            raise ParameterError("choose the model folder to save the trained model in")
        image, labels = np.asarray(image_layer.data), np.asarray(labels_layer.data)
        worker = create_worker(_learn.train, image, labels, Path(out), truth=bool(self.truth.value),
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._trained)
        worker.errored.connect(lambda exc: setattr(self.status, "value", f"error: {exc}"))
        worker.finished.connect(lambda: setattr(self, "worker", None))
        self.worker = worker
        self.status.value = "training ..."
        worker.start()
        return worker

    def _trained(self, folder) -> None:
        self.folder = Path(folder)
        self.status.value = f"saved {folder}"
