"""The method registry: declared data over plain functions, imported lazily.

Every method family keeps its declarations in ``seglab/<family>/_spec.py`` as a
module-level list ``SPECS`` of :class:`MethodSpec`. Those modules import only
this file, so reading the whole catalogue (``seglab methods``) imports no
numerical library beyond NumPy. The function behind a spec is imported the
first time it is called (``target = "package.module:function"``).

Kinds of entry:

* ``"method"`` — image in, segmentation out (``output`` says which kind);
* ``"pre"`` — image in, image out (before a method);
* ``"post"`` — segmentation in, segmentation out (after a method).

A target function is called as ``f(image, **params, **inputs)``. It returns an
ndarray, or a tuple ``(ndarray, info)`` where ``info`` is a dict of values it
chose (thresholds, k, ...); ndarray values in ``info`` become the result's
``extras`` (a Sobel orientation, a contour's points).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    ParameterError,
    UnknownMethodError,
    UnknownParameterError,
    close_matches_hint,
)

__all__ = [
    "Param",
    "MethodSpec",
    "OUTPUT_KINDS",
    "PARAM_TYPES",
    "get_method",
    "get_step",
    "list_methods",
    "list_steps",
    "all_specs",
]

OUTPUT_KINDS = ("mask", "labels", "edges", "proba", "contour", "image")
PARAM_TYPES = ("int", "float", "bool", "str", "ints", "floats")
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class Param:
    """A declared parameter: its type, default and the values it accepts.

    Attributes
    ----------
    name : str
        Keyword name, as in the library a user knows (scikit-image first).
    type : {'int', 'float', 'bool', 'str', 'ints', 'floats'}
        Value type. ``'ints'``/``'floats'`` are tuples of numbers.
    default : object
        Default value (``None`` allowed when `nullable`).
    min, max : float, optional
        Inclusive bounds for numbers (element-wise for tuples).
    choices : tuple, optional
        Allowed values for ``'str'`` (and enumerated numbers).
    special : tuple of str
        Extra string values accepted besides the type (``('auto',)``).
    nullable : bool
        Whether ``None`` is accepted.
    odd : bool
        Integers must be odd (window sizes).
    log : bool
        The tuner samples this parameter on a log scale.
    tune : tuple, optional
        ``(low, high)`` search range for the tuner when it should be narrower
        than ``(min, max)``; ``()`` means "do not tune".
    help : str
        One line for ``--help``, the web form and the catalogue.
    """

    name: str
    type: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    special: tuple[str, ...] = ()
    nullable: bool = False
    odd: bool = False
    log: bool = False
    tune: tuple | None = None
    length: int | None = None

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise ValueError(f"Param {self.name!r}: type {self.type!r} not in {PARAM_TYPES}")

    # -- coercion ---------------------------------------------------------------------------------
    def coerce(self, value: Any, *, owner: str = "") -> Any:
        """Return `value` converted to this parameter's type, or raise.

        Strings (from the CLI or a YAML file) are parsed; values are never
        clamped: a value out of range raises :class:`ParameterError`.
        """
        where = f" of {owner!r}" if owner else ""
        label = f"parameter `{self.name}`{where}"
        if value is None or (isinstance(value, str) and value.strip().lower() in {"none", "null"}):
            if self.nullable or self.default is None:
                return None
            raise ParameterError(f"{label} cannot be None; expected {self.describe()}")
        if isinstance(value, str) and value.strip() in self.special:
            return value.strip()
        try:
            converted = self._convert(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{label} got {value!r}; expected {self.describe()}") from None
        self._check(converted, label, shown=value)
        return converted

    def _convert(self, value: Any) -> Any:
        t = self.type
        if t == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if t == "int":
            if isinstance(value, bool):
                raise TypeError(value)
            if isinstance(value, str):
                value = float(value) if any(c in value for c in ".eE") else int(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                value = int(value)
            return int(value.__index__()) if hasattr(value, "__index__") else int(value)
        if t == "float":
            if isinstance(value, bool):
                raise TypeError(value)
            result = float(value)
            if not math.isfinite(result):
                raise ValueError(value)
            return result
        if t == "str":
            if not isinstance(value, str):
                raise TypeError(value)
            return value.strip()
        # tuples
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace("x", ",").split(",") if p.strip()]
        else:
            parts = list(value)
        item = Param(self.name, "int" if t == "ints" else "float", 0)
        return tuple(item._convert(p) for p in parts)

    def _check(self, value: Any, label: str, shown: Any = None) -> None:
        shown = value if shown is None else shown
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"{label} got {shown!r}; expected one of {', '.join(map(repr, self.choices))}"
                + close_matches_hint(str(value), map(str, self.choices))
            )
        items = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and self.length is not None and len(value) != self.length:
            raise ParameterError(f"{label} got {len(value)} values; expected {self.length}")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            if self.min is not None and item < self.min:
                raise ParameterError(f"{label} got {shown!r}; expected {self.describe()}")
            if self.max is not None and item > self.max:
                raise ParameterError(f"{label} got {shown!r}; expected {self.describe()}")
            if self.odd and int(item) % 2 != 1:
                raise ParameterError(f"{label} must be odd; got {shown!r}")

    def describe(self) -> str:
        """Human description of the accepted values, used in messages."""
        kinds = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
                 "ints": "integers separated by commas", "floats": "numbers separated by commas"}
        text = kinds[self.type]
        if self.choices is not None:
            text = "one of " + ", ".join(map(repr, self.choices))
        if self.min is not None and self.max is not None:
            text += f" in [{self.min}, {self.max}]"
        elif self.min is not None:
            text += f" >= {self.min}"
        elif self.max is not None:
            text += f" <= {self.max}"
        if self.odd:
            text += ", odd"
        if self.special:
            text += " or " + " or ".join(repr(s) for s in self.special)
        if self.nullable:
            text += " or None"
        return text

    def to_dict(self) -> dict:
        """JSON-ready description (read by ``seglab methods --json`` and the web form)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": _jsonable(self.default)}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.special:
            out["special"] = list(self.special)
        if self.nullable:
            out["nullable"] = True
        if self.odd:
            out["odd"] = True
        if self.log:
            out["log"] = True
        if self.tune is not None:
            out["tune"] = list(self.tune)
        out["help"] = self.help
        return out


def _no_halo(params: Mapping[str, Any]) -> int:
    return 0


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry: everything the CLI, web UI, tuner and tiler need to know.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"otsu"``.
    family : str
        Method family (``threshold``, ``edges``, ...; ``preprocess``/``postprocess`` for steps).
    target : str
        ``"package.module:function"``, imported on first call.
    output : str
        Output kind, one of :data:`OUTPUT_KINDS`.
    summary : str
        One-line description.
    params : tuple of Param
        Declared parameters.
    kind : {'method', 'pre', 'post'}
        Method, pre-step or post-step.
    dims : tuple of int
        Supported spatial dimensionalities (2 and/or 3).
    channels : {'gray', 'color', 'any'}
        ``'gray'``: single-channel input only; ``'color'``: RGB (gray is
        stacked to RGB); ``'any'``: both.
    inputs : tuple of str
        User inputs the method needs (``seeds``, ``contour``, ``rect``,
        ``model``); post-steps may ask for ``image``.
    optional_inputs : tuple of str
        User inputs the method accepts but does not require (``markers``).
    accepts : tuple of str
        For post-steps, the output kinds they take.
    halo : callable
        ``halo(params) -> int``: pixels of context a tile needs on each side.
    tiling : {'local', 'global', 'none'}
        ``'local'``: exact with the halo; ``'global'``: exact given a global
        statistic (``stat_target`` computes it from a histogram);
        ``'none'``: cannot be tiled exactly.
    stat_target : str, optional
        ``"module:function"`` for the global statistic (see ``tiling``).
    references : tuple of str
        Papers (DOI) or library functions the method implements.
    """

    name: str
    family: str
    target: str
    output: str
    summary: str
    params: tuple[Param, ...] = ()
    kind: str = "method"
    dims: tuple[int, ...] = (2,)
    channels: str = "gray"
    inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    halo: Callable[[Mapping[str, Any]], int] = field(default=_no_halo, compare=False)
    tiling: str = "local"
    stat_target: str | None = None
    references: tuple[str, ...] = ()

    def __post_init__(self):
        if self.output not in OUTPUT_KINDS:
            raise ValueError(f"{self.name}: output {self.output!r} not in {OUTPUT_KINDS}")
        if self.kind not in ("method", "pre", "post"):
            raise ValueError(f"{self.name}: kind {self.kind!r}")
        if self.channels not in ("gray", "color", "any"):
            raise ValueError(f"{self.name}: channels {self.channels!r}")
        if self.tiling not in ("local", "global", "none"):
            raise ValueError(f"{self.name}: tiling {self.tiling!r}")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise UnknownParameterError(
            f"{self.kind} {self.name!r} has no parameter `{name}`; its parameters are "
            f"{', '.join(self.param_names) or '(none)'}" + close_matches_hint(name, self.param_names)
        )

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve_params(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return all parameters: defaults overlaid with `given`, each coerced and checked."""
        resolved = self.defaults()
        for key, value in (given or {}).items():
            resolved[key] = self.param(key).coerce(value, owner=self.name)
        return resolved

    def load(self) -> Callable:
        """Import and return the function behind this entry."""
        module_name, _, attr = self.target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def halo_for(self, params: Mapping[str, Any]) -> int:
        return int(self.halo(self.resolve_params(params)))

    def to_dict(self) -> dict:
        """JSON-ready description of the entry."""
        return {
            "name": self.name,
            "family": self.family,
            "kind": self.kind,
            "output": self.output,
            "summary": self.summary,
            "target": self.target,
            "dims": list(self.dims),
            "channels": self.channels,
            "inputs": list(self.inputs),
            "optional_inputs": list(self.optional_inputs),
            "accepts": list(self.accepts),
            "tiling": self.tiling,
            "halo_at_defaults": int(self.halo(self.defaults())),
            "params": [p.to_dict() for p in self.params],
            "references": list(self.references),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


# -- the catalogue -------------------------------------------------------------------------------
_CATALOGUE: dict[tuple[str, str], MethodSpec] | None = None


def _discover() -> dict[tuple[str, str], MethodSpec]:
    """Import every ``seglab.<family>._spec`` module and index its SPECS."""
    import seglab

    catalogue: dict[tuple[str, str], MethodSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(seglab.__path__), key=lambda m: m.name):
        if not module_info.ispkg:
            continue
        spec_module = f"seglab.{module_info.name}._spec"
        if importlib.util.find_spec(spec_module) is None:
            continue
        module = importlib.import_module(spec_module)
        for spec in module.SPECS:
            bucket = "method" if spec.kind == "method" else spec.kind
            key = (bucket, spec.name)
            if key in catalogue:
                raise RuntimeError(f"registry: {spec.kind} {spec.name!r} declared twice")
            catalogue[key] = spec
    return catalogue


def _catalogue() -> dict[tuple[str, str], MethodSpec]:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = _discover()
    return _CATALOGUE


def all_specs() -> list[MethodSpec]:
    """Every entry: methods first, then pre-steps, then post-steps, by name."""
    order = {"method": 0, "pre": 1, "post": 2}
    return sorted(_catalogue().values(), key=lambda s: (order[s.kind], s.family, s.name))


def list_methods(family: str | None = None) -> list[str]:
    """Names of registered methods, optionally of one family."""
    return sorted(s.name for (k, _), s in _catalogue().items() if k == "method" and family in (None, s.family))


def list_steps(kind: str) -> list[str]:
    """Names of registered pre-steps (``kind='pre'``) or post-steps (``'post'``)."""
    return sorted(name for (k, name) in _catalogue() if k == kind)


def get_method(name: str) -> MethodSpec:
    """Return the spec of method `name`, or raise :class:`UnknownMethodError`."""
    return _lookup("method", name)


def get_step(name: str, kind: str) -> MethodSpec:
    """Return the spec of pre-step (``kind='pre'``) or post-step (``'post'``) `name`."""
    return _lookup(kind, name)


def _lookup(kind: str, name: str) -> MethodSpec:
    if not isinstance(name, str):
        raise UnknownMethodError(f"a {_KIND_WORDS[kind]} name must be a string; got {type(name).__name__}")
    catalogue = _catalogue()
    spec = catalogue.get((kind, name))
    if spec is None:
        available = [n for (k, n) in catalogue if k == kind]
        raise UnknownMethodError(
            f"unknown {_KIND_WORDS[kind]} {name!r}." + close_matches_hint(name, available)
            + f" Available: {', '.join(sorted(available))}"
        )
    return spec


_KIND_WORDS = {"method": "method", "pre": "pre-step", "post": "post-step"}
