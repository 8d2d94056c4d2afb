"""User inputs as declared data: each kind a method can ask for, with the one handler that reads it.

A spec lists the kinds it needs (``MethodSpec.inputs``) or accepts
(``optional_inputs``). Front ends pass a value for each: an array or tuple is
used as it is (the web page, napari and Python callers draw them), a string
or path is read by the kind's loader (the CLI). Nothing else in seglab
branches on an input's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ParameterError, close_matches_hint

__all__ = ["InputKind", "INPUT_KINDS", "load_input", "load_inputs"]


@dataclass(frozen=True)
class InputKind:
    """A kind of user input.

    Attributes
    ----------
    name : str
        The keyword a method receives it as (``seeds``, ``rect``, ...).
    help : str
        What to give, for ``--help``, the web form and messages.
    loader : str
        ``"module:function"`` turning a string or path into the value:
        ``loader(text, shape) -> value`` where `shape` is the image's spatial shape.
    drawn : str
        How a front end draws it: ``'labels'`` (paint classes), ``'points'``
        (a contour), ``'rect'`` (a box), ``'file'`` (not drawn) or ``''`` (internal).
    """

    name: str
    help: str
    loader: str
    drawn: str


INPUT_KINDS: dict[str, InputKind] = {kind.name: kind for kind in (
    InputKind("seeds", "label image of seeds (0 = unlabelled, 1..K = classes), or a seeds JSON file "
              "(circles, points, polylines with a class each)", "seglab._core.inputs:read_seeds", "labels"),
    InputKind("scribbles", "label image of scribbles (0 = unlabelled, 1..K = classes)",
              "seglab._core.inputs:read_label_image", "labels"),
    InputKind("markers", "marker label image (0 = no marker)", "seglab._core.inputs:read_label_image", "labels"),
    InputKind("contour", "initial contour: a circle ROW,COL,RADIUS or a JSON file {\"points\": [[row, col], ...]}",
              "seglab.interactive.inputs:parse_contour_for", "points"),
    InputKind("rect", "rectangle ROW,COL,HEIGHT,WIDTH", "seglab.interactive.inputs:parse_rect_for", "rect"),
    InputKind("model", "a model folder written by `seglab train`", "seglab._core.inputs:model_folder", "file"),
    InputKind("image", "the image the method saw (given to post-steps by the pipeline)", "", ""),
)}


def _kind(name: str) -> InputKind:
    kind = INPUT_KINDS.get(name)
    if kind is None:
        raise ParameterError(f"unknown input {name!r}." + close_matches_hint(name, INPUT_KINDS)
                             + f" Inputs: {', '.join(k for k in INPUT_KINDS if k != 'image')}")
    return kind


def load_input(name: str, value: Any, shape: tuple[int, ...]) -> Any:
    """Return the value of input `name`: read by its loader when `value` is a string or path, else as given."""
    kind = _kind(name)
    if not isinstance(value, (str, Path)) or not kind.loader:
        return value
    module_name, _, attr = kind.loader.partition(":")
    return getattr(importlib.import_module(module_name), attr)(value, tuple(shape))


def load_inputs(given: Mapping[str, Any], shape: tuple[int, ...], *, wanted=None) -> dict[str, Any]:
    """:func:`load_input` for every non-empty entry of `given` (only those in `wanted`, when given)."""
    return {name: load_input(name, value, shape) for name, value in given.items()
            if value is not None and value != "" and (wanted is None or name in wanted)}


# -- loaders ----------------------------------------------------------------------------------------
def read_label_image(path, shape) -> Any:
    """A label image file (PNG/TIFF/npy...), read with seglab's safe reader."""
    from seglab.io import read

    return read(path)


def read_seeds(path, shape) -> Any:
    """Seeds from a label image, or from a seeds JSON file rasterised at `shape`."""
    if str(path).lower().endswith(".json"):
        from seglab.interactive.inputs import seeds_from_json

        return seeds_from_json(path, shape)
    return read_label_image(path, shape)


def model_folder(path, shape) -> str:
    """A model folder path (checked to exist; the method loads and verifies it)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ParameterError(f"model folder {str(path)[:200]!r} does not exist or is not a folder")
    return str(folder)
