"""The one place where a step's function is called: in memory, on a tile, in a trial.

A :class:`~seglab.Pipeline` is bound into :class:`BoundStep` records (the
function behind each registry entry imported once, its resolved parameters,
the output kind after it and the facts the tiler needs). :func:`run_step`
calls one of them and returns ``(array, info)``. :meth:`Pipeline.run` runs the
bound steps over a whole image; the tiler runs the same bound steps over a
block with its halo (``seglab.tiling``), and the tuner and compare go through
:meth:`Pipeline.run`. A bound step holds no spec, only plain values and a
module-level function, so it pickles into dask workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConversionWarning, InvalidImageError
from .validation import gray_only_message

if TYPE_CHECKING:
    from .pipeline import Pipeline, Step
    from .registry import MethodSpec

__all__ = ["BoundStep", "bind_step", "bind_pipeline", "check_step_input", "run_step", "split_output"]

_KIND_WORDS = {"method": "method", "pre": "pre-step", "post": "post-step"}


@dataclass(frozen=True)
class BoundStep:
    """One registry entry ready to run: its function, parameters and declared facts.

    Attributes
    ----------
    name : str
        Registry name.
    kind : {'pre', 'method', 'post'}
        Role of the step in its pipeline.
    function : callable
        The function behind the entry (imported when the step was bound).
    params : dict
        Resolved parameters.
    halo : int
        Pixels of context a tile needs on each side for this step (from the spec).
    output : str
        Output kind after this step (``'image'`` after pre-steps).
    needs_image : bool
        A post-step that also takes the image the method saw (``image=``).
    dims : tuple of int
        Spatial dimensionalities the step supports.
    channels : {'gray', 'color', 'any'}
        Channel rule of the step.
    target : str
        ``"module:function"`` of the entry.
    labels_by : {None, 'components', 'objects'}
        How a labels output is made (see :class:`~seglab.MethodSpec`).
    tiling : {'local', 'global', 'none'}
        How the step tiles (see :class:`~seglab.MethodSpec`).
    """

    name: str
    kind: str
    function: Callable
    params: dict
    halo: int
    output: str
    needs_image: bool = False
    dims: tuple = (2,)
    channels: str = "any"
    target: str = ""
    labels_by: str | None = None
    tiling: str = "local"


def bind_step(step: Step, kind_before: str = "image", *, halo: bool = True,
              spec: MethodSpec | None = None) -> BoundStep:
    """Bind one :class:`~seglab.Step` (imports its function); `kind_before` is the output kind it receives.

    ``halo=False`` skips the halo (0): an in-memory run needs none, and it costs a parameter resolution.
    """
    spec = spec if spec is not None else step.spec
    return BoundStep(
        name=spec.name, kind=step.kind, function=spec.load(), params=dict(step.params),
        halo=spec.halo_for(step.params) if halo else 0, output=spec.output_after(kind_before),
        needs_image="image" in spec.inputs and step.kind == "post", dims=tuple(spec.dims), channels=spec.channels,
        target=spec.target, labels_by=spec.labels_by, tiling=spec.tiling,
    )


def bind_pipeline(pipeline: Pipeline, *, expand: bool = False, halo: bool = True,
                  specs: list[MethodSpec] | None = None) -> list[BoundStep]:
    """Bind every step of `pipeline` in order: pre-steps, the method, post-steps.

    With ``expand=True`` a composite method (its spec's ``expands_to``) is bound as its
    parts, each with the parameters it declares; the tiler runs composites that way.
    """
    from .pipeline import Step
    from .registry import get_method, get_step

    parts: list[Step] = [pipeline.method]
    spec = pipeline.method.spec
    if expand and spec.expands_to:
        parts = []
        for entry in spec.expands_to:
            role, _, name = entry.partition(":")
            part = get_method(name) if role == "method" else get_step(name, role)
            given = {k: v for k, v in pipeline.method.params.items() if k in part.param_names}
            parts.append(Step(part.name, role, part.resolve_params(given)))
    steps = [*pipeline.pre, *parts, *pipeline.post]
    looked_up = specs if specs is not None and len(specs) == len(steps) else [None] * len(steps)
    bound: list[BoundStep] = []
    kind = "image"
    for step, known in zip(steps, looked_up):
        bound.append(bind_step(step, kind, halo=halo, spec=known))
        kind = bound[-1].output
    return bound


def check_step_input(step: BoundStep, array: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """Check an image against a step's declared channels and dims; stack gray to RGB for colour steps."""
    is_color = array.ndim > spatial_ndim
    word = _KIND_WORDS[step.kind]
    if is_color and step.channels == "gray":
        raise InvalidImageError(gray_only_message(f"{word} {step.name!r}", "the image", array.shape))
    if not is_color and step.channels == "color":
        warnings.warn(
            f"{word} {step.name!r} works on colour images; the single-channel image was "
            "stacked into three identical channels",
            ConversionWarning,
            stacklevel=5,
        )
        array = np.stack([array] * 3, axis=-1)
    if spatial_ndim not in step.dims:
        raise InvalidImageError(
            f"{word} {step.name!r} supports {' and '.join(f'{d}-D' for d in step.dims)} images; "
            f"got a {spatial_ndim}-D image of shape {array.shape}"
            + (" (run it slice by slice, or pick a 3-D-capable method)" if spatial_ndim == 3 else "")
        )
    return array


def run_step(step: BoundStep, data: np.ndarray, *, image: np.ndarray | None = None,
             inputs: Mapping[str, Any] | None = None, spec: MethodSpec | None = None) -> tuple[Any, dict[str, Any]]:
    """Call one bound step on `data`; return ``(output, info)``.

    Parameters
    ----------
    step : BoundStep
        The step.
    data : ndarray
        Its input: the image (pre-steps, method) or the output before it (post-steps).
    image : ndarray, optional
        The image the method saw, for post-steps that declare they need it.
    inputs : mapping, optional
        User inputs of the method (seeds, contour, rect, markers, model); None values are dropped.
    spec : MethodSpec, optional
        When given, the step's cost is checked against the input before it runs
        (``seglab._core.limits``); the in-memory route passes it, tiles are already bounded.
    """
    kwargs = dict(step.params)
    if inputs:
        kwargs.update({k: v for k, v in inputs.items() if v is not None})
    if step.needs_image:
        kwargs["image"] = image
    function = step.function
    if spec is not None:
        from .limits import check_step_cost

        check_step_cost(spec, data, step.params)
        # the registry resolved and checked these parameters already: skip the direct-call check
        function = getattr(function, "__wrapped__", function)
    return split_output(function(data, **kwargs))


def split_output(out: Any) -> tuple[Any, dict[str, Any]]:
    """``(array, info)`` from a function's return value (an array, or an ``(array, info dict)`` pair)."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        return out[0], dict(out[1])
    return out, {}
