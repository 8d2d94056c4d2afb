"""Round trips per format and dtype, documented conversions, and real shared data."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

import seglab
from seglab._core.errors import ConversionWarning, ImageTypeError, ImageWriteError, ParameterError
from seglab.io import read, write


@pytest.mark.parametrize(
    ("name", "dtype", "shape"),
    [
        ("gray8.png", np.uint8, (13, 17)),
        ("gray16.png", np.uint16, (13, 17)),
        ("rgb8.png", np.uint8, (13, 17, 3)),
        ("rgba8.png", np.uint8, (13, 17, 4)),
        ("rgb16.png", np.uint16, (13, 17, 3)),
        ("gray.bmp", np.uint8, (13, 17)),
        ("rgb.bmp", np.uint8, (13, 17, 3)),
        ("gray8.tif", np.uint8, (13, 17)),
        ("gray16.tif", np.uint16, (13, 17)),
        ("float32.tif", np.float32, (13, 17)),
        ("float64.tif", np.float64, (13, 17)),
        ("int16.tif", np.int16, (13, 17)),
        ("labels32.tif", np.uint32, (13, 17)),
        ("rgb.tif", np.uint8, (13, 17, 3)),
        ("stack.tif", np.uint16, (5, 13, 17)),
        ("rgbstack.tif", np.uint8, (4, 13, 17, 3)),
        ("float32.npy", np.float32, (13, 17)),
        ("int64.npy", np.int64, (3, 13, 17)),
    ],
)
def test_round_trip_is_exact(tmp_path, rng, name, dtype, shape):
    if np.dtype(dtype).kind == "f":
        array = rng.normal(0, 1000, shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    if name.startswith("labels32"):
        array[0, 0] = 4_000_000_000  # beyond uint16 and int32
    out = write(tmp_path / name, array)
    assert out == tmp_path / name
    back = read(out)
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_bool_mask_png_is_0_255_and_tif_keeps_bool(tmp_path):
    mask = np.zeros((6, 7), bool)
    mask[1:4, 2:5] = True
    png = read(write(tmp_path / "mask.png", mask))
    assert png.dtype == np.uint8
    np.testing.assert_array_equal(png, np.where(mask, 255, 0))
    np.testing.assert_array_equal(seglab.check_mask(png), mask)
    tif = read(write(tmp_path / "mask.tif", mask))
    assert tif.dtype == bool
    np.testing.assert_array_equal(tif, mask)


def test_int32_labels_to_png_become_uint16_with_equal_values(tmp_path):
    labels = np.array([[0, 1, 2], [300, 65535, 7]], np.int32)
    back = read(write(tmp_path / "labels.png", labels))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, labels)


def test_png_refuses_labels_above_65535_and_suggests_tif(tmp_path):
    labels = np.array([[0, 1], [2, 70000]], np.int32)
    with pytest.raises(ImageWriteError, match=r"labels\.png: values up to 70000 do not fit in a PNG .*save labels as \.tif"):
        write(tmp_path / "labels.png", labels)
    assert os.listdir(tmp_path) == []


def test_png_refuses_floats_and_negative_values(tmp_path):
    with pytest.raises(ImageWriteError, match=r"PNG stores integers, not float32; seglab never rescales"):
        write(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    with pytest.raises(ImageWriteError, match=r"PNG cannot store negative values \(min -3\)"):
        write(tmp_path / "n.png", np.full((4, 4), -3, np.int16))
    assert os.listdir(tmp_path) == []


def test_jpeg_round_trip_is_close_and_only_uint8(tmp_path, blobs_image):
    image, _ = blobs_image
    back = read(write(tmp_path / "blobs.jpg", image))
    assert back.dtype == np.uint8 and back.shape == image.shape
    assert np.abs(back.astype(int) - image).mean() < 3  # quality 95
    with pytest.raises(ImageWriteError, match=r"JPEG stores uint8 only .*got uint16"):
        write(tmp_path / "x.jpeg", image.astype(np.uint16))
    with pytest.raises(ImageWriteError, match=r"JPEG stores uint8 only .*got bool\. Save masks as \.png"):
        write(tmp_path / "x.jpg", image > 100)


def test_png_refuses_a_stack(tmp_path):
    with pytest.raises(ImageWriteError, match=r"a PNG file holds one .* image; got shape \(3, 4, 5\)\. Write stacks"):
        write(tmp_path / "s.png", np.zeros((3, 4, 5), np.uint8))


def test_write_refuses_complex_and_unknown_extension(tmp_path):
    with pytest.raises(ImageTypeError, match=r"`array` has dtype complex128"):
        write(tmp_path / "c.tif", np.zeros((3, 3), complex))
    with pytest.raises(ImageWriteError, match=r"x\.gif: cannot tell the format from the extension '\.gif'"):
        write(tmp_path / "x.gif", np.zeros((3, 3), np.uint8))


def test_palette_png_converted_to_rgb_with_warning(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    image = Image.fromarray(index, mode="P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    image.save(tmp_path / "pal.png")
    with pytest.warns(ConversionWarning, match=r"palette image converted to RGB colours; pass palette='index'"):
        rgb = read(tmp_path / "pal.png")
    expected = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [0, 255, 0]]], np.uint8)
    np.testing.assert_array_equal(rgb, expected)
    np.testing.assert_array_equal(read(tmp_path / "pal.png", palette="index"), index)


def test_palette_with_transparency_becomes_rgba(tmp_path):
    image = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    image.putpalette([10, 20, 30, 40, 50, 60] + [0] * 762)
    image.save(tmp_path / "pal.png", transparency=0)
    with pytest.warns(ConversionWarning, match=r"converted to RGBA colours"):
        rgba = read(tmp_path / "pal.png")
    np.testing.assert_array_equal(rgba, [[[10, 20, 30, 0], [40, 50, 60, 255]]])


def test_gray_alpha_png_drops_alpha_with_warning(tmp_path):
    la = np.dstack([np.array([[5, 6], [7, 8]], np.uint8), np.full((2, 2), 128, np.uint8)])
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    with pytest.warns(ConversionWarning, match=r"la\.png: gray\+alpha image; the alpha channel was dropped"):
        gray = read(tmp_path / "la.png")
    np.testing.assert_array_equal(gray, [[5, 6], [7, 8]])


def test_as_gray_keeps_the_value_range_and_dtype(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 255)
    rgb[0, 1] = (255, 0, 0)
    rgb[1, 0] = (0, 255, 0)
    gray = read(write(tmp_path / "rgb.png", rgb), as_gray=True)
    assert gray.dtype == np.uint8
    np.testing.assert_array_equal(gray, [[255, 54], [182, 0]])  # rint(255 * 0.2125), rint(255 * 0.7154)
    already_gray = np.arange(12, dtype=np.uint16).reshape(3, 4)
    np.testing.assert_array_equal(read(write(tmp_path / "g.tif", already_gray), as_gray=True), already_gray)


def test_one_bit_png_reads_as_bool(tmp_path):
    mask = np.array([[True, False], [False, True]])
    Image.fromarray(mask).save(tmp_path / "bit.png")
    back = read(tmp_path / "bit.png")
    assert back.dtype == bool
    np.testing.assert_array_equal(back, mask)


def test_tiff_pages_with_key(tmp_path, rng):
    stack = rng.integers(0, 255, (4, 6, 5), dtype=np.uint8)
    path = write(tmp_path / "stack.tif", stack)
    np.testing.assert_array_equal(read(path, key=2), stack[2])
    np.testing.assert_array_equal(read(path, key=slice(1, 3)), stack[1:3])
    with pytest.raises(ParameterError, match=r"`key` got 9; .*stack\.tif has 4 page\(s\) \(0 to 3\)"):
        read(path, key=9)


def test_options_for_the_wrong_format_are_refused(tmp_path):
    path = write(tmp_path / "a.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(ParameterError, match=r"`key` selects TIFF pages or a zarr array; .*a\.png is a PNG file"):
        read(path, key=0)
    with pytest.raises(ParameterError, match=r"`mmap_mode` applies to \.npy files; .*a\.png is a PNG file"):
        read(path, mmap_mode="r")
    with pytest.raises(ParameterError, match=r"`palette` got 'rgba'; expected 'rgb' or 'index'"):
        read(path, palette="rgba")


def test_content_decides_the_format_not_the_name(tmp_path):
    array = np.arange(20, dtype=np.uint8).reshape(4, 5)
    write(tmp_path / "real.png", array)
    os.rename(tmp_path / "real.png", tmp_path / "misnamed.tif")
    np.testing.assert_array_equal(read(tmp_path / "misnamed.tif"), array)


def test_npy_mmap_and_refuses_pickles(tmp_path):
    array = np.arange(30, dtype=np.float32).reshape(5, 6)
    path = write(tmp_path / "a.npy", array)
    mapped = read(path, mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, array)
    del mapped
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(seglab.ImageReadError, match=r"obj\.npy: the \.npy file holds Python objects .*does not unpickle"):
        read(tmp_path / "obj.npy")


def test_zarr_round_trip_lazy_and_overwrite(tmp_path, rng):
    zarr = pytest.importorskip("zarr")
    array = rng.integers(0, 70000, (3, 20, 30), dtype=np.uint32)
    path = write(tmp_path / "vol.zarr", array)
    np.testing.assert_array_equal(read(path), array)
    lazy = read(path, lazy=True)
    assert isinstance(lazy, zarr.Array)
    np.testing.assert_array_equal(lazy[1], array[1])
    write(path, array[:1] + 1)
    np.testing.assert_array_equal(read(path), array[:1] + 1)
    assert sorted(os.listdir(tmp_path)) == ["vol.zarr"]  # no temporary or old store left
    with pytest.raises(ImageWriteError, match=r"vol\.zarr: already exists; pass overwrite=True"):
        write(path, array, overwrite=False)


def test_zarr_group_needs_a_key_when_it_holds_several_arrays(tmp_path):
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("raw", shape=(4, 4), dtype="uint8")[...] = 7
    group.create_array("labels", shape=(4, 4), dtype="uint16")[...] = 2
    with pytest.raises(seglab.ImageReadError, match=r"holds 2 arrays \(labels, raw\); choose one with key="):
        read(tmp_path / "g.zarr")
    np.testing.assert_array_equal(read(tmp_path / "g.zarr", key="raw"), np.full((4, 4), 7, np.uint8))
    with pytest.raises(seglab.ImageReadError, match=r"no array 'rwa' in the zarr group\. Did you mean 'raw'\?"):
        read(tmp_path / "g.zarr", key="rwa")


# -- real data --------------------------------------------------------------------------------
def test_kesm_tile(shared_data):
    image = read(shared_data("kesm", "grayscale.png"))
    assert image.shape == (512, 512)
    assert image.dtype == np.uint8
    assert np.unique(image).size == 217


def test_lzw_tiffs(shared_data):
    gowt1 = read(shared_data("nuclei", "N2DH-GOWT1", "img", "t01.tif"))
    assert gowt1.shape == (1024, 1024) and gowt1.dtype == np.uint8
    hela = read(shared_data("nuclei", "N2DL-HeLa", "img", "t13.tif"))
    assert hela.shape == (700, 1100) and hela.dtype == np.uint16
    assert hela.max() > 255  # 16-bit values kept, not rescaled
    import tifffile

    np.testing.assert_array_equal(hela, tifffile.imread(shared_data("nuclei", "N2DL-HeLa", "img", "t13.tif")))


def test_real_png_rewritten_is_byte_identical_in_values(shared_data, tmp_path):
    image = read(shared_data("kesm", "groundtruth.png"))
    np.testing.assert_array_equal(read(write(tmp_path / "gt.tif", image)), image)


def test_planar_rgb_tiff_comes_back_channels_last(tmp_path, rng):
    import tifffile

    planar = rng.integers(0, 255, (3, 6, 7), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read(tmp_path / "planar.tif"), np.moveaxis(planar, 0, -1))
