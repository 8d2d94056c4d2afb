"""The registry object: register/undo, isolation for tests, plugins that fail without breaking the catalogue."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import seglab
from seglab import MethodSpec, Param, PluginWarning, Registry
from seglab._core.errors import ParameterError, UnknownMethodError
from seglab.testing import isolated_registry


def above_mean(image, *, offset=0.0):
    return np.asarray(image) > np.asarray(image).mean() + offset


SPEC = MethodSpec(name="above_mean_test", family="test", target=f"{__name__}:above_mean", output="mask",
                  summary="above the mean", params=(Param("offset", "float", 0.0, min=-10, max=10),))


def test_register_returns_an_undo_that_restores_exactly_the_previous_state(seglab_registry):
    before = seglab.list_methods()
    undo = seglab.register(SPEC)
    assert "above_mean_test" in seglab.list_methods()
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    np.testing.assert_array_equal(seglab.segment(image, "above_mean_test").mask, image > image.mean())
    with pytest.raises(ParameterError, match=r"method 'above_mean_test' is already registered \(by user\)"):
        seglab.register(SPEC)
    undo()
    assert seglab.list_methods() == before
    with pytest.raises(UnknownMethodError, match=r"unknown method 'above_mean_test'"):
        seglab.get_method("above_mean_test")


def test_replace_and_undo_puts_the_original_back(seglab_registry):
    from dataclasses import replace

    original = seglab.get_method("otsu")
    undo = seglab.register(replace(original, summary="patched"), replace=True)
    assert seglab.get_method("otsu").summary == "patched"
    undo()
    assert seglab.get_method("otsu") is original


def test_an_isolated_registry_leaks_nothing():
    with isolated_registry(SPEC) as registry:
        assert "above_mean_test" in seglab.list_methods()
        assert registry.origin(SPEC) == "test"
    assert "above_mean_test" not in seglab.list_methods()
    with isolated_registry(empty=True):
        assert seglab.list_methods() == []
    assert "otsu" in seglab.list_methods()


def test_a_broken_or_clashing_plugin_is_skipped_with_a_warning():
    module = types.ModuleType("seglab_test_plugin_ok")
    module.SPECS = [SPEC]
    clash = types.ModuleType("seglab_test_plugin_clash")
    clash.SPECS = [MethodSpec(name="otsu", family="x", target="numpy:greater", output="mask", summary="x")]
    sys.modules.update({module.__name__: module, clash.__name__: clash})
    try:
        registry = Registry.default()
        entries = [EntryPoint("broken", "seglab_no_such_module_xyz", "seglab.methods"),
                   EntryPoint("clash", clash.__name__, "seglab.methods"),
                   EntryPoint("good", module.__name__, "seglab.methods")]
        with pytest.warns(PluginWarning) as caught:
            added = registry.add_entry_points(entries)
        messages = " | ".join(str(w.message) for w in caught)
        assert "plugin 'broken' (seglab_no_such_module_xyz) skipped: ModuleNotFoundError" in messages
        assert "plugin 'clash' (seglab_test_plugin_clash) skipped: it declares 'otsu', already registered" in messages
        assert added == ["good"]
        assert registry.get("above_mean_test").target == SPEC.target
        assert registry.origin(registry.get("otsu")) == "seglab"
    finally:
        for name in (module.__name__, clash.__name__):
            sys.modules.pop(name, None)


def test_spec_facts_are_checked_when_declared():
    with pytest.raises(ValueError, match=r"input 'seedz' is not a declared input kind"):
        MethodSpec(name="x", family="x", target="m:f", output="mask", summary="x", inputs=("seedz",))
    with pytest.raises(ValueError, match=r"tiling='global' needs stat_target and apply_target"):
        MethodSpec(name="x", family="x", target="m:f", output="mask", summary="x", tiling="global")
    with pytest.raises(ValueError, match=r"model='unet' needs a Param named 'model'"):
        MethodSpec(name="x", family="x", target="m:f", output="mask", summary="x", model="unet")
    with pytest.raises(ValueError, match=r"labels_by 'pixels' not in"):
        MethodSpec(name="x", family="x", target="m:f", output="labels", summary="x", labels_by="pixels")


def test_the_catalogue_declares_its_tiling_facts_instead_of_the_tiler_naming_methods():
    assert seglab.get_step("label", "post").labels_by == "components"
    assert seglab.get_step("split_touching", "post").labels_by == "objects"
    composite = seglab.get_method("split_touching")
    assert composite.expands_to == ("method:otsu", "post:split_touching")
    otsu = seglab.get_method("otsu")
    assert otsu.stat_target and otsu.apply_target
    import ast
    from pathlib import Path

    from seglab import tiling

    # the limits (histogram and extent checks) read facts too: Param.extent and MethodSpec.histogram
    assert seglab.get_step("equalize_adapthist", "pre").param("kernel_size").extent
    assert seglab.get_method("manual").histogram({"threshold": 5}) is False
    hysteresis = seglab.get_method("hysteresis").histogram
    assert hysteresis({"low": None, "high": 9}) and not hysteresis({"low": 3, "high": 9})
    core = Path(seglab.__file__).parent / "_core"
    names = {s.name for s in seglab.all_specs()}
    for path in [*Path(tiling.__file__).parent.glob("*.py"), core / "limits.py", core / "executor.py"]:
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        literals = {node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}
        literals -= {"local", "global", "none"}  # MethodSpec.tiling's vocabulary, not the method 'local'
        assert not (literals & names), f"{path.name} names methods: {sorted(literals & names)}"
