"""Pipelines: pre-steps, one method, post-steps, run over one image.

``seglab.segment(image, "otsu", pre=["invert", ("median", {"size": 3})])`` builds
a :class:`Pipeline` and runs it. Pipelines round-trip through plain dicts (and
so YAML/JSON files): ``{"pre": [...], "method": {"name": ..., "params": {...}},
"post": [...]}``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import (
    MissingInputError,
    ParameterError,
    UnknownParameterError,
    close_matches_hint,
    short_repr,
)
from .executor import bind_pipeline, bind_step, check_step_input, run_step
from .inputs import INPUT_KINDS
from .limits import check_step_item
from .registry import MethodSpec, get_method, get_step
from .validation import check_image

__all__ = ["Step", "Pipeline", "SegmentationResult", "segment", "parse_step", "apply_step", "as_pipeline",
           "split_methods", "pipeline_label", "parse_key_values"]

KNOWN_INPUTS = tuple(k for k in INPUT_KINDS if k != "image")


@dataclass(frozen=True)
class Step:
    """One registry entry with its resolved parameters."""

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> MethodSpec:
        return get_method(self.name) if self.kind == "method" else get_step(self.name, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": {k: _plain(v) for k, v in self.params.items()}}


def _plain(value):
    from .provenance import jsonable

    return jsonable(value)


def parse_step(item: Any, kind: str) -> Step:
    """Build a checked :class:`Step` from a name, ``"name:k=v,k=v"``, ``(name, params)``, a dict or a Step."""
    check_step_item(item, kind)
    if isinstance(item, Step):
        name, given = item.name, item.params
    elif isinstance(item, str):
        name, _, rest = item.partition(":")
        given = parse_key_values(rest, where=f"{kind}-step {name!r}") if rest else {}
    elif isinstance(item, Mapping):
        unknown = set(item) - {"name", "params"}
        if "name" not in item or unknown:
            raise ParameterError(
                f"a {kind}-step must look like {{name: ..., params: {{...}}}}; got keys {sorted(item)}"
            )
        name, given = item["name"], dict(item.get("params") or {})
    elif isinstance(item, Sequence) and len(item) == 2:
        name, given = item[0], dict(item[1] or {})
    else:
        raise ParameterError(f"cannot read {item!r} as a {kind}-step; give a name, 'name:key=value' or (name, params)")
    spec = get_method(name) if kind == "method" else get_step(str(name).strip(), kind)
    return Step(spec.name, kind, spec.resolve_params(given))


def parse_key_values(chunks, *, where: str) -> dict[str, str]:
    """``KEY=VALUE`` texts -> a dict of strings (the registry coerces them): the one key=value parser.

    `chunks` is one ``"k=v,k=v"`` string or a sequence of ``"k=v"`` strings (repeated ``--param``).
    """
    if isinstance(chunks, str):
        chunks = chunks.split(",")
    params: dict[str, str] = {}
    for chunk in chunks:
        if not chunk.strip():
            continue
        key, sep, value = chunk.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{where}: expected KEY=VALUE, got {chunk!r}")
        params[key.strip()] = value.strip()
    return params


@dataclass
class SegmentationResult:
    """What :func:`segment` returns.

    Attributes
    ----------
    data : ndarray
        The output: ``bool`` mask, integer labels (0 = background), float
        edges or probabilities, or a processed image.
    output : str
        The output kind (``mask``, ``labels``, ``edges``, ``proba``, ``contour``).
    info : dict
        Values the method chose (``threshold``, ``n_clusters``, ...), the
        pipeline, and ``seconds`` per step.
    extras : dict
        Additional arrays (orientation, contour points, elbow curve).
    image : ndarray
        The input after pre-steps (what the method saw).
    """

    data: np.ndarray
    output: str
    info: dict[str, Any]
    extras: dict[str, np.ndarray]
    pipeline: Pipeline
    image: np.ndarray | None = None

    def _get(self, kinds: tuple[str, ...], attr: str) -> np.ndarray:
        if self.output not in kinds:
            raise AttributeError(
                f"this result is a {self.output!r} output, so it has no `.{attr}`; use `.data` or `.{self.output}`"
            )
        return self.data

    @property
    def mask(self) -> np.ndarray:
        """The boolean mask (mask and contour outputs)."""
        return self._get(("mask", "contour"), "mask")

    @property
    def labels(self) -> np.ndarray:
        """The label image (labels outputs)."""
        return self._get(("labels",), "labels")

    @property
    def edges(self) -> np.ndarray:
        return self._get(("edges",), "edges")

    @property
    def proba(self) -> np.ndarray:
        return self._get(("proba",), "proba")

    @property
    def contour(self) -> np.ndarray:
        """The contour's (row, col) points (contour outputs)."""
        if "contour" not in self.extras:
            raise AttributeError(f"this result is a {self.output!r} output and has no contour")
        return self.extras["contour"]


@dataclass
class Pipeline:
    """Pre-steps, a method and post-steps, each with resolved parameters."""

    method: Step
    pre: list[Step] = field(default_factory=list)
    post: list[Step] = field(default_factory=list)

    @classmethod
    def build(cls, method: str | Step, params: Mapping[str, Any] | None = None, *, pre: Sequence[Any] = (),
              post: Sequence[Any] = ()) -> Pipeline:
        if isinstance(method, Step):
            method_step = parse_step(method, "method")
        else:
            spec = get_method(method)
            method_step = Step(spec.name, "method", spec.resolve_params(params or {}))
        pipeline = cls(method_step, [parse_step(p, "pre") for p in _as_list(pre)],
                       [parse_step(p, "post") for p in _as_list(post)])
        pipeline.check_chain()
        return pipeline

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pipeline:
        """Build from ``{"pre": [...], "method": {...} | "name", "post": [...]}`` (unknown keys refused)."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"a pipeline must be a mapping with keys pre, method, post; got {type(data).__name__}")
        allowed = ("pre", "method", "post", "seglab")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            key = str(unknown[0])
            raise ParameterError(
                f"unknown pipeline key {key!r}; allowed keys: {', '.join(allowed)}." + close_matches_hint(key, allowed)
            )
        if "method" not in data:
            raise ParameterError("the pipeline has no `method`")
        pipeline = cls(parse_step(data["method"], "method"),
                       [parse_step(p, "pre") for p in _as_list(data.get("pre"))],
                       [parse_step(p, "post") for p in _as_list(data.get("post"))])
        pipeline.check_chain()
        return pipeline

    def to_dict(self) -> dict[str, Any]:
        return {
            "pre": [s.to_dict() for s in self.pre],
            "method": self.method.to_dict(),
            "post": [s.to_dict() for s in self.post],
        }

    @property
    def output(self) -> str:
        """Output kind of the whole pipeline (after post-steps)."""
        kind = self.method.spec.output
        for step in self.post:
            kind = step.spec.output_after(kind)
        return kind

    def check_chain(self) -> None:
        """Refuse post-steps that cannot take the output before them."""
        kind = self.method.spec.output
        for step in self.post:
            spec = step.spec
            if spec.accepts and kind not in spec.accepts:
                raise ParameterError(
                    f"post-step {spec.name!r} takes {' or '.join(spec.accepts)} outputs, but it follows a "
                    f"{kind!r} output (method {self.method.name!r})"
                )
            kind = spec.output_after(kind)

    def run_pre(self, image: ArrayLike, *, channel_axis: int | str | None = "auto") -> np.ndarray:
        """Return `image` after this pipeline's pre-steps only (what the method would see).

        Callers that run many methods or parameter sets on one pre-processed image (the tuner,
        the web preview) run the pre-steps once with this and then run
        ``Pipeline(method, [], post).run(array)`` on the result, which gives the same output as
        :meth:`run` on the original image.
        """
        array, image_info = check_image(image, channel_axis=channel_axis)
        for step in self.pre:
            bound = bind_step(step)
            array = check_step_input(bound, array, image_info.spatial_ndim)
            array, _ = run_step(bound, array, spec=step.spec)
        return array

    def run(self, image: ArrayLike, *, channel_axis: int | str | None = "auto", **inputs: Any) -> SegmentationResult:
        """Run the pipeline on one image; `inputs` are seeds/contour/rect/markers/model."""
        steps = [*self.pre, self.method, *self.post]
        specs = [step.spec for step in steps]  # one registry lookup per step for the whole run
        method_spec = specs[len(self.pre)]
        _check_inputs(method_spec, inputs)
        array, image_info = check_image(image, channel_axis=channel_axis)
        spatial_ndim = image_info.spatial_ndim
        timings: dict[str, float] = {}
        info: dict[str, Any] = {}
        extras: dict[str, np.ndarray] = {}
        data = array
        for step, spec, bound in zip(steps, specs, bind_pipeline(self, halo=False, specs=specs)):
            if bound.kind != "post":
                array = check_step_input(bound, array, spatial_ndim)
                data = array
            start = time.perf_counter()
            data, step_info = run_step(bound, data, image=array, spec=spec,
                                       inputs=inputs if bound.kind == "method" else None)
            if bound.kind == "pre":
                array = data
            position = "method" if bound.kind == "method" else f"{bound.kind}[{self._index(step)}]"
            timings[f"{position}:{step.name}"] = time.perf_counter() - start
            if bound.kind != "pre":
                _move_arrays(step_info, extras)
            if bound.kind == "method":
                info.update(step_info)
            elif step_info:
                info.setdefault(bound.kind, {})[step.name] = step_info
        info["seconds"] = timings
        info["pipeline"] = self.to_dict()
        return SegmentationResult(data=data, output=bound.output, info=info, extras=extras, pipeline=self,
                                  image=array)

    def _index(self, step: Step) -> int:
        group = self.pre if step.kind == "pre" else self.post
        return next(i for i, s in enumerate(group) if s is step)


def _as_list(items) -> list:
    if items is None:
        return []
    if isinstance(items, (str, Step, Mapping)):
        return [items]
    try:
        return list(items)
    except TypeError:  # pre=5: "'int' object is not iterable" said nothing about the steps
        raise ParameterError(f"steps must be a list of names, 'name:key=value' texts or {{name, params}} mappings; "
                             f"got {short_repr(items)}") from None


def _check_inputs(spec: MethodSpec, inputs: Mapping[str, Any]) -> None:
    allowed = set(spec.inputs) | set(spec.optional_inputs)
    for key in inputs:
        if key not in allowed:
            hint = close_matches_hint(key, list(allowed) + list(spec.param_names))
            raise UnknownParameterError(
                f"method {spec.name!r} takes no `{key}`; its parameters are "
                f"{', '.join(spec.param_names) or '(none)'}"
                + (f" and its inputs {', '.join(sorted(allowed))}" if allowed else "")
                + "." + hint
            )
    for key in spec.inputs:
        if inputs.get(key) is None:
            raise MissingInputError(
                f"method {spec.name!r} needs `{key}` (user input); pass {key}=... in Python or "
                f"--{key} on the command line"
            )


def _move_arrays(info: dict[str, Any], extras: dict[str, np.ndarray]) -> None:
    for key in [k for k, v in info.items() if isinstance(v, np.ndarray)]:
        extras[key] = info.pop(key)


def split_methods(text: str) -> list[str]:
    """Split a comma-separated list of what to run, keeping each method's ``key=value`` parameters with it.

    ``"otsu,local:block_size=51,offset=10,li"`` -> ``["otsu", "local:block_size=51,offset=10", "li"]``:
    a chunk holding ``=`` (and no ``:``) is a parameter of the method before it; method names hold no ``=``.

    Examples
    --------
    >>> split_methods("otsu, local:block_size=51,offset=10, li")
    ['otsu', 'local:block_size=51,offset=10', 'li']
    """
    items: list[str] = []
    for chunk in (c.strip() for c in str(text).split(",")):
        if not chunk:
            continue
        if "=" in chunk and ":" not in chunk.split("=", 1)[0] and items and ":" in items[-1]:
            items[-1] += "," + chunk
        else:
            items.append(chunk)
    return items


def as_pipeline(item: Any, *, pre=(), post=()) -> tuple[str, Pipeline]:
    """Turn any description of what to run into ``(label, Pipeline)``: the one parser every front end uses.

    Parameters
    ----------
    item : Pipeline, mapping, Step, str or path
        A :class:`Pipeline`; a dict ``{pre, method, post}``; a :class:`Step`; a YAML/JSON pipeline file
        (its stem is the label); or a method as ``"name"`` or ``"name:key=value,key=value"``.
    pre, post : sequence
        Steps added around a method given by name (not to pipelines and files, which say their own).

    Returns
    -------
    label : str
        How reports name it: the file stem, else the method with the parameters that differ from defaults.
    pipeline : Pipeline
    """
    from pathlib import Path

    if isinstance(item, Pipeline):
        return pipeline_label(item), item
    if isinstance(item, Mapping):
        pipeline = Pipeline.from_dict(item)
        return pipeline_label(pipeline), pipeline
    if isinstance(item, Path) or (isinstance(item, str) and item.strip().lower().endswith((".yaml", ".yml", ".json"))):
        from seglab.io import read_pipeline

        return Path(item).stem, read_pipeline(item)
    if isinstance(item, Step):
        method = parse_step(item, "method")
    elif isinstance(item, str):
        method = parse_step(item.strip(), "method")
    else:
        raise ParameterError(f"cannot read {type(item).__name__} as something to run; give a method name, "
                             "'name:key=value', a pipeline dict or a pipeline file")
    pipeline = Pipeline.build(method, pre=pre, post=post)
    return pipeline_label(pipeline), pipeline


def pipeline_label(pipeline: Pipeline) -> str:
    """A short name for reports: ``invert>median(size=3)>otsu`` (parameters that differ from defaults)."""

    def text(step: Step) -> str:
        defaults = step.spec.defaults()
        changed = {k: v for k, v in step.params.items() if defaults.get(k) != v}
        if not changed:
            return step.name
        return f"{step.name}(" + ",".join(f"{k}={_short(v)}" for k, v in changed.items()) + ")"

    return ">".join(text(s) for s in [*pipeline.pre, pipeline.method, *pipeline.post])


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and len(value) > 24 and ("/" in value or "\\" in value):
        from pathlib import Path

        return Path(value).name  # a model folder: its name is enough in a label
    return str(value)


def segment(image: ArrayLike, method: str, /, *, pre: Sequence[Any] = (), post: Sequence[Any] = (),
            channel_axis: int | str | None = "auto", params: Mapping[str, Any] | None = None,
            **kwargs: Any) -> SegmentationResult:
    """Segment an image with a registered method, optional pre- and post-steps.

    Parameters
    ----------
    image : (M, N[, 3]) or (P, M, N[, 3]) array_like
        The image.
    method : str
        Registry name (``seglab.methods()`` lists them).
    pre, post : sequence
        Steps before and after the method: names, ``"name:key=value"``
        strings or ``(name, params)`` pairs.
    channel_axis : {'auto', None, -1}
        See :func:`seglab.check_image`.
    params : mapping, optional
        The method's parameters as a dict. Needed only for a parameter whose
        name is one of this function's own keywords (``pre``, ``post``,
        ``channel_axis``, ``params``); `image` and `method` are positional, so
        ``segment(image, "local", method="median")`` passes ``method`` to the
        ``local`` method.
    **kwargs
        The method's parameters, and its user inputs (``seeds``, ``contour``,
        ``rect``, ``markers``, ``model``) where it needs them.

    Returns
    -------
    SegmentationResult
        ``.mask`` / ``.labels`` / ``.edges`` per output kind, ``.info``.

    Raises
    ------
    UnknownMethodError, UnknownParameterError, ParameterError, MissingInputError
        Bad method name, parameter name or value, or missing user input.
    InvalidImageError, ImageTypeError
        The image cannot be segmented as given.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:6] = 200
    >>> result = seglab.segment(image, "otsu")
    >>> int(result.mask.sum())
    16
    """
    spec = get_method(method)
    given = {k: v for k, v in kwargs.items() if k not in KNOWN_INPUTS or k in spec.param_names}
    inputs = {k: v for k, v in kwargs.items() if k not in given}
    if params is not None:
        if not isinstance(params, Mapping):
            raise ParameterError(
                f"`params` must be a mapping of parameter names to values; got {type(params).__name__}")
        clash = sorted(set(params) & set(given))
        if clash:
            raise ParameterError(f"parameter `{clash[0]}` is given twice, as a keyword and in `params`; give it once")
        given.update(params)
    pipeline = Pipeline.build(spec.name, given, pre=pre, post=post)
    return pipeline.run(image, channel_axis=channel_axis, **inputs)


def apply_step(image: ArrayLike, name: str, kind: str = "pre", **params: Any) -> NDArray[Any]:
    """Apply one pre- or post-step to an array and return the array."""
    step = parse_step((name, params), kind)
    data, _ = run_step(bind_step(step), np.asarray(image), spec=step.spec)
    return data
