"""Every registered function carries complete type hints that resolve at run time.

napari/magicgui and IDEs read these hints to build widgets and completions, so a hint that is missing, or that
names something only a type checker can import, is a user-visible defect.
"""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

import seglab


def _targets() -> list[str]:
    return sorted({spec.target for spec in seglab.all_specs()})


def _resolve(target: str):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def test_catalogue_is_not_empty():
    assert len(_targets()) >= 40


@pytest.mark.parametrize("target", _targets())
def test_registered_function_is_fully_annotated(target):
    func = _resolve(target)
    signature = inspect.signature(func)
    missing = [name for name, p in signature.parameters.items() if p.annotation is inspect.Parameter.empty]
    assert missing == [], f"{target}: parameters without a type hint: {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{target}: no return type hint"
    hints = typing.get_type_hints(func)
    assert set(hints) == {*signature.parameters, "return"}
