"""Limits decided before work starts: decoded-byte budget, bounded YAML/JSON, special files, names, modes."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import seglab
from seglab._core.errors import ImageReadError, ParameterError, one_line, printable, short_repr
from seglab._core.limits import available_memory, check_step_cost, format_bytes
from seglab.io import _text
from seglab.io._formats import stat_input
from seglab.io._write import _temp_name, umask_mode


# -- decoded-byte budget --------------------------------------------------------------------------
def test_byte_budget_from_environment_and_setter(monkeypatch, tmp_path):
    path = seglab.write(tmp_path / "f.npy", np.zeros((16, 16), np.float64))  # 2048 bytes decoded
    monkeypatch.setenv("SEGLAB_MAX_BYTES", "2047")
    with pytest.raises(seglab.DecompressionBombError, match=r"= 2\.0 KiB \(2,048 bytes\), more than the decoded-size budget of 2\.0 KiB \(2,047 bytes\)"):
        seglab.read(path)
    monkeypatch.setenv("SEGLAB_MAX_BYTES", "2048")
    assert seglab.read(path).shape == (16, 16)
    seglab.io.set_byte_budget(1000)
    try:
        with pytest.raises(seglab.DecompressionBombError, match=r"max_bytes=2048"):
            seglab.read(path)
    finally:
        seglab.io.set_byte_budget(None)
    monkeypatch.setenv("SEGLAB_MAX_BYTES", "plenty")
    with pytest.raises(ParameterError, match="environment variable SEGLAB_MAX_BYTES got 'plenty'"):
        seglab.read(path)


def test_palette_png_counts_its_rgba_colours(tmp_path):
    from PIL import Image

    image = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).convert("P")
    image.save(tmp_path / "p.png")
    assert seglab.read(tmp_path / "p.png", palette="index", max_bytes=8 * 8 * 4).shape == (8, 8)
    with pytest.raises(seglab.DecompressionBombError, match=r"8 x 8 x 4 uint8 = 256 bytes"):
        seglab.read(tmp_path / "p.png", max_bytes=255)


def _npy_header_only(path, shape, descr="<f8"):
    """A .npy file whose header declares `shape` and that holds no data."""
    import struct

    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
    return path


def test_available_memory_bounds_a_read(tmp_path):
    """With both budgets lifted, a file larger than the free memory is still refused from its header."""
    free = available_memory()
    side = 2 * int(math.isqrt(free // 8))  # a float64 square of four times the free memory
    path = _npy_header_only(tmp_path / "big.npy", (side, side))
    with pytest.raises(seglab.DecompressionBombError, match="of memory available"):
        seglab.read(path, max_pixels=math.inf, max_bytes=math.inf)


# -- bounded loaders --------------------------------------------------------------------------------
def test_yaml_limits_each_have_their_message():
    with pytest.raises(ParameterError, match=r"line 1, column 1: invalid YAML \(.*no Python tags\)"):
        seglab.io.parse_yaml("!!python/object/apply:os.system [ls]")
    with pytest.raises(ParameterError, match=f"more than {_text.MAX_ALIASES} aliases"):
        seglab.io.parse_yaml("a: &a x\nb: [" + ", ".join(["*a"] * (_text.MAX_ALIASES + 1)) + "]")
    with pytest.raises(ParameterError, match=f"nested more than {_text.MAX_DEPTH} levels deep"):
        seglab.io.parse_yaml("[" * (_text.MAX_DEPTH + 1) + "]" * (_text.MAX_DEPTH + 1))
    with pytest.raises(ParameterError, match="limit for YAML documents"):
        seglab.io.parse_yaml("#" * (_text.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ParameterError, match="billion laughs"):
        seglab.io.parse_yaml("a: &a [" + ", ".join(["x"] * 200) + "]\nb: &b [" + ", ".join(["*a"] * 200) + "]\n"
                             "c: [" + ", ".join(["*b"] * 50) + "]")
    # Anchors and shallow nesting within the limits are plain YAML and load.
    assert seglab.io.parse_yaml("p: &p {size: 3}\nq: *p\nr: [[[[1]]]]") == {"p": {"size": 3}, "q": {"size": 3},
                                                                             "r": [[[[1]]]]}


def test_json_limits():
    assert seglab.io.parse_json('{"a": "[[[[[[", "b": [[1]]}') == {"a": "[[[[[[", "b": [[1]]}
    with pytest.raises(ParameterError, match=f"JSON nested {_text.MAX_DEPTH + 1} levels deep"):
        seglab.io.parse_json("[" * (_text.MAX_DEPTH + 1) + "]" * (_text.MAX_DEPTH + 1))
    with pytest.raises(ParameterError, match=r"invalid JSON \(ValueError: Exceeds the limit"):
        seglab.io.parse_json("9" * 5000)
    with pytest.raises(ParameterError, match=r"line 1, column 9: invalid JSON"):
        seglab.io.parse_json('{"a": 1,}')


def test_config_files_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " * _text.MAX_CONFIG_BYTES)
    with pytest.raises(ParameterError, match="larger than the 1,048,576-byte limit"):
        seglab.io.read_config(big)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "p.json")
        with pytest.raises(ImageReadError, match="named pipe"):
            seglab.io.read_json(tmp_path / "p.json")
    _text.check_text_file(tmp_path / "missing.json")  # a missing file is the caller's to report


# -- special files and names ------------------------------------------------------------------------
def test_stat_input_names_each_kind(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(ImageReadError, match="symbolic link loop"):
        stat_input(tmp_path / "loop")
    os.symlink("nowhere.png", tmp_path / "broken")
    with pytest.raises(ImageReadError, match="broken symbolic link .*'nowhere.png'"):
        stat_input(tmp_path / "broken")
    with pytest.raises(ImageReadError, match="character device"):
        stat_input("/dev/null")
    with pytest.raises(ImageReadError, match="too long"):
        stat_input(tmp_path / ("x" * 300))
    with pytest.raises(ImageReadError, match="is a folder"):
        stat_input(tmp_path, allow_dir=False)


@pytest.mark.parametrize("name", ["a" * 250 + ".png", "é" * 125 + ".tif", "x.png"])
def test_temporary_names_stay_under_255_bytes(tmp_path, name):
    temp = _temp_name(tmp_path / name)
    assert len(os.fsencode(temp.name)) <= 255 and temp.name.startswith(".") and temp.parent == tmp_path


def test_outputs_follow_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        assert umask_mode() == 0o640
        path = seglab.write(tmp_path / "m.png", np.zeros((4, 4), np.uint8))
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(previous)


# -- messages ---------------------------------------------------------------------------------------
def test_message_helpers():
    assert short_repr("z" * 1000, 10) == "'zzzzzzzzzz'... (1,000 characters)"
    assert short_repr(10**1000) == "an integer of about 1,000 digits"
    assert short_repr(list(range(100))) == "a list of 100 items"
    text = one_line("head\n" + "x" * 5000 + "\ntail")
    assert "\n" not in text and len(text) < 1100 and text.startswith("head x") and text.endswith("x tail")
    assert printable("a\nb\t" + os.fsdecode(b"\xff")) == "a\\nb\\t\\xff"
    assert seglab.SeglabError("x" * 10**6).args[0].count("characters omitted") == 1


def test_format_bytes():
    assert [format_bytes(n) for n in (12, 2048, 12 * 2**30)] == ["12 bytes", "2.0 KiB", "12.0 GiB"]


# -- limits before a step -----------------------------------------------------------------------------
def test_window_limit_names_the_parameter_and_the_largest_value():
    spec = seglab.get_step("closing", "post")
    mask = np.zeros((40, 50), bool)
    with pytest.raises(ParameterError, match=r"`radius` of post-step 'closing' got 200: .* use radius <= 81$"):
        check_step_cost(spec, mask, {"radius": 200})
    check_step_cost(spec, mask, {"radius": 81})  # 2 * 81 + 1 = 163 <= 2 * 50 + 64


def test_sizes_that_only_widen_the_tile_halo_are_not_refused_in_memory():
    # min_size / max_hole_size / max_object_size are pixel counts: larger than the image is a valid request
    from scipy import ndimage as ndi
    from skimage import morphology

    image, truth = seglab.data.blobs((128, 128), seed=3)
    mask = truth > 0
    mask[40:60, 40:60] = True
    kept = seglab.segment(image, "otsu", post=[("remove_small_objects", {"min_size": 5000})]).data
    reference = morphology.remove_small_objects(seglab.segment(image, "otsu").mask, max_size=4999)
    np.testing.assert_array_equal(kept, reference)
    filled = seglab.segment(image, "otsu", post=[("fill_holes", {"max_hole_size": 100_000})]).data
    np.testing.assert_array_equal(filled, ndi.binary_fill_holes(seglab.segment(image, "otsu").mask))
    blobs = mask.astype(np.uint8) * 255
    split = seglab.segment(blobs, "split_touching", max_object_size=1_000_000).data
    np.testing.assert_array_equal(split, seglab.segment(blobs, "split_touching").data)  # not used in memory
    # the tiler still reads a halo that holds such an object (exactness of tiled runs)
    assert seglab.get_step("remove_small_objects", "post").halo({"min_size": 5000, "connectivity": 1}) >= 5000
    # a window parameter is still judged against the image
    with pytest.raises(ParameterError, match=r"`radius` of post-step 'closing' got 300"):
        seglab.segment(image, "otsu", post=[("closing", {"radius": 300})])


def test_int64_guard_runs_before_the_function():
    spec = seglab.get_method("manual")
    with pytest.raises(ParameterError, match="must fit in 64 bits"):
        check_step_cost(spec, np.zeros((4, 4), np.uint8), {"threshold": 2**64, "invert": False})
