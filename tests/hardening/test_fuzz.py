"""Property tests (Hypothesis) over the readers, the YAML/JSON loaders, parameter coercion and the CLI.

Every property is the same promise: whatever the input, the result is a value or one SeglabError with a
one-line message, never another exception, and never a hang. Runs are derandomized (the same examples
on every machine, so CI is stable) and bounded (max_examples, per-test timeout).
"""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import seglab  # noqa: E402
from seglab._core.errors import SeglabError, SeglabWarning  # noqa: E402

# No `explain` phase: on a failure it imports libcst, whose DeprecationWarning (an error under
# filterwarnings=error) would hide the falsifying example behind an INTERNALERROR.
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _one_line(exc: BaseException) -> None:
    assert isinstance(exc, SeglabError), f"{type(exc).__name__}: {str(exc)[:300]}"
    assert "\n" not in str(exc) and len(str(exc)) <= 1000


def _valid_file(fmt: str) -> bytes:
    image = (np.arange(12 * 10).reshape(12, 10) % 251).astype(np.uint8)
    buffer = io.BytesIO()
    if fmt == "npy":
        np.save(buffer, image)
    elif fmt == "tif":
        import tifffile

        tifffile.imwrite(buffer, image, compression="zlib")
    else:
        from PIL import Image

        Image.fromarray(image).save(buffer, format={"png": "PNG", "jpg": "JPEG", "bmp": "BMP"}[fmt])
    return buffer.getvalue()


FORMATS = ("png", "jpg", "bmp", "tif", "npy")
VALID = {fmt: _valid_file(fmt) for fmt in FORMATS}


def _read_any(path) -> None:
    # A flipped header byte can declare a large image that is still under the default budget; a small
    # budget keeps every example cheap (the refusal path is part of what is tested).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeglabWarning)
        try:
            array = seglab.read(path, max_pixels=1 << 16, max_bytes=1 << 20)
        except SeglabError as exc:
            _one_line(exc)
            return
    assert isinstance(array, np.ndarray)


@pytest.mark.timeout(120)
@settings(max_examples=150, **SETTINGS)
@given(fmt=st.sampled_from(FORMATS), edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10_000)))
def test_read_survives_mutated_files(tmp_path, fmt, edits, cut):
    """Bytes flipped and files cut anywhere: an array or one ImageReadError-like SeglabError."""
    data = bytearray(VALID[fmt])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / f"m.{fmt}"
    path.write_bytes(bytes(data))
    _read_any(path)


@pytest.mark.timeout(120)
@settings(max_examples=100, **SETTINGS)
@given(magic=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00",
                              b"\x93NUMPY", b"BM", b""]),
       tail=st.binary(max_size=300), ext=st.sampled_from(FORMATS + ("dat",)))
def test_read_survives_random_bytes_after_a_magic_number(tmp_path, magic, tail, ext):
    path = tmp_path / f"r.{ext}"
    path.write_bytes(magic + tail)
    _read_any(path)


# -- YAML / JSON ------------------------------------------------------------------------------------
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
_documents = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=15)


@pytest.mark.timeout(120)
@settings(max_examples=200, **SETTINGS)
@given(pieces=st.lists(st.sampled_from(list("[]{}&*!:-,'\"\n #|>%@`abc012.") + ["!!python/name:os.system ",
                                                                                   "&a ", "*a", "<<: ", "!!binary ",
                                                                                   "? ", "--- ", "..."]),
                       max_size=120))
def test_parse_yaml_returns_data_or_one_parameter_error(pieces):
    try:
        seglab.io.parse_yaml("".join(pieces))
    except SeglabError as exc:
        _one_line(exc)


@pytest.mark.timeout(120)
@settings(max_examples=100, **SETTINGS)
@given(depth=st.integers(1, 400), width=st.integers(1, 12))
def test_parse_yaml_alias_towers_are_refused_or_small(depth, width):
    """Anchors of anchors: either under the node budget and parsed, or refused; never expanded."""
    levels = min(depth, 12)
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    sizes = [1 + width]  # a sequence node and its scalars
    for _ in range(1, levels):
        sizes.append(1 + width * sizes[-1])
    expanded = 1 + sum(1 + size for size in sizes)  # the mapping, each key and each value as expanded
    aliases = width * (levels - 1)
    limits = seglab.io._text
    try:
        data = seglab.io.parse_yaml("\n".join(lines))
    except SeglabError as exc:
        _one_line(exc)
        assert expanded > limits.MAX_NODES or aliases > limits.MAX_ALIASES
    else:
        assert expanded <= limits.MAX_NODES and aliases <= limits.MAX_ALIASES and len(data) == levels


@pytest.mark.timeout(120)
@settings(max_examples=60, **SETTINGS)
@given(document=_documents)
def test_yaml_and_json_round_trip_plain_data(document):
    import json

    import yaml

    text = json.dumps(document)
    assert _same(seglab.io.parse_json(text), document)
    assert _same(seglab.io.parse_yaml(yaml.safe_dump(document)), document)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


@pytest.mark.timeout(120)
@settings(max_examples=200, **SETTINGS)
@given(text=st.text(alphabet=st.sampled_from(list('[]{}",:0123456789.eE-+ \ntruefalsnNaIinfy\\')), max_size=300))
def test_parse_json_returns_data_or_one_parameter_error(text):
    try:
        seglab.io.parse_json(text)
    except SeglabError as exc:
        _one_line(exc)


# -- parameter coercion -----------------------------------------------------------------------------
PARAMS = [(spec, p) for spec in seglab.all_specs() for p in spec.params]
_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**62, max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["1e400", "-1e400", "nan", "inf", "9" * 5000, "1_000", "0x10", " 3 ", "3,4", "auto", "None",
                     "true", "1e30", "-0", "１２"]),
    st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=4)), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.mark.timeout(120)
@settings(max_examples=400, **SETTINGS)
@given(index=st.integers(0, len(PARAMS) - 1), value=_values)
def test_param_coerce_returns_a_checked_value_or_one_parameter_error(index, value):
    spec, param = PARAMS[index]
    try:
        coerced = param.coerce(value, owner=spec.name)
    except SeglabError as exc:
        _one_line(exc)
        return
    items = coerced if isinstance(coerced, tuple) else (coerced,)
    for item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            assert math.isfinite(item)
            assert param.min is None or item >= param.min
            assert param.max is None or item <= param.max
    if param.choices is not None and coerced is not None and not isinstance(coerced, str) or (
            param.choices is not None and isinstance(coerced, str) and coerced not in param.special):
        assert coerced in param.choices


# -- the CLI ----------------------------------------------------------------------------------------
METHODS = ["otsu", "local", "niblack", "canny", "felzenszwalb", "slic", "watershed", "kmeans", "sobel", "li"]


@pytest.fixture(scope="module")
def small_png(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzcli")
    image = np.zeros((24, 28), np.uint8)
    image[6:18, 8:20] = 200
    image += np.random.default_rng(3).integers(0, 30, image.shape).astype(np.uint8)
    return seglab.write(folder / "in.png", image)


def _spec_params(method):
    return [p.name for p in seglab.get_method(method).params] or ["x"]


@pytest.mark.timeout(300)
@settings(max_examples=60, **SETTINGS)
@given(method=st.sampled_from(METHODS), data=st.data())
def test_cli_segment_with_fuzzed_params_is_ok_or_one_error_line(small_png, tmp_path, capsys, method, data):
    from seglab.cli.main import main

    names = _spec_params(method) + ["bogus"]
    params = data.draw(st.lists(st.tuples(st.sampled_from(names),
                                          st.one_of(st.sampled_from(["-1", "0", "3", "35", "1e9", "1e30", "nan", "inf",
                                                                     "", "abc", "9" * 40, "true", "auto", "None",
                                                                     "-1e400", "2.5"]),
                                                    st.text(alphabet="0123456789.-e", max_size=8))),
                                max_size=3))
    pre = data.draw(st.lists(st.sampled_from(["median:size=3", "median:size=999999", "gaussian:sigma=1e9",
                                              "gaussian:sigma=0.5", "invert", "rescale_intensity", "nonesuch",
                                              "median:size=2", "equalize_adapthist:kernel_size=99999"]), max_size=2))
    out = tmp_path / f"o{abs(hash((method, tuple(params), tuple(pre)))) % 10**8}"
    argv = ["segment", str(small_png), "--method", method, "--out", str(out), "--no-overlay"]
    for key, value in params:
        argv += ["--param", f"{key}={value}"]
    for step in pre:
        argv += ["--pre", step]
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code in (0, 2), captured.err[-500:]
    assert all(line.startswith("seglab: ") and len(line) < 1400 for line in lines), lines
    assert not [line for line in lines if line.startswith("seglab: unexpected")], lines
    errors = [line for line in lines if line.startswith("seglab: error:")]
    assert len(errors) == (1 if code == 2 else 0), lines
    if code == 0:
        suffix = {"mask": ".mask.png", "labels": ".labels.tif", "edges": ".edges.tif"}[seglab.get_method(method).output]
        assert sorted(p.name for p in out.iterdir()) == sorted(["in.json", "in" + suffix])


@pytest.mark.timeout(300)
@settings(max_examples=80, **SETTINGS)
@given(tokens=st.lists(st.one_of(st.sampled_from(["segment", "evaluate", "methods", "measure", "plot", "--method",
                                                  "--out", "--param", "--pre", "--json", "--family", "-x", "--",
                                                  "otsu", "k=v", "=", "--debugx", "histogram"]),
                                 st.text(alphabet="abc-=:,./", max_size=6)), max_size=6))
def test_cli_random_argv_is_ok_or_one_error_line(tmp_path, capsys, monkeypatch, tokens):
    from seglab.cli.main import main

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(tokens)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert code in (0, 2), captured.err[-500:]
    assert "Traceback" not in captured.err
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("seglab: error:"), lines
    for path in tmp_path.rglob("*"):
        assert not path.name.startswith("."), f"temporary file left: {path}"
    os.chdir(tmp_path)
