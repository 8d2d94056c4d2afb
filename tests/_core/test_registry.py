import json

import pytest

import seglab
from seglab._core.errors import ParameterError, UnknownMethodError, UnknownParameterError
from seglab._core.registry import OUTPUT_KINDS, Param, all_specs, get_method


def test_param_coercion_from_strings():
    assert Param("size", "int", 3, min=1).coerce("5") == 5
    assert Param("sigma", "float", 1.0).coerce("2.5") == 2.5
    assert Param("invert", "bool", False).coerce("yes") is True
    assert Param("k", "int", 3, special=("auto",)).coerce("auto") == "auto"
    assert Param("shape", "ints", (1, 2)).coerce("3,4") == (3, 4)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        (Param("size", "int", 3, min=1), "0", r"parameter `size` of 'x' got '0'; expected an integer >= 1"),
        (Param("size", "int", 3), "2.5", r"parameter `size` of 'x' got '2.5'; expected an integer"),
        (Param("block_size", "int", 35, odd=True), 4, r"parameter `block_size` of 'x' must be odd; got 4"),
        (Param("mode", "str", "a", choices=("gaussian", "mean")), "gausian", r"Did you mean 'gaussian'\?"),
        (Param("sigma", "float", 1.0, min=0, max=10), "nan", r"expected a number in \[0, 10\]"),
        (Param("invert", "bool", False), "maybe", r"expected true or false"),
    ],
)
def test_bad_parameter_values_are_refused_not_clamped(param, value, match):
    with pytest.raises(ParameterError, match=match):
        param.coerce(value, owner="x")


def test_unknown_method_lists_close_matches():
    with pytest.raises(UnknownMethodError, match=r"unknown method 'otsuu'\. Did you mean 'otsu'"):
        get_method("otsuu")


def test_unknown_parameter_names_close_matches():
    spec = get_method("otsu")
    with pytest.raises(UnknownParameterError, match=r"has no parameter `invrt`.*Did you mean 'invert'"):
        spec.resolve_params({"invrt": True})


def test_every_spec_is_well_formed_and_its_target_imports():
    specs = all_specs()
    assert len(specs) >= 20
    for spec in specs:
        assert spec.output in OUTPUT_KINDS
        function = spec.load()
        assert callable(function), spec.name
        data = spec.to_dict()
        json.dumps(data)
        for param in data["params"]:
            assert {"name", "type", "default"} <= set(param)
        # Defaults honour their own schema.
        assert spec.resolve_params({}) == spec.defaults()
        assert spec.halo(spec.defaults()) >= 0


def test_function_signatures_match_declared_defaults():
    import inspect

    for spec in all_specs():
        signature = inspect.signature(spec.load())
        for param in spec.params:
            assert param.name in signature.parameters, f"{spec.name}: `{param.name}` not in the function signature"
            declared = signature.parameters[param.name].default
            assert declared == param.default, f"{spec.name}.{param.name}: function default {declared!r} != spec {param.default!r}"


def test_public_listing_matches_registry():
    assert set(seglab.list_methods()) == {s.name for s in all_specs() if s.kind == "method"}
