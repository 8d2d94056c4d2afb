"""The bad-input corpus through the Python API: the same SeglabErrors as the CLI, never a raw library exception.

Two tables: every single-image ``segment`` case of the CLI corpus replayed through ``seglab.read`` and
``Pipeline.run`` (the API must refuse what the CLI refuses, with a message matching the same pattern, and
accept what it accepts), and API-only cases (bad ``channel_axis``, params lists, ints beyond int64,
writes that cannot succeed, budgets, loaders).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab._core.errors import SeglabError, SeglabWarning


def _load_corpus():
    """Import the sibling ``_corpus.py`` once (the tests folder is not a package under --import-mode=importlib)."""
    name = "seglab_hardening_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().with_name("_corpus.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = _load_corpus()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- replay of the CLI corpus ----------------------------------------------------------------------
_OPTIONS_WITH_VALUE = {"--method", "--param", "--pre", "--post", "--pipeline", "--out", "--seeds-json", "--contour",
                       "--rect", "--seeds", "--markers"}


def _parse_segment(argv):
    images, options = [], {"--param": [], "--pre": [], "--post": []}
    i = 1
    while i < len(argv):
        token = argv[i]
        if token == "--":
            images.extend(argv[i + 1:])
            break
        if token in _OPTIONS_WITH_VALUE:
            if token in ("--param", "--pre", "--post"):
                options[token].append(argv[i + 1])
            else:
                options[token] = argv[i + 1]
            i += 2
            continue
        images.append(token)
        i += 1
    return images, options


def _replayable(case) -> bool:
    if case.memory or case.xfail or not case.build or case.kind in ("usage", "output", "batch"):
        return False
    return case.id.startswith(("truncated", "garbled", "magic", "empty", "text-named", "npy", "png", "tif", "bmp",
                               "jpeg", "zarr", "uint", "int", "complex", "bool", "1bit", "float", "structured",
                               "string", "datetime", "nan", "inf", "neg", "all", "constant", "palette", "rgba",
                               "gray", "two", "five", "rgb", "cmyk", "planar", "stack", "4d", "5d", "6d", "yaml",
                               "json", "param", "method", "symlink", "broken", "missing", "fifo-input", "char",
                               "dev-null", "name", "seeds", "contour", "rect"))


REPLAY = [c for c in corpus.CASES if _replayable(c)]


def _api_segment(argv, root: Path):
    """What `seglab segment` does, through the public Python API only."""
    from seglab._core.errors import ParameterError
    from seglab._core.pipeline import Pipeline

    images, options = _parse_segment(argv)
    if "--pipeline" in options:
        pipeline = seglab.io.read_pipeline(options["--pipeline"])
    else:
        params = {}
        for item in options["--param"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise ParameterError(f"--param expects KEY=VALUE; got {item!r}")
            params[key] = value
        pipeline = Pipeline.build(options.get("--method", ""), params, pre=options["--pre"], post=options["--post"])
    results = []
    for name in images:
        if any(ch in name for ch in "*?[") and not os.path.lexists(name):
            raise seglab.ImageReadError(f"no file matches {name!r}")
        if os.path.isdir(name) and not name.rstrip("/").endswith(".zarr"):
            paths = list(seglab.read_collection(name).files)
        else:
            paths = [Path(name)]
        for path in paths:
            image = seglab.read(path)
            inputs = {}
            if "--seeds-json" in options:
                from seglab.interactive.inputs import seeds_from_json

                inputs["seeds"] = seeds_from_json(options["--seeds-json"], image.shape[:2])
            if "--contour" in options:
                from seglab.interactive.inputs import parse_contour

                inputs["contour"] = parse_contour(options["--contour"])
            if "--rect" in options:
                from seglab.interactive.inputs import parse_rect

                inputs["rect"] = parse_rect(options["--rect"])
            results.append(pipeline.run(image, **inputs))
    return results


def _assert_one_line_error(exc: BaseException):
    assert isinstance(exc, SeglabError), f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:300]}"
    message = str(exc)
    assert "\n" not in message and len(message) <= 1000, message[:200]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in REPLAY])
def test_api_replays_cli_case(case, tmp_path, monkeypatch):
    if case.needs == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes")
    if case.needs == "nonroot" and IS_ROOT:
        pytest.skip("running as root: permission bits are not enforced")
    monkeypatch.chdir(tmp_path)
    argv = case.build(tmp_path)
    if argv[0] != "segment":
        pytest.skip("not a segment case")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeglabWarning)
        try:
            _api_segment(argv, tmp_path)
        except Exception as exc:  # noqa: BLE001 - the point is to see which exception it is
            if case.code == 0 and "too long" not in str(exc):
                raise AssertionError(f"the CLI accepts this input, the API raised {type(exc).__name__}: {exc}") from exc
            _assert_one_line_error(exc)
            if case.match:
                assert re.search(case.match, str(exc)), f"{case.match!r} not in {str(exc)[:300]!r}"
            return
    # Output-side refusals (names too long to write) happen after the API's part.
    assert case.code == 0 or "OUT" in (case.match or "") or case.id.startswith("name-250"), \
        f"the CLI refuses this input ({case.match}); the API accepted it"


# -- API-only cases ---------------------------------------------------------------------------------
def _image():
    return corpus.blobs((32, 40))


def _wide_uint32():
    return np.random.default_rng(1).integers(0, 2**32 - 1, (32, 32), dtype=np.uint32)


API_CASES = {
    "channel-axis-out-of-range": (lambda t: seglab.segment(_image(), "otsu", channel_axis=5), "channel_axis"),
    "channel-axis-string": (lambda t: seglab.segment(_image(), "otsu", channel_axis="last"), "channel_axis"),
    "channel-axis-float": (lambda t: seglab.check_image(_image(), channel_axis=1.5), "channel_axis"),
    "channel-axis-bool": (lambda t: seglab.check_image(_image(), channel_axis=True), "channel_axis"),
    "channel-axis-negative-out": (lambda t: seglab.check_image(np.dstack([_image()] * 3), channel_axis=-4), "channel_axis"),
    "pipeline-params-list": (lambda t: seglab.Pipeline.from_dict({"method": {"name": "local", "params": [35]}}),
                             "params of method"),
    "pipeline-pre-params-list": (lambda t: seglab.Pipeline.from_dict({"method": "otsu", "pre": [["median", [3]]]}),
                                 "params of pre-step"),
    "pipeline-params-string": (lambda t: seglab.Pipeline.from_dict({"method": {"name": "local", "params": "x"}}),
                               "params of method"),
    "pipeline-name-list": (lambda t: seglab.Pipeline.from_dict({"method": {"name": ["otsu"]}}), "name"),
    "pipeline-deep-dict": (lambda t: seglab.Pipeline.from_dict(_deep({"method": "otsu"}, 5000)), "pre|unknown|mapping"),
    "pipeline-not-mapping": (lambda t: seglab.Pipeline.from_dict([1, 2]), "mapping"),
    "segment-pre-pair-list": (lambda t: seglab.segment(_image(), "otsu", pre=[("median", [3])]), "params of pre-step"),
    "int-beyond-int64-min-size": (lambda t: seglab.segment(_image(), "felzenszwalb", min_size=10**30), "64 bits"),
    "int-beyond-int64-negative": (lambda t: seglab.segment(_image(), "manual", threshold=-10**40), None),
    "rng-beyond-uint32": (lambda t: seglab.segment(_image(), "kmeans", rng=2**64), "rng"),
    "grabcut-rng-beyond-c-int": (lambda t: seglab.segment(np.dstack([_image()] * 3), "grabcut", rect=(2, 2, 20, 20),
                                                          rng=2**40), "rng"),
    "apply-step-huge-size": (lambda t: seglab.apply_step(_image(), "median", size=10**30 + 1), "size"),
    "closing-radius-1e9": (lambda t: seglab.segment(_image(), "otsu", post=["closing:radius=1000000000"]), "radius"),
    "gaussian-sigma-1e9": (lambda t: seglab.segment(_image(), "otsu", pre=[("gaussian", {"sigma": 1e9})]), "sigma"),
    "wide-uint32-otsu": (lambda t: seglab.segment(_wide_uint32(), "otsu"), "histogram"),
    "wide-uint32-hysteresis-auto": (lambda t: seglab.segment(_wide_uint32(), "hysteresis"), "histogram"),
    "complex-image": (lambda t: seglab.segment(_image().astype(np.complex128), "otsu"), "complex"),
    "object-image": (lambda t: seglab.segment(np.array([[1, "a"], [2, 3]], dtype=object), "otsu"), "dtype object"),
    "ragged-list-image": (lambda t: seglab.check_image([[1, 2], [3]]), "could not be read"),
    "bool-image": (lambda t: seglab.segment(_image() > 50, "otsu"), "boolean"),
    "5d-image": (lambda t: seglab.segment(np.zeros((2, 2, 2, 4, 4)), "otsu"), "dimensions"),
    "nan-image": (lambda t: seglab.segment(np.full((4, 4), np.nan), "otsu"), "NaN"),
    "empty-image": (lambda t: seglab.segment(np.zeros((0, 4)), "otsu"), "empty"),
    "one-pixel": (lambda t: seglab.segment(np.zeros((1, 1), np.uint8), "otsu"), "too small"),
    "unknown-method": (lambda t: seglab.segment(_image(), "otsuu"), "Did you mean 'otsu'"),
    "unknown-param": (lambda t: seglab.segment(_image(), "local", blocksize=3), "block_size"),
    "write-stack-png": (lambda t: seglab.write(t / "s.png", np.zeros((3, 8, 8), np.uint8)), "as .tif"),
    "write-proc": (lambda t: seglab.write("/proc/seglab-nope/x.png", _image()), "cannot write|does not exist"),
    "write-dev-null-folder": (lambda t: seglab.write("/dev/null/x.png", _image()), "not a folder|cannot write"),
    "write-name-too-long": (lambda t: seglab.write(t / ("x" * 300 + ".png"), _image()), "too long|could not write"),
    "write-complex": (lambda t: seglab.write(t / "c.tif", np.zeros((4, 4), np.complex64)), "complex"),
    "write-float-png": (lambda t: seglab.write(t / "f.png", np.zeros((4, 4), np.float32)), "never rescales"),
    "write-unknown-ext": (lambda t: seglab.write(t / "f.gif", _image()), "extension"),
    "pixel-budget-text": (lambda t: seglab.io.set_pixel_budget("lots"), "max_pixels"),
    "byte-budget-negative": (lambda t: seglab.io.set_byte_budget(-5), "max_bytes"),
    "byte-budget-huge-int": (lambda t: seglab.io.get_byte_budget(10**400), "max_bytes"),
    "read-max-bytes": (lambda t: seglab.read(corpus.write_png(t / "i.png", _image()), max_bytes=100),
                       "decoded-size budget"),
    "read-float32-rgb-bomb": (lambda t: seglab.read(corpus.tif_declaring(t / "b.tif", 32768, 32768,
                                                                         np.zeros((8, 8, 3), np.float32),
                                                                         photometric="rgb")), r"12\.0 GiB"),
    "read-symlink-loop": (lambda t: seglab.read(corpus._loop(t / "l.png")), "loop"),
    "read-dev-zero": (lambda t: seglab.read("/dev/zero"), "character device"),
    "read-fifo": (lambda t: seglab.read(corpus._fifo(t / "f.tif")), "named pipe"),
    "read-pipeline-fifo": (lambda t: seglab.io.read_pipeline(corpus._fifo(t / "p.yaml")), "named pipe"),
    "read-pipeline-bomb": (lambda t: seglab.io.read_pipeline(corpus.text(t / "p.yaml", corpus.BILLION_LAUGHS)),
                           "billion laughs"),
    "read-config-oversized": (lambda t: seglab.io.read_config(corpus.text(t / "c.json", " " * (2 << 20))), "limit"),
    "parse-yaml-deep": (lambda t: seglab.io.parse_yaml("[" * 5000 + "]" * 5000), "nested"),
    "parse-json-deep": (lambda t: seglab.io.parse_json("{\"a\":" * 3000 + "1" + "}" * 3000), "nested"),
    "sha256-fifo": (lambda t: seglab.io.sha256_file(corpus._fifo(t / "f.bin")), "named pipe"),
    "evaluate-shapes": (lambda t: seglab.evaluate(np.zeros((4, 4), bool), np.zeros((5, 5), bool)), "shape"),
    "read-collection-empty": (lambda t: seglab.read_collection(corpus._dir(t / "e")), "no image files"),
    # round 2
    "read-path-none": (lambda t: seglab.read(None), r"`path` must be a str or os.PathLike; got NoneType"),
    "read-path-array": (lambda t: seglab.read(_image()), r"`path` must be a str or os.PathLike; got ndarray"),
    "read-path-nul": (lambda t: seglab.read(str(t / "a\0b.png")), r"contains a NUL character"),
    "write-path-nul": (lambda t: seglab.write(str(t / "a\0b.png"), _image()), r"contains a NUL character"),
    "write-path-int": (lambda t: seglab.write(5, _image()), r"`path` must be a str or os.PathLike; got int"),
    "write-ragged-list": (lambda t: seglab.write(t / "r.png", [[1, 2], [3]]), r"`array` could not be read as an array"),
    "segment-pre-int": (lambda t: seglab.segment(_image(), "otsu", pre=5), r"steps must be a list .*; got 5"),
    "grabcut-rect-nan": (lambda t: seglab.segment(np.dstack([_image()] * 3), "grabcut", rect=(np.nan, 0, 5, 5)),
                         r"`rect` got \(nan, 0, 5, 5\); expected \(row, col, height, width\)"),
    "grabcut-rect-whole": (lambda t: seglab.segment(np.dstack([_image()] * 3), "grabcut", rect=(0, 0, 32, 40)),
                           r"covers the whole 32 x 40 image"),
    "contour-text-points": (lambda t: seglab.segment(_image(), "active_contour", contour=[["a", 1]]),
                            r"`contour` got \[\['a', 1\]\]"),
    "masked-image": (lambda t: seglab.segment(np.ma.masked_array(_image(), _image() > 100), "otsu"),
                     r"masked array with masked pixels"),
    "evaluate-scalar": (lambda t: seglab.evaluate(np.array(1), np.array(1)), r"`truth` is a single value"),
    "evaluate-nan-pred": (lambda t: seglab.evaluate(_image() > 100, np.full((32, 40), np.nan)),
                          r"`pred` contains 1,280 NaN or infinite"),
    "evaluate-complex-truth": (lambda t: seglab.evaluate(np.zeros((4, 4), complex), np.zeros((4, 4), bool)),
                               r"`truth` has dtype complex128"),
    "tune-jobs-huge": (lambda t: seglab.tune.tune([_image()], [_image() > 100], "otsu", folds=1, n_jobs=100000),
                       r"`n_jobs` got 100000 worker processes"),
    "tune-seed-negative": (lambda t: seglab.tune.tune([_image()], [_image() > 100], "otsu", folds=1, seed=-1),
                           r"seed got -1"),
    "compare-workers-huge": (lambda t: seglab.compare.compare([_image()], [_image() > 100], ["otsu"], workers=100000),
                             r"`workers` got 100000 worker processes"),
    "compare-method-timeout-nan": (lambda t: seglab.compare.compare([_image()], [_image() > 100], ["otsu"],
                                                                    method_timeout=float("nan")),
                                   r"method_timeout got nan"),
    "pixel-classifier-trees": (lambda t: seglab.learn.fit_pixel_classifier(_image(), (_image() > 100) + 1,
                                                                           n_estimators=10**12),
                               r"at most 10,000 trees"),
}


def _deep(base, depth):
    value = {"x": 1}
    for _ in range(depth):
        value = {"x": value}
    return {**base, "pre": [{"name": "median", "params": value}]}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(API_CASES))
def test_api_case_raises_one_seglab_error(name, tmp_path):
    call, pattern = API_CASES[name]
    if "fifo" in name and not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeglabWarning)
        try:
            call(tmp_path)
        except Exception as exc:  # noqa: BLE001
            _assert_one_line_error(exc)
            if pattern:
                assert re.search(pattern, str(exc)), f"{pattern!r} not in {str(exc)[:300]!r}"
        else:
            if name == "int-beyond-int64-negative":  # a float threshold: -1e40 is a valid number
                return
            raise AssertionError(f"{name}: no error raised")
        finally:
            seglab.io.set_pixel_budget(None)
            seglab.io.set_byte_budget(None)
    assert not list(tmp_path.glob(".*")), "temporary files left behind"


def test_valid_inputs_work_through_the_api(tmp_path):
    """What segment accepts works end to end: 3-D stacks to TIFF, 240-character names, modes 0644."""
    mask = np.zeros((3, 16, 16), bool)
    mask[:, 4:12, 4:12] = True
    stack = np.where(mask, 200, 20).astype(np.uint8)
    result = seglab.segment(stack, "otsu")
    np.testing.assert_array_equal(result.mask, mask)
    out = seglab.write(tmp_path / "stack.mask.tif", result.mask)
    np.testing.assert_array_equal(seglab.read(out), mask)
    long = tmp_path / ("n" * 236 + ".png")
    seglab.write(long, stack[0])
    np.testing.assert_array_equal(seglab.read(long), stack[0])
    mode = long.stat().st_mode & 0o777
    umask = os.umask(0o022)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["stack.mask.tif", long.name])


def test_messages_quote_a_short_prefix_of_huge_values():
    big = "y" * 10_000_000
    with pytest.raises(seglab.ParameterError, match=r"parameter `method`") as info:
        seglab.segment(_image(), "local", method=big)
    assert len(str(info.value)) <= 1000 and "characters omitted" in str(info.value)


def test_byte_budget_counts_decoded_bytes_not_pixels(tmp_path):
    """The same pixel count passes as uint8 and is refused as float64 under a byte budget between the two."""
    gray = np.zeros((64, 64), np.uint8)
    seglab.write(tmp_path / "g.npy", gray)
    seglab.write(tmp_path / "f.npy", gray.astype(np.float64))
    assert seglab.read(tmp_path / "g.npy", max_bytes=64 * 64 * 2).shape == (64, 64)
    with pytest.raises(seglab.DecompressionBombError, match=r"64 x 64 float64 = 32\.0 KiB \(32,768 bytes\), more than"):
        seglab.read(tmp_path / "f.npy", max_bytes=64 * 64 * 2)
    assert seglab.read(tmp_path / "f.npy", max_bytes=math.inf).dtype == np.float64


def test_memory_estimate_names_the_parameter_before_running(monkeypatch):
    """A window that fits the image but not the free memory is refused before the step allocates anything."""
    from seglab._core import limits
    from seglab._core.errors import ResourceLimitError

    monkeypatch.setattr(limits, "available_memory", lambda: 100 * 2**20)
    mask = np.zeros((1000, 1000), bool)
    spec = seglab.get_step("closing", "post")
    with pytest.raises(ResourceLimitError, match=r"parameter `radius` of post-step 'closing' = 900 \(a window of "
                                                    r"1,801 pixels each side\) needs about .* MiB of memory; "
                                                    r"100\.0 MiB is available\. Use a smaller `radius`") as info:
        limits.check_step_cost(spec, mask, {"radius": 900})
    assert isinstance(info.value, MemoryError)
    with pytest.raises(MemoryError, match=r"method 'otsu' on an image of shape \(4000, 4000\) needs about 244\.1 MiB"):
        seglab.segment(np.zeros((4000, 4000), np.uint8), "otsu")
