"""Decompression bombs, damaged files and failed writes: clear errors, nothing half-written."""

from __future__ import annotations

import os
import stat
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import seglab.io
from seglab._core.errors import DecompressionBombError, ImageReadError, ImageWriteError, ParameterError
from seglab.io import read, write


@pytest.fixture(autouse=True)
def _default_budget(monkeypatch):
    monkeypatch.delenv("SEGLAB_MAX_PIXELS", raising=False)
    seglab.io.set_pixel_budget(None)
    yield
    seglab.io.set_pixel_budget(None)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(path, width=100_000, height=100_000):
    """A valid PNG header declaring width x height 8-bit gray, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def _bomb_tiff(path, side=60_000):
    """A minimal little-endian TIFF declaring side x side uint8 in one (absent) strip."""
    def short(tag, value):
        return struct.pack("<HHIHH", tag, 3, 1, value, 0)

    def long(tag, value):
        return struct.pack("<HHII", tag, 4, 1, value)

    entries = [long(256, side), long(257, side), short(258, 8), short(259, 1), short(262, 1),
               long(273, 200), short(277, 1), long(278, side), long(279, side * side)]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 64)
    return path


# -- pixel budget -----------------------------------------------------------------------------
def test_png_bomb_refused_from_the_header(tmp_path):
    path = _bomb_png(tmp_path / "bomb.png")
    assert path.stat().st_size < 200
    with pytest.raises(
        DecompressionBombError,
        match=r"bomb\.png: declares 100000 x 100000 = 10,000,000,000 pixels, more than the pixel budget of "
        r"1,073,741,824; if you trust the file, raise the budget: read\(\.\.\., max_pixels=10000000000\)",
    ):
        read(path)


def test_tiff_bomb_refused(tmp_path):
    with pytest.raises(DecompressionBombError, match=r"bomb\.tif: declares 60000 x 60000 = 3,600,000,000 pixels"):
        read(_bomb_tiff(tmp_path / "bomb.tif"))


def test_npy_bomb_refused(tmp_path):
    path = tmp_path / "bomb.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<u1", "fortran_order": False, "shape": (100_000, 100_000)})
    with pytest.raises(DecompressionBombError, match=r"bomb\.npy: declares 100000 x 100000 = 10,000,000,000 pixels"):
        read(path)


def test_zarr_bomb_refused_but_lazy_allowed(tmp_path):
    zarr = pytest.importorskip("zarr")
    zarr.create_array(str(tmp_path / "big.zarr"), shape=(100_000, 100_000), chunks=(1000, 1000), dtype="uint8")
    with pytest.raises(DecompressionBombError, match=r"big\.zarr: declares 100000 x 100000"):
        read(tmp_path / "big.zarr")
    assert read(tmp_path / "big.zarr", lazy=True).shape == (100_000, 100_000)


def test_colour_channels_do_not_count_as_pixels(tmp_path):
    path = write(tmp_path / "rgb.png", np.zeros((10, 10, 3), np.uint8))
    assert read(path, max_pixels=100).shape == (10, 10, 3)
    with pytest.raises(DecompressionBombError, match=r"declares 10 x 10 = 100 pixels, more than the pixel budget of 99"):
        read(path, max_pixels=99)


def test_budget_precedence_argument_setter_environment(tmp_path, monkeypatch):
    path = write(tmp_path / "a.png", np.zeros((10, 10), np.uint8))
    monkeypatch.setenv("SEGLAB_MAX_PIXELS", "50")
    assert seglab.io.get_pixel_budget() == 50
    with pytest.raises(DecompressionBombError, match=r"pixel budget of 50;"):
        read(path)
    seglab.io.set_pixel_budget(2e2)
    assert read(path).shape == (10, 10)
    with pytest.raises(DecompressionBombError, match=r"pixel budget of 80;"):
        read(path, max_pixels=80)
    seglab.io.set_pixel_budget(None)
    monkeypatch.setenv("SEGLAB_MAX_PIXELS", "lots")
    with pytest.raises(ParameterError, match=r"environment variable SEGLAB_MAX_PIXELS got 'lots'; expected a positive"):
        read(path)
    with pytest.raises(ParameterError, match=r"`max_pixels` got 0; expected a positive number of pixels"):
        seglab.io.set_pixel_budget(0)


def test_pillow_limit_neither_fires_nor_leaks(tmp_path, monkeypatch):
    path = write(tmp_path / "a.png", np.ones((100, 100), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # Pillow alone would raise its own bomb error
    assert read(path).sum() == 10_000
    assert Image.MAX_IMAGE_PIXELS == 10


# -- damaged and missing files ----------------------------------------------------------------
def test_truncated_png(shared_data, tmp_path):
    data = shared_data("kesm", "grayscale.png").read_bytes()
    (tmp_path / "grayscale.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"grayscale\.png: truncated or corrupt PNG \(.+\)"):
        read(tmp_path / "grayscale.png")


def test_truncated_lzw_tiff(tmp_path, rng):
    import tifffile

    tifffile.imwrite(tmp_path / "lzw.tif", rng.integers(0, 50, (256, 256), dtype=np.uint8), compression="lzw",
                     rowsperstrip=16)
    data = (tmp_path / "lzw.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.tif: truncated or corrupt TIFF \(.+\)"):
        read(tmp_path / "cut.tif")


def test_tiff_cut_before_its_image_directory(shared_data, tmp_path):
    data = shared_data("nuclei", "N2DH-GOWT1", "img", "t01.tif").read_bytes()
    (tmp_path / "t01.tif").write_bytes(data[: len(data) // 2])  # this file keeps its IFD at the end
    with pytest.raises(ImageReadError, match=r"t01\.tif: truncated or corrupt TIFF \(no readable image directory\)"):
        read(tmp_path / "t01.tif")


def test_truncated_npy(tmp_path):
    data = (write(tmp_path / "a.npy", np.zeros((50, 50))).read_bytes())
    (tmp_path / "a.npy").write_bytes(data[:1000])
    with pytest.raises(ImageReadError, match=r"a\.npy: truncated or corrupt \.npy file"):
        read(tmp_path / "a.npy")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.png: empty file \(0 bytes\)"):
        read(tmp_path / "empty.png")


def test_random_bytes_named_tif(tmp_path, rng):
    (tmp_path / "noise.tif").write_bytes(b"\x00\x01" + rng.bytes(500))
    with pytest.raises(ImageReadError, match=r"noise\.tif: not a TIFF file \(it starts with b'\\x00\\x01"):
        read(tmp_path / "noise.tif")


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("hello, this is not an image\n")
    with pytest.raises(ImageReadError, match=r"notes\.png: not a PNG file \(it starts with b'hello, t'"):
        read(tmp_path / "notes.png")


def test_missing_file_suggests_close_names(tmp_path):
    write(tmp_path / "t01.tif", np.zeros((3, 3), np.uint8))
    with pytest.raises(ImageReadError, match=r"t1\.tif: file not found\. Did you mean 't01\.tif'\?"):
        read(tmp_path / "t1.tif")
    with pytest.raises(ImageReadError, match=r"file not found \(the folder .*nowhere does not exist\)"):
        read(tmp_path / "nowhere" / "a.png")


def test_unknown_extension_and_folder(tmp_path):
    (tmp_path / "a.xyz").write_bytes(b"abcdef")
    with pytest.raises(ImageReadError, match=r"a\.xyz: unsupported file type '\.xyz' and unrecognised content; supported: \.bmp"):
        read(tmp_path / "a.xyz")
    with pytest.raises(ImageReadError, match=r"is a folder, not an image file .*use seglab\.read_collection\("):
        read(tmp_path)


# -- atomic writes ----------------------------------------------------------------------------
def test_missing_parent_folder(tmp_path):
    target = tmp_path / "missing" / "out.png"
    with pytest.raises(ImageWriteError, match=r"out\.png: cannot write, the folder .*missing does not exist; create it first"):
        write(target, np.zeros((3, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_parent_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ImageWriteError, match=r"the folder .*file is not a folder"):
        write(tmp_path / "file" / "out.tif", np.zeros((3, 3), np.uint8))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root (or non-POSIX) ignores folder permissions")
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageWriteError, match=r"out\.png: could not write \(permission denied in the folder"):
            write(folder / "out.png", np.zeros((3, 3), np.uint8))
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_failed_encoding_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    import tifffile

    old = np.arange(12, dtype=np.uint8).reshape(3, 4)
    target = write(tmp_path / "out.tif", old)

    def broken_imwrite(fh, *args, **kwargs):
        fh.write(b"II*\x00partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", broken_imwrite)
    with pytest.raises(ImageWriteError, match=r"out\.tif: could not write \(no space left on the device\); nothing was written"):
        write(target, np.zeros((3, 4), np.uint8))
    assert os.listdir(tmp_path) == ["out.tif"]
    np.testing.assert_array_equal(read(target), old)


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    import tifffile

    def broken_imwrite(fh, *args, **kwargs):
        fh.write(b"II*\x00partial")
        raise ValueError("encoder exploded")

    monkeypatch.setattr(tifffile, "imwrite", broken_imwrite)
    with pytest.raises(ImageWriteError, match=r"new\.tif: could not write \(ValueError: encoder exploded\)"):
        write(tmp_path / "new.tif", np.zeros((3, 4), np.uint8))
    assert os.listdir(tmp_path) == []


def test_overwrite_false_keeps_the_existing_file(tmp_path):
    target = write(tmp_path / "a.png", np.full((3, 3), 9, np.uint8))
    with pytest.raises(ImageWriteError, match=r"a\.png: already exists; pass overwrite=True to replace it"):
        write(target, np.zeros((3, 3), np.uint8), overwrite=False)
    np.testing.assert_array_equal(read(target), np.full((3, 3), 9, np.uint8))
    assert os.listdir(tmp_path) == ["a.png"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_file_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = write(tmp_path / "a.npy", np.zeros(3))
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
