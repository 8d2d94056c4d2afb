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
``extras`` (a Sobel orientation, a contour's points). Built-in functions are
wrapped by :func:`validated`, so a direct call returns the array alone, as
scikit-image's do; the pair reaches the executor through ``__wrapped__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import pkgutil
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from .errors import (
    ParameterError,
    SeglabWarning,
    UnknownMethodError,
    UnknownParameterError,
    close_matches_hint,
)

__all__ = [
    "Param",
    "MethodSpec",
    "Registry",
    "PluginWarning",
    "ENTRY_POINT_GROUP",
    "current_registry",
    "use_registry",
    "register",
    "validated",
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
    extent : bool
        A length in pixels that is not part of the step's halo (an untiled
        step's window): a value longer than the image's largest side is
        refused before the step runs, with the largest value that runs.
    halo_only : bool
        A size in pixels (smallest object kept, largest hole or object a
        tile must hold) that widens the tiler's halo but not the work or the
        memory of an in-memory run: the checks that refuse a window wider
        than the image ignore it (``min_size=5000`` on a 128 x 128 mask is a
        valid request: remove everything smaller).
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
    extent: bool = False
    halo_only: bool = False

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
        if self.extent:
            out["extent"] = True
        if self.tune is not None:
            out["tune"] = list(self.tune)
        out["help"] = self.help
        return out


#: target -> the imported function (a pipeline run binds every step; importlib's lookup is the slow part)
_LOADED: dict[tuple[str, int], Callable] = {}


def _no_tile_check(params: Mapping[str, Any]) -> str | None:
    return None


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
        ``"module:function"`` for the global statistic (see ``tiling``):
        ``stat(name, counts, centers, **params) -> statistic`` from a histogram
        accumulated over all tiles, or None when the image is constant (the
        family's constant-image policy lives in that function).
    apply_target : str, optional
        ``"module:function"`` applying a global statistic to one tile:
        ``apply(image, statistic, **params) -> output``. Required with
        ``tiling='global'`` unless `expands_to` is given.
    labels_by : {None, 'components', 'objects'}
        How a labels output is made, which tells the tiler how to stitch it:
        ``'components'``: connected components of the input (face stitching is
        exact); ``'objects'``: every connected component of the input is
        labelled from its own pixels only (exact when a tile's halo holds the
        object; the tiler gives each object to the one tile that owns it).
        None: labels of another kind (stitched at faces, with a
        ``StitchWarning`` when an object reaches the halo).
    tile_check : callable
        ``tile_check(params) -> str | None``: why the step cannot be tiled exactly with these
        parameters (a whole-image statistic they leave to the image, a border rule a tile cannot
        see), or None. The tiler refuses the pipeline with that reason before any tile runs.
    model : str, optional
        The kind of trained model artefact the method loads (``"unet"``,
        ``"pixel_classifier"``; see ``seglab train``). The folder is passed as
        the method's ``model`` parameter, so the CLI (``--param model=DIR``),
        pipeline files, compare, tune and tile carry it like any parameter.
    histogram : callable, optional
        ``histogram(params) -> bool``: whether the step counts one histogram
        bin per integer level with these parameters (so a wide-integer image
        is checked against memory before it runs). None: exactly the
        global-statistic steps (``tiling='global'``) do.
    expands_to : tuple of str
        A composite method's parts, as ``"method:NAME"`` then ``"post:NAME"``
        entries: the method equals running them in order, each with the
        parameters it declares (``split_touching`` = ``otsu`` then the
        ``split_touching`` post-step). The tiler runs the parts.
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
    apply_target: str | None = None
    labels_by: str | None = None
    tile_check: Callable[[Mapping[str, Any]], str | None] = field(default=_no_tile_check, compare=False)
    model: str | None = None
    histogram: Callable[[Mapping[str, Any]], bool] | None = field(default=None, compare=False)
    expands_to: tuple[str, ...] = ()
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
        if self.labels_by not in (None, "components", "objects"):
            raise ValueError(f"{self.name}: labels_by {self.labels_by!r} not in (None, 'components', 'objects')")
        from .inputs import INPUT_KINDS

        unknown = [i for i in (*self.inputs, *self.optional_inputs) if i not in INPUT_KINDS]
        if unknown:
            raise ValueError(
                f"{self.name}: input {unknown[0]!r} is not a declared input kind ({', '.join(INPUT_KINDS)})")
        if self.model is not None and "model" not in self.param_names:
            raise ValueError(f"{self.name}: model={self.model!r} needs a Param named 'model' (the model folder)")
        for part in self.expands_to:
            if part.partition(":")[0] not in ("pre", "method", "post") or not part.partition(":")[2]:
                raise ValueError(f"{self.name}: expands_to entry {part!r}; expected 'method:NAME' or 'post:NAME'")
        if self.tiling == "global" and not self.expands_to and not (self.stat_target and self.apply_target):
            raise ValueError(f"{self.name}: tiling='global' needs stat_target and apply_target (or expands_to)")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise UnknownParameterError(
            f"{self.kind} {self.name!r} has no parameter `{name}`; its parameters are "
            f"{', '.join(self.param_names) or '(none)'}." + close_matches_hint(name, self.param_names)
        )

    def output_after(self, kind_before: str) -> str:
        """The output kind after this entry runs on a `kind_before` input (``'image'`` after a pre-step;
        a post-step declared ``output='image'`` keeps the kind it receives)."""
        if self.kind == "pre":
            return "image"
        if self.kind == "method":
            return self.output
        return kind_before if self.output == "image" else self.output

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve_params(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return all parameters: defaults overlaid with `given`, each coerced and checked."""
        resolved = self.defaults()
        for key, value in (given or {}).items():
            resolved[key] = self.param(key).coerce(value, owner=self.name)
        return resolved

    def load(self) -> Callable:
        """Import and return the function behind this entry (imported once per target and process)."""
        module_name, _, attr = self.target.partition(":")
        module = sys.modules.get(module_name)
        key = (self.target, id(module))  # a module replaced in sys.modules (tests) is looked up again
        function = _LOADED.get(key) if module is not None else None
        if function is None:
            function = getattr(module if module is not None else importlib.import_module(module_name), attr)
            _LOADED[(self.target, id(sys.modules.get(module_name)))] = function
        return function

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
            "labels_by": self.labels_by,
            "model": self.model,
            "expands_to": list(self.expands_to),
            "halo_at_defaults": int(self.halo(self.defaults())),
            "params": [p.to_dict() for p in self.params],
            "references": list(self.references),
        }


def _jsonable(value: Any) -> Any:
    from .provenance import jsonable  # the one JSON converter (imported when a schema is printed, not at import)

    return jsonable(value)


# -- the registry object ---------------------------------------------------------------------------
#: Entry-point group third-party packages use to add method families. Each entry point names a module
#: holding a module-level ``SPECS`` list, exactly like a built-in ``seglab/<family>/_spec.py``.
ENTRY_POINT_GROUP = "seglab.methods"

_KIND_WORDS = {"method": "method", "pre": "pre-step", "post": "post-step"}
_ORDER = {"method": 0, "pre": 1, "post": 2}


class PluginWarning(SeglabWarning):
    """A plugin's entry point could not be loaded, or declared a name that is already taken."""


class Registry:
    """The catalogue of methods, pre-steps and post-steps, by kind and name.

    A registry is declared data: it holds :class:`MethodSpec` entries and imports
    the function behind one only when it is called. :meth:`default` builds the
    catalogue every front end uses: the built-in families (``seglab/<family>/_spec.py``)
    plus the ``seglab.methods`` entry points of installed plugins.

    Examples
    --------
    >>> from seglab import MethodSpec, Param, Registry
    >>> registry = Registry()
    >>> undo = registry.register(MethodSpec(name="above", family="demo", target="numpy:greater",
    ...                                     output="mask", summary="demo"))
    >>> registry.list_methods()
    ['above']
    >>> undo(); registry.list_methods()
    []
    """

    def __init__(self, specs: Iterable[MethodSpec] = ()) -> None:
        self._entries: dict[tuple[str, str], MethodSpec] = {}
        self._origin: dict[tuple[str, str], str] = {}
        for spec in specs:
            self._add(spec, origin="seglab", replace=False)

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Registry:
        """Built-in families plus every installed plugin (entry-point group ``seglab.methods``)."""
        registry = cls()
        for module_name in _builtin_spec_modules():
            module = importlib.import_module(module_name)
            for spec in module.SPECS:
                registry._add(spec, origin="seglab", replace=False)
        registry.load_entry_points()
        return registry

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Add the SPECS of every entry point in `group`; return the names of the plugins added.

        A plugin that fails to import, has no ``SPECS`` list, or reuses a taken name is skipped
        with a :class:`PluginWarning`; it never breaks the built-in catalogue.
        """
        from importlib.metadata import entry_points

        return self.add_entry_points(entry_points(group=group))

    def add_entry_points(self, entries: Iterable[Any]) -> list[str]:
        """Add the SPECS of each ``importlib.metadata.EntryPoint`` in `entries` (see :meth:`load_entry_points`)."""
        added = []
        for entry in sorted(entries, key=lambda e: e.name):
            where = f"plugin {entry.name!r} ({entry.value})"
            try:
                module = entry.load()
                specs = list(module.SPECS)
                if not all(isinstance(s, MethodSpec) for s in specs):
                    raise TypeError("SPECS must hold MethodSpec entries only")
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the catalogue
                warnings.warn(f"{where} skipped: {type(exc).__name__}: {exc}", PluginWarning, stacklevel=2)
                continue
            taken = [s.name for s in specs if (_bucket(s), s.name) in self._entries]
            if taken:
                warnings.warn(f"{where} skipped: it declares {', '.join(map(repr, taken))}, already registered",
                              PluginWarning, stacklevel=2)
                continue
            for spec in specs:
                self._add(spec, origin=entry.name, replace=False)
            added.append(entry.name)
        return added

    def copy(self) -> Registry:
        """An independent registry with the same entries (tests register into a copy)."""
        other = Registry()
        other._entries = dict(self._entries)
        other._origin = dict(self._origin)
        return other

    def register(self, *specs: MethodSpec, replace: bool = False, origin: str = "user") -> Callable[[], None]:
        """Add entries; return a function that undoes exactly this registration.

        Parameters
        ----------
        *specs : MethodSpec
            Entries to add.
        replace : bool
            Replace an entry of the same kind and name instead of refusing it.
        origin : str
            Who registered it (shown by ``seglab methods --json`` as ``origin``).

        Raises
        ------
        ParameterError
            An entry of the same kind and name exists and `replace` is False.
        """
        previous: list[tuple[tuple[str, str], MethodSpec | None, str | None]] = []
        for spec in specs:
            key = (_bucket(spec), spec.name)
            previous.append((key, self._entries.get(key), self._origin.get(key)))
            try:
                self._add(spec, origin=origin, replace=replace)
            except ParameterError:
                _restore(self, previous[:-1])
                raise

        def undo() -> None:
            _restore(self, previous)

        return undo

    def _add(self, spec: MethodSpec, *, origin: str, replace: bool) -> None:
        if not isinstance(spec, MethodSpec):
            raise ParameterError(f"only MethodSpec entries can be registered; got {type(spec).__name__}")
        key = (_bucket(spec), spec.name)
        if key in self._entries and not replace:
            raise ParameterError(
                f"{_KIND_WORDS[spec.kind]} {spec.name!r} is already registered (by {self._origin[key]}); "
                "pick another name or pass replace=True"
            )
        self._entries[key] = spec
        self._origin[key] = origin

    # -- reading ----------------------------------------------------------------------------------
    def get(self, name: str, kind: str = "method") -> MethodSpec:
        """Return the entry `name` of `kind` (``'method'``, ``'pre'``, ``'post'``) or raise."""
        if kind not in _KIND_WORDS:
            raise ParameterError(f"`kind` got {kind!r}; expected 'method', 'pre' or 'post'")
        if not isinstance(name, str):
            raise UnknownMethodError(f"a {_KIND_WORDS[kind]} name must be a string; got {type(name).__name__}")
        spec = self._entries.get((kind, name))
        if spec is None:
            available = [n for (k, n) in self._entries if k == kind]
            raise UnknownMethodError(
                f"unknown {_KIND_WORDS[kind]} {name!r}." + close_matches_hint(name, available)
                + f" Available: {', '.join(sorted(available))}"
            )
        return spec

    def origin(self, spec: MethodSpec) -> str:
        """``'seglab'`` for built-in entries, the plugin's entry-point name, or ``'user'``."""
        return self._origin.get((_bucket(spec), spec.name), "user")

    def catalogue(self, specs: Iterable[MethodSpec] | None = None) -> list[dict[str, Any]]:
        """The JSON catalogue (``seglab methods --json``, the web's ``GET /api/methods``).

        Each entry's schema (:meth:`MethodSpec.to_dict`) and its ``origin``: ``'seglab'`` for
        built-in entries, else the plugin's entry-point name. `specs` defaults to every entry.
        """
        return [{**spec.to_dict(), "origin": self.origin(spec)} for spec in (self.specs() if specs is None else specs)]

    def specs(self) -> list[MethodSpec]:
        """Every entry: methods first, then pre-steps, then post-steps, by family and name."""
        return sorted(self._entries.values(), key=lambda s: (_ORDER[s.kind], s.family, s.name))

    def list_methods(self, family: str | None = None) -> list[str]:
        """Names of registered methods, optionally of one family."""
        return sorted(s.name for (k, _), s in self._entries.items() if k == "method" and family in (None, s.family))

    def list_steps(self, kind: str) -> list[str]:
        """Names of pre-steps (``kind='pre'``) or post-steps (``'post'``)."""
        return sorted(name for (k, name) in self._entries if k == kind)

    def families(self) -> list[str]:
        """Families with at least one entry."""
        return sorted({s.family for s in self._entries.values()})

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def _bucket(spec: MethodSpec) -> str:
    return spec.kind


def _restore(registry: Registry, previous) -> None:
    for key, spec, origin in reversed(previous):
        if spec is None:
            registry._entries.pop(key, None)
            registry._origin.pop(key, None)
        else:
            registry._entries[key] = spec
            registry._origin[key] = origin


def _builtin_spec_modules() -> list[str]:
    """``seglab.<family>._spec`` for every sub-package that has one."""
    import seglab

    names = []
    for module_info in sorted(pkgutil.iter_modules(seglab.__path__), key=lambda m: m.name):
        if module_info.ispkg and importlib.util.find_spec(f"seglab.{module_info.name}._spec") is not None:
            names.append(f"seglab.{module_info.name}._spec")
    return names


_P = ParamSpec("_P")
_R = TypeVar("_R")
_A = TypeVar("_A")


@overload
def validated(  # a pair is narrowed to its array: that is the point
    function: Callable[_P, tuple[_A, dict[str, Any]]],
) -> Callable[_P, _A]: ...
@overload
def validated(function: Callable[_P, _R]) -> Callable[_P, _R]: ...
def validated(function: Callable[_P, Any]) -> Callable[_P, Any]:
    """Make a registered function behave, when called directly, as scikit-image's functions do.

    * **A constraint lives in one place**, the :class:`Param`:
      ``seglab.threshold.niblack(image, k=100)`` raises the same
      :class:`~seglab.ParameterError` as ``seglab.segment(image, "niblack", k=100)``.
      Values are coerced as the registry does (``"5"`` -> 5), never clamped.
    * **It returns an array.** A function written as ``f(image, ...) -> (array, info)``
      returns only the array to a direct caller; the values it chose (a threshold,
      a k, iterations) come back through the registry path,
      ``seglab.segment(image, "otsu").info``. The executor calls ``__wrapped__``,
      the undecorated function, and keeps both.

    The spec is found by the function's ``"module:name"`` target in the built-in
    catalogue.
    """
    import functools
    import inspect

    target = f"{function.__module__}:{function.__name__}"

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
        spec = _spec_for_target(target)
        if spec is not None and kwargs:
            declared = {k: v for k, v in kwargs.items() if k in spec.param_names}
            for name, value in declared.items():
                if name == "model" and spec.model is not None and _in_memory_model(value):
                    continue  # a trained model object in Python (not a folder): the function checks its kind
                kwargs[name] = spec.param(name).coerce(value, owner=spec.name)
        out = function(*args, **kwargs)
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
            return out[0]
        return out

    # help() and inspect.signature show what a direct caller gets back: the array, not the pair.
    signature = inspect.signature(function)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        return_annotation=_array_part(signature.return_annotation))
    return wrapper


def _in_memory_model(value: Any) -> bool:
    import os

    return value is not None and not isinstance(value, (str, bytes, os.PathLike))


def _array_part(annotation: Any) -> Any:
    """``"NDArray[np.bool_]"`` from ``"tuple[NDArray[np.bool_], dict[str, Any]]"`` (string annotations)."""
    if not (isinstance(annotation, str) and annotation.startswith("tuple[") and annotation.endswith("]")):
        return annotation
    inner, depth = annotation[len("tuple["):-1], 0
    for position, char in enumerate(inner):
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            return inner[:position].strip() if inner[position + 1:].strip().startswith("dict") else annotation
    return annotation


_BY_TARGET: dict[str, MethodSpec | None] = {}


def _spec_for_target(target: str) -> MethodSpec | None:
    if target not in _BY_TARGET:
        found = None
        for module_name in _builtin_spec_modules():
            for spec in importlib.import_module(module_name).SPECS:
                if spec.target == target:
                    found = spec
                    break
            if found is not None:
                break
        _BY_TARGET[target] = found
    return _BY_TARGET[target]


# -- the registry in use ---------------------------------------------------------------------------
_DEFAULT: Registry | None = None
# A stack, not a context variable: the registry set by `use_registry` must be seen by the worker threads
# that compare, tune and the threaded tiler start (threads do not inherit a context).
_ACTIVE: list[Registry] = []


def current_registry() -> Registry:
    """The registry in use: the innermost one set by :func:`use_registry`, else the default catalogue."""
    if _ACTIVE:
        return _ACTIVE[-1]
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry.default()
    return _DEFAULT


@contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make `registry` the one every lookup uses inside the ``with`` block (tests, sandboxes).

    Examples
    --------
    >>> import seglab
    >>> with seglab.use_registry(seglab.Registry()) as empty:
    ...     seglab.list_methods()
    []
    """
    _ACTIVE.append(registry)
    try:
        yield registry
    finally:
        _ACTIVE.remove(registry)


def register(*specs: MethodSpec, replace: bool = False) -> Callable[[], None]:
    """Add entries to the registry in use; return the undo function (see :meth:`Registry.register`)."""
    return current_registry().register(*specs, replace=replace)


def all_specs() -> list[MethodSpec]:
    """Every entry: methods first, then pre-steps, then post-steps, by name."""
    return current_registry().specs()


def list_methods(family: str | None = None) -> list[str]:
    """Names of registered methods, optionally of one family."""
    return current_registry().list_methods(family)


def list_steps(kind: str) -> list[str]:
    """Names of registered pre-steps (``kind='pre'``) or post-steps (``'post'``)."""
    return current_registry().list_steps(kind)


def get_method(name: str) -> MethodSpec:
    """Return the spec of method `name`, or raise :class:`UnknownMethodError`."""
    return current_registry().get(name, "method")


def get_step(name: str, kind: str) -> MethodSpec:
    """Return the spec of pre-step (``kind='pre'``) or post-step (``'post'``) `name`."""
    return current_registry().get(name, kind)
