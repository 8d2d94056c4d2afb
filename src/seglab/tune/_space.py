"""The search space of a pipeline, read from the registry's parameter schema.

A :class:`~seglab._core.registry.Param` is searched when it has a range:

* ``tune=(low, high)`` — that range (narrower than ``min``/``max``);
* ``tune=()`` — never searched (backend switches, file paths);
* otherwise ``(min, max)`` when both are declared.

``int`` and ``float`` use ``trial.suggest_int`` / ``suggest_float`` (``log=True`` when the
Param says so; odd integers step by 2 from an odd low end); ``bool`` and ``choices``
are categorical; ``ints``/``floats`` tuples and unbounded numbers are not searched.
``special`` strings (``'auto'``) and ``None`` are not searched either: the search
covers the numeric range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seglab._core.pipeline import Pipeline, Step
from seglab._core.registry import MethodSpec, Param

__all__ = ["Dimension", "search_space", "space_of_pipeline", "pipeline_from_params"]


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: ``slot`` ('method', 'pre0', 'post1'), the step name and its Param."""

    slot: str
    step: str
    param: Param
    low: Any = None
    high: Any = None
    choices: tuple | None = None

    @property
    def key(self) -> str:
        """Optuna parameter name: ``'size'`` for the method, ``'pre0.median.size'`` for steps."""
        return self.param.name if self.slot == "method" else f"{self.slot}.{self.step}.{self.param.name}"

    def suggest(self, trial: Any) -> Any:
        p = self.param
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if p.type == "int":
            low, high = int(self.low), int(self.high)
            if p.odd:
                low = low if low % 2 == 1 else low + 1
                high = high if (high - low) % 2 == 0 else high - 1
                return trial.suggest_int(self.key, low, high, step=2)
            return trial.suggest_int(self.key, low, high, log=bool(p.log and low > 0))
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=bool(p.log and self.low > 0))


def search_space(spec: MethodSpec, slot: str = "method") -> list[Dimension]:
    """The dimensions of one method or step (see the module docstring for the rule)."""
    dims: list[Dimension] = []
    for p in spec.params:
        if p.tune == ():
            continue
        if p.type == "bool":
            dims.append(Dimension(slot, spec.name, p, choices=(False, True)))
            continue
        if p.choices is not None:
            if p.tune:
                choices = tuple(c for c in p.choices if (
                    not isinstance(c, (int, float)) or p.tune[0] <= c <= p.tune[1]))
            else:
                choices = tuple(p.choices)
            if len(choices) > 1:
                dims.append(Dimension(slot, spec.name, p, choices=choices))
            continue
        if p.type not in ("int", "float"):
            continue
        low, high = (p.tune[0], p.tune[1]) if p.tune else (p.min, p.max)
        if low is None or high is None or not low < high:
            continue
        dims.append(Dimension(slot, spec.name, p, low=low, high=high))
    return dims


def space_of_pipeline(pipeline: Pipeline, *, tune_steps: bool = True) -> list[Dimension]:
    """Dimensions of the method, plus (with `tune_steps`) of every pre- and post-step."""
    dims = search_space(pipeline.method.spec)
    if tune_steps:
        for index, step in enumerate(pipeline.pre):
            dims += search_space(step.spec, f"pre{index}")
        for index, step in enumerate(pipeline.post):
            dims += search_space(step.spec, f"post{index}")
    return dims


def pipeline_from_params(base: Pipeline, params: dict[str, Any]) -> Pipeline:
    """`base` with the searched values (optuna keys, see :attr:`Dimension.key`) filled in, checked."""
    method = dict(base.method.params)
    pre = [dict(s.params) for s in base.pre]
    post = [dict(s.params) for s in base.post]
    for key, value in params.items():
        if "." not in key:
            method[key] = value
            continue
        slot, _step, name = key.split(".", 2)
        target = pre if slot.startswith("pre") else post
        target[int(slot[4 if slot.startswith("post") else 3:])][name] = value

    def rebuilt(step: Step, values: dict[str, Any]) -> Step:
        return Step(step.name, step.kind, step.spec.resolve_params(values))

    return Pipeline(rebuilt(base.method, method), [rebuilt(s, v) for s, v in zip(base.pre, pre)],
                    [rebuilt(s, v) for s, v in zip(base.post, post)])
