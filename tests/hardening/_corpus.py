"""The bad-input corpus: files built into a folder by code (nothing committed), and the argv to run on them.

Each :class:`Case` builds its inputs under a folder ``root`` and returns the ``seglab`` argv. The
expectations are what a user cares about: the exit code, how many ``seglab: error:`` lines (one per
failed input), a pattern the error must match, and which outputs must (not) exist afterwards.

Kinds covered (see ``KINDS`` at the bottom): truncated/corrupt PNG, TIFF, JPEG, BMP, npy, zarr; wrong
dtypes; empty and tiny images; declared sizes over the pixel and byte budgets; NaN/inf; palette, RGBA,
gray+alpha, 2-channel; 4-D/5-D arrays; bad YAML/JSON pipelines (tags, alias bombs, deep nesting, wrong
types, oversized); bad JSON seeds; bad parameters (negative, huge, NaN, wrong type, unknown, 10**30);
special files (FIFO, character device, folder, symlink loop, broken link, unreadable); odd names
(non-UTF-8, 240 characters, too long); outputs that cannot be written (/proc, a file, /dev/null); a batch
with bad files in the middle; front-end usage errors; valid edge inputs that must work end to end.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RNG = np.random.default_rng(20261202)


@dataclass
class Case:
    """One corpus entry run through ``seglab.cli.main.main(argv)``."""

    id: str
    kind: str
    build: Callable[[Path], list[str]]
    code: int = 2
    errors: int = 1
    match: str | None = None
    outputs: tuple[str, ...] = ()      # files that must exist in root/"out" afterwards
    warnings_ok: bool = True
    needs: str | None = None           # "nonroot": skipped as root; "fifo": needs os.mkfifo
    xfail: str | None = None
    memory: bool = False               # run in the RLIMIT_AS child process, not in-process
    extra: dict = field(default_factory=dict)


# -- file builders --------------------------------------------------------------------------------
def blobs(shape=(48, 64), dtype=np.uint8) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.where((rows - shape[0] // 2) ** 2 + (cols - shape[1] // 2) ** 2 < (min(shape) // 3) ** 2, 180, 50)
    image = image + RNG.integers(0, 20, shape)
    return image.astype(dtype)


def write_png(path: Path, array: np.ndarray, **pil) -> Path:
    from PIL import Image

    Image.fromarray(array, **pil).save(path, format="PNG")
    return path


def write_pil(path: Path, array: np.ndarray, fmt: str) -> Path:
    from PIL import Image

    Image.fromarray(array).save(path, format=fmt)
    return path


def write_tif(path: Path, array: np.ndarray, **options) -> Path:
    import tifffile

    tifffile.imwrite(path, array, **options)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(path: Path, width: int, height: int, *, bit_depth=8, colour=0, idat=b"") -> Path:
    """A PNG whose IHDR declares width x height, with (almost) no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    body = idat or zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body)
                     + png_chunk(b"IEND", b""))
    return path


def tif_declaring(path: Path, width: int, height: int, array: np.ndarray, **options) -> Path:
    """A small TIFF whose first page's tags are patched to declare width x height."""
    import tifffile

    tifffile.imwrite(path, array, **options)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        page = tif.pages[0]
        page.tags["ImageWidth"].overwrite(width)
        page.tags["ImageLength"].overwrite(height)
        if "RowsPerStrip" in page.tags:
            page.tags["RowsPerStrip"].overwrite(height)
    return path


def bmp_declaring(path: Path, width: int, height: int) -> Path:
    write_pil(path, blobs((8, 8)), "BMP")
    data = bytearray(path.read_bytes())
    data[18:22] = struct.pack("<i", width)
    data[22:26] = struct.pack("<i", height)
    path.write_bytes(bytes(data))
    return path


def jpeg_declaring(path: Path, width: int, height: int) -> Path:
    write_pil(path, blobs((16, 16)), "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 7] = struct.pack(">H", height)
    data[sof + 7: sof + 9] = struct.pack(">H", width)
    path.write_bytes(bytes(data))
    return path


def npy_declaring(path: Path, shape, dtype="<u1") -> Path:
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 64)
    return path


def truncated(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * fraction))])
    return path


def garbled(path: Path, start: int) -> Path:
    data = bytearray(path.read_bytes())
    for i in range(start, len(data)):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))
    return path


def text(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def good_png(root: Path, name: str = "good.png", shape=(48, 64)) -> Path:
    return write_png(root / name, blobs(shape))


def seg(*inputs, method="otsu", extra=()) -> list[str]:
    return ["segment", *map(str, inputs), "--method", method, *extra, "--out", "OUT"]


BILLION_LAUGHS = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    + ["method: otsu", "pre: *l9"]
) + "\n"


# -- the table ------------------------------------------------------------------------------------
def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(id, kind, build, **kw):
        cases.append(Case(id, kind, build, **kw))

    # ---- corrupt and truncated files, per format ----
    fmts = {
        "png": lambda p: write_png(p, blobs()),
        "tif": lambda p: write_tif(p, blobs(), compression="zlib"),
        "jpg": lambda p: write_pil(p, blobs(), "JPEG"),
        "bmp": lambda p: write_pil(p, blobs(), "BMP"),
        "npy": lambda p: (np.save(p, blobs()), p)[1],
    }
    for ext, make in fmts.items():
        for frac in (0.9, 0.5, 0.1):
            add(f"truncated-{ext}-{int(frac * 100)}", "truncated",
                lambda r, ext=ext, make=make, frac=frac: seg(truncated(make(r / f"t.{ext}"), frac)),
                match=r"t\.%s: " % ext)
        add(f"garbled-{ext}", "corrupt", lambda r, ext=ext, make=make: seg(garbled(make(r / f"g.{ext}"), 12)),
            match=r"g\.%s: " % ext)
        add(f"magic-only-{ext}", "corrupt",
            lambda r, ext=ext, make=make: seg(truncated(make(r / f"m.{ext}"), 0.0)), match=r"m\.%s: " % ext)
        add(f"empty-{ext}", "0-size", lambda r, ext=ext: seg(text(r / f"e.{ext}", b"")), match="empty file")
        add(f"text-named-{ext}", "corrupt", lambda r, ext=ext: seg(text(r / f"x.{ext}", "hello, not an image\n")),
            match=f"not a|unrecognised")
    add("jpeg-named-png-reads", "valid", lambda r: seg(write_pil(r / "j.png", blobs(), "JPEG")), code=0, errors=0,
        outputs=("j.mask.png", "j.json"))
    add("png-bad-crc", "corrupt", lambda r: seg(_bad_crc(write_png(r / "c.png", blobs()))), match="c.png")
    add("tiff-bad-ifd-offset", "corrupt", lambda r: seg(_bad_ifd(write_tif(r / "i.tif", blobs()))), match="i.tif")
    add("tiff-unknown-compression", "corrupt",
        lambda r: seg(_patch_tag(write_tif(r / "u.tif", blobs()), "Compression", 12345)), match="u.tif")
    add("npy-pickled-objects", "dtype", lambda r: seg(_npy_object(r / "o.npy")), match="Python objects")
    add("npy-bad-header", "corrupt", lambda r: seg(text(r / "h.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}   \n")),
        match="h.npy")
    add("npy-fortran-truncated", "truncated", lambda r: seg(truncated(_npy(r / "f.npy", np.asfortranarray(blobs())), 0.6)),
        match="f.npy")
    add("zarr-corrupt-metadata", "corrupt", lambda r: seg(_zarr_bad_meta(r / "z.zarr")), match="z.zarr")
    add("zarr-corrupt-chunk", "corrupt", lambda r: seg(_zarr_bad_chunk(r / "c.zarr")), match="c.zarr")
    add("zarr-empty-group", "corrupt", lambda r: seg(_zarr_group(r / "g.zarr")), match="holds 0 arrays")

    # ---- dtypes ----
    add("uint32-wide-range", "dtype", lambda r: seg(_npy(r / "w.npy", RNG.integers(0, 2**32 - 1, (64, 64), dtype=np.uint32))),
        match="histogram bin per integer level")
    add("uint32-tif-wide-range", "dtype",
        lambda r: seg(write_tif(r / "w.tif", RNG.integers(0, 2**32 - 1, (64, 64), dtype=np.uint32)), method="li"),
        match="histogram bin per integer level")
    add("int64-wide-range", "dtype", lambda r: seg(_npy(r / "w.npy", RNG.integers(-2**62, 2**62, (32, 32), dtype=np.int64)), method="yen"),
        match="histogram bin")
    add("uint64-huge-values", "dtype",
        lambda r: seg(_npy(r / "w.npy", np.full((32, 32), 2**63, np.uint64) + RNG.integers(0, 2**40, (32, 32)).astype(np.uint64))),
        match="histogram bin")
    add("uint32-narrow-range-works", "valid", lambda r: seg(_npy(r / "n.npy", blobs(dtype=np.uint32))), code=0, errors=0,
        outputs=("n.mask.png",))
    add("uint32-wide-sobel-works", "valid",
        lambda r: seg(_npy(r / "s.npy", RNG.integers(0, 2**32 - 1, (32, 32), dtype=np.uint32)), method="sobel"),
        code=0, errors=0, outputs=("s.edges.tif",))
    add("complex-npy", "dtype", lambda r: seg(_npy(r / "c.npy", blobs().astype(np.complex64))), match="complex")
    add("bool-npy", "dtype", lambda r: seg(_npy(r / "b.npy", blobs() > 100)), match="boolean")
    add("bool-tif", "dtype", lambda r: seg(write_tif(r / "b.tif", blobs() > 100)), match="boolean")
    add("1bit-png", "dtype", lambda r: seg(write_png(r / "b.png", blobs() > 100)), match="boolean")
    add("float16-npy-works", "valid", lambda r: seg(_npy(r / "h.npy", blobs().astype(np.float16))), code=0, errors=0)
    add("int8-negative-works", "valid", lambda r: seg(_npy(r / "i.npy", (blobs().astype(np.int16) - 128).astype(np.int8))),
        code=0, errors=0)
    add("structured-npy", "dtype",
        lambda r: seg(_npy(r / "s.npy", np.zeros((8, 8), dtype=[("a", "u1"), ("b", "f4")]))), match="dtype")
    add("string-npy", "dtype", lambda r: seg(_npy(r / "u.npy", np.full((8, 8), "ab"))), match="dtype")
    add("datetime-npy", "dtype", lambda r: seg(_npy(r / "d.npy", np.zeros((8, 8), "datetime64[s]"))), match="dtype datetime64")

    # ---- sizes ----
    add("png-1x1", "size", lambda r: seg(write_png(r / "p.png", np.array([[7]], np.uint8))), match="too small")
    add("npy-1x1", "size", lambda r: seg(_npy(r / "p.npy", np.array([[7]], np.uint8))), match="too small")
    add("npy-0x5", "0-size", lambda r: seg(_npy(r / "z.npy", np.zeros((0, 5), np.uint8))), match="empty")
    add("npy-1d", "size", lambda r: seg(_npy(r / "v.npy", np.arange(10, dtype=np.uint8))), match="dimension")
    add("npy-scalar", "size", lambda r: seg(_npy(r / "s.npy", np.array(3, np.uint8))), match="dimension")
    add("png-1x500", "size", lambda r: seg(write_png(r / "l.png", blobs((1, 500)))), match="too small")
    add("png-2x2-works", "valid", lambda r: seg(write_png(r / "t.png", np.array([[0, 255], [255, 0]], np.uint8))),
        code=0, errors=0, outputs=("t.mask.png",))
    for name, build in {
        "png-declares-100k": lambda r: png_declaring(r / "b.png", 100_000, 100_000),
        "png-declares-max": lambda r: png_declaring(r / "b.png", 2**31 - 1, 2**31 - 1),
        "png16-declares-40k": lambda r: png_declaring(r / "b.png", 40_000, 40_000, bit_depth=16, colour=2),
        "tif-declares-100k": lambda r: tif_declaring(r / "b.tif", 100_000, 100_000, blobs()),
        "bmp-declares-60k": lambda r: bmp_declaring(r / "b.bmp", 60_000, 60_000),
        "jpeg-declares-65k": lambda r: jpeg_declaring(r / "b.jpg", 65_000, 65_000),
        "npy-declares-1e12": lambda r: npy_declaring(r / "b.npy", (1_000_000, 1_000_000)),
        "npy-declares-stack": lambda r: npy_declaring(r / "b.npy", (5000, 5000, 5000)),
    }.items():
        add(name, "huge-declared", lambda r, build=build: seg(build(r)), match="pixel budget")
    add("tif-float32-rgb-at-pixel-budget", "huge-declared",
        lambda r: seg(tif_declaring(r / "f.tif", 32768, 32768, np.zeros((64, 64, 3), np.float32), photometric="rgb",
                                    compression="zlib")),
        match=r"decodes to 32768 x 32768 x 3 float32 = 12\.0 GiB")
    add("npy-float64-under-pixel-over-bytes", "huge-declared",
        lambda r: seg(npy_declaring(r / "f.npy", (30000, 30000), "<f8")), match="decoded-size budget")
    add("tif-huge-declared-memory-limited", "huge-declared",
        lambda r: seg(tif_declaring(r / "m.tif", 40000, 40000, blobs())), match="pixel budget|memory", memory=True)
    add("npy-bytes-memory-limited", "huge-declared",
        lambda r: seg(npy_declaring(r / "m.npy", (20000, 30000), "<f4")), match="decod|memory", memory=True)

    # ---- values ----
    add("nan-npy", "nan", lambda r: seg(_npy(r / "n.npy", _with(blobs().astype(np.float32), np.nan))), match="NaN")
    add("inf-npy", "nan", lambda r: seg(_npy(r / "i.npy", _with(blobs().astype(np.float64), np.inf))), match="infinite")
    add("neg-inf-tif", "nan", lambda r: seg(write_tif(r / "i.tif", _with(blobs().astype(np.float32), -np.inf))),
        match="infinite")
    add("all-nan-tif", "nan", lambda r: seg(write_tif(r / "a.tif", np.full((16, 16), np.nan, np.float32))), match="NaN")
    add("constant-image-works", "valid", lambda r: seg(write_png(r / "k.png", np.full((16, 16), 9, np.uint8))),
        code=0, errors=0, outputs=("k.mask.png",))
    add("float-huge-values-works", "valid", lambda r: seg(_npy(r / "h.npy", blobs().astype(np.float64) * 1e100)),
        code=0, errors=0)

    # ---- channels ----
    add("palette-png-gray-method", "channels",
        lambda r: seg(_palette(r / "p.png")), match="colour.*grayscale")
    add("palette-png-with-grayscale-works", "valid", lambda r: seg(_palette(r / "p.png"), extra=("--pre", "grayscale")),
        code=0, errors=0, outputs=("p.mask.png",))
    add("rgba-png-gray-method", "channels", lambda r: seg(write_png(r / "a.png", _rgba())), match="grayscale")
    add("rgba-png-with-grayscale-works", "valid", lambda r: seg(write_png(r / "a.png", _rgba()), extra=("--pre", "grayscale")),
        code=0, errors=0)
    add("gray-alpha-png-works", "valid", lambda r: seg(write_png(r / "la.png", np.dstack([blobs(), blobs()]), mode="LA")),
        code=0, errors=0)
    # channel_axis='auto' reads (M, N, 2) and (M, N, 5) as volumes of M planes (documented policy); they run
    add("two-channel-npy-is-volume", "channels", lambda r: seg(_npy(r / "c.npy", np.dstack([blobs(), blobs()]))),
        code=0, errors=0, outputs=("c.mask.tif",))
    add("five-channel-npy-is-volume", "channels", lambda r: seg(_npy(r / "c.npy", np.dstack([blobs()] * 5))),
        code=0, errors=0, outputs=("c.mask.tif",))
    add("two-channel-npy-2d-method", "channels",
        lambda r: seg(_npy(r / "c.npy", np.dstack([blobs(), blobs()])), method="felzenszwalb"), match="2-D")
    add("rgb-to-colour-method-works", "valid", lambda r: seg(write_png(r / "c.png", np.dstack([blobs()] * 3)), method="slic"),
        code=0, errors=0, outputs=("c.labels.tif",))
    add("cmyk-jpeg-works", "valid", lambda r: seg(_cmyk(r / "k.jpg"), extra=("--pre", "grayscale")), code=0, errors=0)
    add("planar-rgb-tif-works", "valid",
        lambda r: seg(write_tif(r / "p.tif", np.stack([blobs()] * 3), photometric="rgb", planarconfig="separate"),
                      extra=("--pre", "grayscale")), code=0, errors=0)

    # ---- dimensions ----
    add("stack-3d-tif-works", "valid", lambda r: seg(write_tif(r / "s.tif", np.stack([blobs()] * 3), photometric="minisblack")), code=0, errors=0,
        outputs=("s.mask.tif", "s.json"))
    add("stack-3d-npy-works", "valid", lambda r: seg(_npy(r / "s.npy", np.stack([blobs()] * 4))), code=0, errors=0,
        outputs=("s.mask.tif",))
    add("stack-3d-labels-works", "valid",
        lambda r: seg(write_tif(r / "s.tif", np.stack([blobs()] * 3), photometric="minisblack"), method="connected_components"), code=0, errors=0,
        outputs=("s.labels.tif",))
    add("stack-3d-2d-only-method", "dims", lambda r: seg(write_tif(r / "s.tif", np.stack([blobs()] * 3), photometric="minisblack"), method="felzenszwalb"),
        match="2-D")
    add("4d-colour-stack-needs-gray", "dims", lambda r: seg(_npy(r / "q.npy", np.stack([np.dstack([blobs()] * 3)] * 2))),
        match="grayscale")
    add("4d-nonchannel-npy", "dims", lambda r: seg(_npy(r / "q.npy", np.zeros((2, 3, 8, 8), np.uint8))), match="channels|dimensions")
    add("5d-npy", "dims", lambda r: seg(_npy(r / "f.npy", np.zeros((2, 2, 2, 8, 8), np.uint8))), match="dimensions")
    add("5d-tif", "dims", lambda r: seg(write_tif(r / "f.tif", np.zeros((2, 2, 2, 8, 8), np.uint8), imagej=False)),
        match="dimensions")
    add("6d-npy", "dims", lambda r: seg(_npy(r / "s.npy", np.zeros((1, 2, 1, 2, 4, 4), np.uint8))), match="dimensions")

    # ---- pipelines (YAML/JSON) ----
    yaml_cases = {
        "yaml-python-tag": ("!!python/object/apply:os.system ['echo hacked']\n", "Python tags"),
        "yaml-python-name-tag": ("method: !!python/name:os.system\n", "Python tags"),
        "yaml-billion-laughs": (BILLION_LAUGHS, "billion laughs|aliases"),
        "yaml-many-aliases": ("a: &a otsu\nlist: [" + ", ".join(["*a"] * 400) + "]\nmethod: otsu\n", "aliases"),
        "yaml-deep-5000": ("method: otsu\npre: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        "yaml-deep-block": ("method: otsu\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 120)) + "  " * 120 + "v\n",
                            "nested"),
        "yaml-syntax": ("method: [otsu\n", "invalid YAML"),
        "yaml-tab-indent": ("method:\n\tname: otsu\n", "invalid YAML"),
        "yaml-empty": ("", "empty"),
        "yaml-scalar-doc": ("otsu\n", "mapping"),
        "yaml-list-doc": ("- otsu\n", "mapping"),
        "yaml-method-int": ("method: 5\n", "cannot read 5 as a method"),
        "yaml-method-unknown": ("method: otsuu\n", "Did you mean 'otsu'"),
        "yaml-params-list": ("method: {name: local, params: [35, 2]}\n", "params of method"),
        "yaml-params-string": ("method: {name: local, params: block_size=35}\n", "params of method"),
        "yaml-pre-mapping-of-lists": ("method: otsu\npre: [{name: median, params: [3]}]\n", "params of pre-step"),
        "yaml-unknown-key": ("method: otsu\nprost: [fill_holes]\n", "Did you mean 'post'"),
        "yaml-unknown-param": ("method: {name: local, params: {blok_size: 35}}\n", "block_size"),
        "yaml-param-huge": ("method: {name: local, params: {block_size: 1000000000000000000000000000001}}\n",
                            "block_size"),
        "yaml-param-nan": ("method: {name: local, params: {offset: .nan}}\n", "offset"),
        "yaml-param-inf": ("method: {name: local, params: {offset: .inf}}\n", "offset"),
        "yaml-param-bool-for-int": ("method: {name: local, params: {block_size: true}}\n", "block_size"),
        "yaml-param-list-for-int": ("method: {name: local, params: {block_size: [1, 2]}}\n", "block_size"),
        "yaml-param-map-for-str": ("method: {name: local, params: {method: {a: 1}}}\n", "method"),
        "yaml-pre-int": ("method: otsu\npre: [5]\n", "pre-step"),
        "yaml-post-wrong-kind": ("method: sobel\npost: [fill_holes]\n", "takes mask"),
        "yaml-duplicate-doc": ("method: otsu\n---\nmethod: li\n", "invalid YAML"),
        "yaml-huge-string-param": ("method: {name: local, params: {method: " + "x" * 200_000 + "}}\n", "method"),
        "yaml-binary-tag": ("method: !!binary aGVsbG8=\n", "cannot read b'hello'"),
        "yaml-set-tag": ("method: !!set {otsu}\n", "cannot read {'otsu'}"),
    }
    for name, (content, pattern) in yaml_cases.items():
        add(name, "yaml", lambda r, content=content: ["segment", str(good_png(r)), "--pipeline",
                                                       str(text(r / "p.yaml", content)), "--out", "OUT"],
            match=pattern)
    add("yaml-non-utf8", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                            str(text(r / "p.yaml", b"method: \xff\xfe otsu\n")), "--out", "OUT"],
        match="UTF-8")
    add("yaml-oversized", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                             str(text(r / "p.yaml", "method: otsu\n" + "# pad\n" * 300_000)), "--out", "OUT"],
        match="limit")
    add("yaml-wrong-extension", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                                   str(text(r / "p.txt", "method: otsu\n")), "--out", "OUT"],
        match="yaml")
    add("yaml-pipeline-is-folder", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline", str(_dir(r / "d.yaml")),
                                                      "--out", "OUT"], match="folder")
    add("yaml-pipeline-missing", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline", str(r / "nope.yaml"),
                                                    "--out", "OUT"], match="not found")
    add("yaml-anchor-under-unknown-key", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                                           str(text(r / "p.yaml", "p: &p {size: 3}\npre: [{name: median, params: *p}]\n"
                                                                                  "method: otsu\n")), "--out", "OUT"],
        match="unknown pipeline key 'p'")
    add("yaml-valid-anchors-work", "valid", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                                      str(text(r / "p.yaml", "seglab: {p: &p {size: 3}}\n"
                                                                             "pre: [{name: median, params: *p}]\nmethod: otsu\n")),
                                                      "--out", "OUT"],
        code=0, errors=0, outputs=("good.mask.png",))
    add("seeds-huge-radius", "seeds", lambda r: seg(good_png(r), method="random_walker", extra=("--seeds-json", str(text(
        r / "s.json", '{"seeds": [{"class": 1, "circle": [5, 5, 1e300]}, {"class": 2, "points": [[1, 1]]}]}')))),
        code=0, errors=0, outputs=("good.labels.tif",))
    add("seeds-huge-width", "seeds", lambda r: seg(good_png(r), method="random_walker", extra=("--seeds-json", str(text(
        r / "s.json", '{"seeds": [{"class": 1, "polyline": [[1, 1], [5, 5]], "width": 1000000001}, '
                      '{"class": 2, "points": [[40, 60]]}]}')))), code=0, errors=0, outputs=("good.labels.tif",))
    json_cases = {
        "json-syntax": ('{"method": "otsu",}', "invalid JSON"),
        "json-deep": ('{"method": "otsu", "pre": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
        "json-huge-int": ('{"method": {"name": "local", "params": {"block_size": ' + "9" * 5000 + "}}}", "JSON|block_size"),
        "json-nan-param": ('{"method": {"name": "local", "params": {"offset": NaN}}}', "offset"),
        "json-params-list": ('{"method": {"name": "local", "params": [1]}}', "params of method"),
        "json-top-list": ('["otsu"]', "mapping"),
        "json-null": ("null", "empty"),
        "json-bom": ("\ufeff{\"method\": \"otsu\"}", "JSON"),
        "json-method-object": ('{"method": {"nam": "otsu"}}', "name"),
        "json-1e400": ('{"method": {"name": "local", "params": {"offset": 1e400}}}', "offset"),
    }
    for name, (content, pattern) in json_cases.items():
        add(name, "json", lambda r, content=content: ["segment", str(good_png(r)), "--pipeline",
                                                       str(text(r / "p.json", content)), "--out", "OUT"],
            match=pattern)

    # ---- seeds JSON (random_walker) ----
    seeds_cases = {
        "seeds-invalid-json": ("{seeds: [}", "JSON"),
        "seeds-deep": ("[" * 3000 + "]" * 3000, "nested"),
        "seeds-wrong-type": ('{"seeds": "everywhere"}', "seeds"),
        "seeds-empty": ('{"seeds": []}', "seed|class"),
        "seeds-outside-image": ('{"seeds": [{"class": 1, "points": [[1000, 1000]]}, {"class": 2, "points": [[1, 1]]}]}',
                                "outside|inside|image"),
        "seeds-nan-point": ('{"seeds": [{"class": 1, "points": [[NaN, 1]]}, {"class": 2, "points": [[1, 1]]}]}',
                            "points: expected"),
        "seeds-class-string": ('{"seeds": [{"class": "a", "points": [[1, 1]]}]}', "class"),
    }
    for name, (content, pattern) in seeds_cases.items():
        add(name, "seeds", lambda r, content=content: seg(good_png(r), method="random_walker",
                                                           extra=("--seeds-json", str(text(r / "s.json", content)))),
            match=pattern)
    add("seeds-fifo", "special", lambda r: seg(good_png(r), method="random_walker", extra=("--seeds-json", str(_fifo(r / "s.json")))),
        match="named pipe", needs="fifo")
    add("seeds-missing", "seeds", lambda r: seg(good_png(r), method="random_walker", extra=("--seeds-json", str(r / "no.json"))),
        match="does not exist|not found")
    add("seeds-required", "seeds", lambda r: seg(good_png(r), method="random_walker"), match="needs `seeds`")
    add("contour-bad", "seeds", lambda r: seg(good_png(r), method="active_contour", extra=("--contour", "1,2")),
        match="contour|ROW")
    add("contour-nan", "seeds", lambda r: seg(good_png(r), method="active_contour", extra=("--contour", "nan,2,3")),
        match="finite|contour")
    add("rect-negative", "seeds", lambda r: seg(good_png(r), method="grabcut", extra=("--rect", "-5,-5,3,3")),
        match="rect")
    add("rect-huge", "seeds", lambda r: seg(good_png(r), method="grabcut", extra=("--rect", "0,0,99999999999999999999,5")),
        match="rect")

    # ---- parameters ----
    param_cases = {
        "param-negative-size": ("otsu", ("--pre", "median:size=-3"), "size"),
        "param-even-size": ("otsu", ("--pre", "median:size=4"), "odd"),
        "param-huge-radius": ("otsu", ("--post", "closing:radius=1000000000"), "radius"),
        "param-radius-over-image": ("otsu", ("--post", "closing:radius=500"), "radius.*use radius <="),
        "param-huge-block-size": ("local", ("--param", "block_size=1000000001"), "block_size"),
        "param-block-size-over-image": ("local", ("--param", "block_size=1001"), "use block_size <="),
        "param-huge-sigma": ("otsu", ("--pre", "gaussian:sigma=1e9"), "sigma"),
        "param-sigma-over-image": ("otsu", ("--pre", "gaussian:sigma=400"), "use sigma <="),
        "param-nan": ("local", ("--param", "offset=nan"), "offset"),
        "param-inf": ("local", ("--param", "offset=inf"), "offset"),
        "param-neg-inf": ("local", ("--param", "offset=-inf"), "offset"),
        "param-1e30-int": ("felzenszwalb", ("--param", "min_size=1e30"), "min_size"),
        "param-10pow30-int": ("felzenszwalb", ("--param", "min_size=" + "1" + "0" * 30), "min_size"),
        "param-5000-digit-int": ("felzenszwalb", ("--param", "min_size=" + "9" * 5000), "min_size"),
        "param-rng-beyond-int64": ("kmeans", ("--param", "rng=" + str(2**70)), "rng"),
        "param-grabcut-rng-beyond-int": ("grabcut", ("--rect", "5,5,30,40", "--param", "rng=" + str(2**40)), "rng"),
        "param-wrong-type": ("local", ("--param", "block_size=big"), "block_size"),
        "param-float-for-int": ("local", ("--param", "block_size=35.5"), "block_size"),
        "param-unknown": ("local", ("--param", "blocksize=35"), "Did you mean 'block_size'"),
        "param-no-equals": ("local", ("--param", "block_size"), "KEY=VALUE"),
        "param-empty-value": ("local", ("--param", "block_size="), "block_size"),
        "param-bad-choice": ("local", ("--param", "method=gausian"), "Did you mean 'gaussian'"),
        "param-huge-value-echo": ("local", ("--param", "method=" + "y" * 100_000), "method"),
        "param-n-segments-huge": ("slic", ("--param", "n_segments=" + str(10**12)), "n_segments"),
        "param-min-distance-huge": ("split_touching", ("--param", "min_distance=1000000000"), "min_distance"),
        "param-iterations-huge": ("morphological_chan_vese", ("--param", "num_iter=10000000000"), "num_iter"),
        "param-quickshift-kernel": ("quickshift", ("--param", "kernel_size=1e9"), "kernel_size"),
        "param-clahe-kernel-huge": ("otsu", ("--pre", "equalize_adapthist:kernel_size=1000000000"), "kernel_size"),
        "param-pre-unknown-step": ("otsu", ("--pre", "medain"), "Did you mean 'median'"),
        "param-pre-bad-kv": ("otsu", ("--pre", "median:size"), "KEY=VALUE"),
        "param-post-unknown": ("otsu", ("--post", "fill_hole"), "Did you mean 'fill_holes'"),
        "param-bool-word": ("otsu", ("--param", "invert=maybe"), "invert"),
        "param-percentile-order": ("otsu", ("--pre", "rescale_intensity:low_percentile=90,high_percentile=10"),
                                   "percentile"),
        "param-hysteresis-order": ("hysteresis", ("--param", "low=200", "--param", "high=10"), "low"),
        "method-unknown": ("otsuu", (), "Did you mean 'otsu'"),
        "method-empty": ("", (), "unknown method|missing"),
    }
    for name, (method, extra, pattern) in param_cases.items():
        add(name, "params", lambda r, method=method, extra=extra: seg(good_png(r), method=method, extra=extra),
            match=pattern)

    # ---- special files and paths ----
    add("fifo-input", "special", lambda r: seg(_fifo(r / "f.png")), match="named pipe", needs="fifo")
    add("fifo-npy-input", "special", lambda r: seg(_fifo(r / "f.npy")), match="named pipe", needs="fifo")
    add("fifo-pipeline", "special", lambda r: ["segment", str(good_png(r)), "--pipeline", str(_fifo(r / "p.yaml")),
                                               "--out", "OUT"], match="named pipe", needs="fifo")
    add("char-device-input", "special", lambda r: seg("/dev/zero"), match="character device")
    add("dev-null-input", "special", lambda r: seg("/dev/null"), match="character device")
    add("empty-folder-input", "special", lambda r: seg(_dir(r / "empty")), match="no image files")
    add("folder-named-png", "special", lambda r: seg(_dir(r / "d.png")), match="no image files|folder")
    add("symlink-loop", "special", lambda r: seg(_loop(r / "self.png")), match="symbolic link loop")
    add("symlink-cycle-pair", "special", lambda r: seg(_cycle(r)), match="symbolic link loop")
    add("broken-symlink", "special", lambda r: seg(_broken(r / "gone.png")), match="broken symbolic link")
    add("symlink-to-good-works", "valid", lambda r: seg(_link(good_png(r), r / "ln.png")), code=0, errors=0,
        outputs=("ln.mask.png",))
    add("unreadable-file", "special", lambda r: seg(_chmod(good_png(r, "u.png"), 0)), match="permission", needs="nonroot")
    add("missing-file", "special", lambda r: seg(r / "nope.png"), match="not found")
    add("missing-file-close-match", "special", lambda r: (good_png(r, "image.png"), seg(r / "imgae.png"))[1],
        match="Did you mean 'image.png'")
    add("missing-folder", "special", lambda r: seg(r / "no" / "x.png"), match="does not exist")
    add("glob-no-match", "special", lambda r: seg(str(r / "*.nothing")), match="no file matches")
    add("path-through-file", "special", lambda r: seg(good_png(r) / "x.png"), match="not found|not a folder|x.png")
    add("name-non-utf8-works", "valid", lambda r: seg(_non_utf8(r)), code=0, errors=0)
    add("name-non-utf8-corrupt", "names", lambda r: seg(truncated(_non_utf8(r), 0.3)), match="PNG")
    add("name-240-chars-works", "valid", lambda r: seg(good_png(r, "n" * 236 + ".png")), code=0, errors=0,
        outputs=("n" * 236 + ".mask.png", "n" * 236 + ".overlay.png", "n" * 236 + ".json"))
    add("name-250-chars-output-too-long", "names", lambda r: seg(good_png(r, "n" * 246 + ".png")),
        match="could not write|too long")
    add("name-too-long", "names", lambda r: seg(r / ("x" * 300 + ".png")), match="too long")
    add("name-with-newline", "names", lambda r: seg(truncated(good_png(r, "a\nb.png"), 0.5)), match="PNG")
    add("name-unicode-works", "valid", lambda r: seg(good_png(r, "żółw 🐢.png")), code=0, errors=0,
        outputs=("żółw 🐢.mask.png",))
    add("name-dash-works", "valid", lambda r: ["segment", "--method", "otsu", "--out", "OUT", "--", str(good_png(r, "-x.png"))],
        code=0, errors=0)

    # ---- outputs ----
    add("out-under-proc", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", "/proc/seglab-x/out"],
        match="cannot create output folder", extra={"out": None})
    add("out-is-proc", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", "/proc"],
        match="not writable|could not write|permission|/proc", extra={"out": None})
    add("out-is-file", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", str(good_png(r, "f.png"))],
        match="not a folder|File exists|cannot create", extra={"out": None})
    add("out-is-dev-null", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", "/dev/null"],
        match="not a folder|cannot create|/dev/null", extra={"out": None})
    add("out-read-only", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", str(_chmod(_dir(r / "ro"), 0o500))],
        match="not writable", needs="nonroot", extra={"out": None})
    add("measure-out-proc", "output", lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--out", "/proc/nope/t.csv"],
        match="cannot write|does not exist", extra={"out": None})
    add("plot-out-proc", "output", lambda r: ["plot", "histogram", str(good_png(r)), "--out", "/proc/nope/h.png"],
        match="could not write|cannot write|does not exist", extra={"out": None})
    add("evaluate-overlay-out-proc", "output",
        lambda r: ["evaluate", str(write_png(r / "t.png", (blobs() > 100).astype(np.uint8) * 255)),
                   str(write_png(r / "p.png", (blobs() > 90).astype(np.uint8) * 255)), "--overlay", "/proc/nope/o.png",
                   "--image", str(good_png(r))],
        match="cannot write|could not write|does not exist", extra={"out": None})

    # ---- batches ----
    add("batch-bad-in-middle", "batch", lambda r: seg(*_batch(r, bad=(2,))), errors=1, match=r"b02\.png",
        outputs=("b00.mask.png", "b01.mask.png", "b03.mask.png", "b04.mask.png"))
    add("batch-three-bad", "batch", lambda r: seg(*_batch(r, bad=(0, 3, 5), n=7)), errors=3,
        outputs=("b01.mask.png", "b02.mask.png", "b04.mask.png", "b06.mask.png"))
    add("batch-folder-with-bad", "batch", lambda r: (_batch(r, bad=(1,)), seg(r / "batch"))[1], errors=1,
        outputs=("b00.mask.png", "b02.mask.png", "b03.mask.png", "b04.mask.png"))
    add("batch-fifo-in-middle", "batch", lambda r: seg(*_batch(r, bad=()), _fifo(r / "f.png"), good_png(r, "z.png")),
        errors=1, match="named pipe", outputs=("z.mask.png",) + tuple(f"b0{i}.mask.png" for i in range(5)), needs="fifo")
    add("batch-mixed-kinds", "batch", lambda r: seg(good_png(r, "a.png"), _npy(r / "c.npy", blobs().astype(np.complex64)),
                                                    _loop(r / "l.png"), write_tif(r / "s.tif", np.stack([blobs()] * 2), photometric="minisblack")),
        errors=2, outputs=("a.mask.png", "s.mask.tif"))
    add("batch-all-good-works", "valid", lambda r: seg(*_batch(r, bad=())), code=0, errors=0,
        outputs=tuple(f"b0{i}.mask.png" for i in range(5)))

    # ---- other front ends and usage ----
    add("methods-family-nosuch", "usage", lambda r: ["methods", "--family", "nosuch"], match="unknown family 'nosuch'")
    add("methods-family-close", "usage", lambda r: ["methods", "--family", "treshold"], match="Did you mean 'threshold'")
    add("methods-family-works", "valid", lambda r: ["methods", "--family", "threshold", "--json"], code=0, errors=0)
    add("no-arguments-shows-help", "valid", lambda r: [], code=0, errors=0)
    add("unknown-command", "usage", lambda r: ["segmnt", "x.png"], match="Did you mean 'segment'")
    add("segment-no-out", "usage", lambda r: ["segment", str(good_png(r)), "--method", "otsu"], match="--out")
    add("segment-no-method", "usage", lambda r: ["segment", str(good_png(r)), "--out", "OUT"], match="--method")
    add("segment-both-method-pipeline", "usage",
        lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--pipeline", str(text(r / "p.yaml", "method: li\n")),
                   "--out", "OUT"], match="either --pipeline")
    add("segment-bad-option", "usage", lambda r: ["segment", "--bogus"], match="No such option")
    add("evaluate-shape-mismatch", "evaluate",
        lambda r: ["evaluate", str(write_png(r / "t.png", np.zeros((8, 8), np.uint8))), str(write_png(r / "p.png", np.zeros((9, 9), np.uint8)))],
        match="shape")
    add("evaluate-corrupt-truth", "evaluate",
        lambda r: ["evaluate", str(truncated(good_png(r, "t.png"), 0.4)), str(good_png(r, "p.png"))], match="t.png")
    add("evaluate-fifo-prediction", "evaluate",
        lambda r: ["evaluate", str(good_png(r, "t.png")), str(_fifo(r / "p.png"))], match="named pipe", needs="fifo")
    add("evaluate-nan-prediction", "evaluate",
        lambda r: ["evaluate", str(write_png(r / "t.png", (blobs() > 100).astype(np.uint8) * 255)),
                   str(_npy(r / "p.npy", _with(blobs().astype(np.float32), np.nan)))], match="non-integer|NaN|finite")
    add("measure-float-labels", "measure", lambda r: ["measure", str(_npy(r / "l.npy", np.full((8, 8), 0.5))), "--out", "OUT/t.csv"],
        match="labels|integer", extra={"out": "mkdir"})
    add("measure-negative-labels", "measure",
        lambda r: ["measure", str(_npy(r / "l.npy", -np.ones((8, 8), np.int32))), "--out", "OUT/t.csv"],
        match="negative", extra={"out": "mkdir"})
    add("measure-corrupt-labels", "measure",
        lambda r: ["measure", str(truncated(write_tif(r / "l.tif", _labels()), 0.3)), "--out", "OUT/t.csv"],
        match="l.tif", extra={"out": "mkdir"})
    add("measure-shape-mismatch", "measure",
        lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--image", str(good_png(r, "i.png", (9, 9))),
                   "--out", "OUT/t.csv"], match="shape", extra={"out": "mkdir"})
    add("measure-bad-property", "measure",
        lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--properties", "aera", "--out", "OUT/t.csv"],
        match="area", extra={"out": "mkdir"})
    add("measure-works-0644", "valid", lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--out", "OUT/t.csv"],
        code=0, errors=0, outputs=("t.csv",), extra={"out": "mkdir", "mode": 0o644})
    add("plot-bad-kind", "plot", lambda r: ["plot", "histgram", str(good_png(r)), "--out", "OUT/h.png"],
        match="Did you mean 'histogram'", extra={"out": "mkdir"})
    add("plot-corrupt-image", "plot", lambda r: ["plot", "histogram", str(truncated(good_png(r), 0.5)), "--out", "OUT/h.png"],
        match="good.png", extra={"out": "mkdir"})
    add("plot-unknown-method", "plot", lambda r: ["plot", "overlay", str(good_png(r)), "--method", "otsuu", "--out", "OUT/o.png"],
        match="Did you mean 'otsu'", extra={"out": "mkdir"})
    add("plot-works-0644", "valid", lambda r: ["plot", "histogram", str(good_png(r)), "--out", "OUT/h.png"],
        code=0, errors=0, outputs=("h.png",), extra={"out": "mkdir", "mode": 0o644})
    add("segment-outputs-0644", "valid", lambda r: seg(good_png(r)), code=0, errors=0,
        outputs=("good.mask.png", "good.overlay.png", "good.json"), extra={"mode": 0o644})

    # ---- seglab tile: same inputs, same refusals ----
    add("tile-yaml-python-tag", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--pipeline", str(text(r / "p.yaml", "!!python/object/apply:os.system [ls]\n")),
                   "--out", "OUT/o.zarr", "--scheduler", "sync", "--quiet"], match="Python tags|YAML", extra={"out": "mkdir"})
    add("tile-yaml-billion-laughs", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--pipeline", str(text(r / "p.yaml", BILLION_LAUGHS)),
                   "--out", "OUT/o.zarr", "--scheduler", "sync", "--quiet"], match="aliases|billion", extra={"out": "mkdir"})
    add("tile-5d-input", "tile",
        lambda r: ["tile", str(_npy(r / "f.npy", np.zeros((2, 2, 2, 8, 8), np.uint8))), "--method", "otsu",
                   "--out", "OUT/o.zarr", "--scheduler", "sync", "--quiet"], match="dimensions", extra={"out": "mkdir"})
    add("tile-corrupt-tif", "tile",
        lambda r: ["tile", str(truncated(write_tif(r / "c.tif", blobs()), 0.5)), "--method", "otsu",
                   "--out", "OUT/o.zarr", "--scheduler", "sync", "--quiet"], match="c.tif", extra={"out": "mkdir"})
    add("tile-unknown-method", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsuu", "--out", "OUT/o.zarr", "--scheduler", "sync"],
        match="Did you mean 'otsu'", extra={"out": "mkdir"})
    add("tile-bad-chunk", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--chunk", "abc", "--out", "OUT/o.zarr",
                   "--scheduler", "sync"], match="chunk", extra={"out": "mkdir"})
    add("tile-out-under-proc", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--out", "/proc/nope/o.zarr",
                   "--scheduler", "sync", "--quiet"], match="proc", extra={"out": None})

    add("tile-workers-negative", "tile",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--out", "OUT/o.zarr", "--workers", "-1",
                   "--quiet"], match="workers", extra={"out": "mkdir"})
    add("tile-wide-uint32", "tile",
        lambda r: ["tile", str(_npy(r / "w.npy", RNG.integers(0, 2**32 - 1, (64, 64), dtype=np.uint32))), "--method",
                   "otsu", "--out", "OUT/o.zarr", "--scheduler", "sync", "--quiet"], match="uint32", extra={"out": "mkdir"})
    add("tile-symlink-loop", "tile",
        lambda r: ["tile", str(_loop(r / "l.npy")), "--method", "otsu", "--out", "OUT/o.zarr", "--scheduler", "sync",
                   "--quiet"], match="symbolic link loop", extra={"out": "mkdir"})
    add("tile-fifo-input", "tile",
        lambda r: ["tile", str(_fifo(r / "f.npy")), "--method", "otsu", "--out", "OUT/o.zarr", "--scheduler", "sync",
                   "--quiet"], match="named pipe", needs="fifo", extra={"out": "mkdir", "timeout": 4})

    # ---- compare / tune / tile options (round 2) ----
    def cmp(r, *extra, methods=("--methods", "otsu")):
        images, truths = _pairs(r)
        return ["compare", str(images), "--truth", str(truths), *methods, *extra, "--out", "OUT"]

    def tune(r, *extra):
        images, truths = _pairs(r)
        return ["tune", str(images), "--truth", str(truths), "--methods", "otsu", "--trials", "2", *extra, "--out", "OUT"]

    report = ("results.csv", "results.json", "report.html")
    add("compare-workers-100000", "workers", lambda r: cmp(r, "--workers", "100000"), match=r"`workers` got 100000 worker "
        r"processes; this machine has \d+ core\(s\).*Use workers <= \d+")
    add("tune-jobs-100000", "workers", lambda r: tune(r, "--jobs", "100000"), match=r"`n_jobs` got 100000.*Use n_jobs <=")
    add("tune-workers-100000", "workers", lambda r: tune(r, "--workers", "100000"), match=r"`workers` got 100000")
    add("tile-workers-100000", "workers",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--out", "OUT/o.zarr", "--workers",
                   "100000", "--quiet"], match=r"`--workers` got 100000", extra={"out": "mkdir"})
    add("compare-max-seconds-nan", "compare", lambda r: cmp(r, "--max-seconds", "nan"), match="--max-seconds got nan")
    add("compare-method-timeout-nan", "compare", lambda r: cmp(r, "--method-timeout", "nan"),
        match="method_timeout got nan; expected a number of seconds > 0, finite")
    add("compare-method-timeout-inf", "compare", lambda r: cmp(r, "--method-timeout", "inf"),
        match="method_timeout got inf; expected a number of seconds > 0, finite")
    add("compare-edges-says-why", "compare", lambda r: cmp(r, methods=("--methods", "sobel")), outputs=report,
        match=r"nothing could be evaluated: sobel on every image: skipped: outputs an edge map")
    add("compare-seeds-method-says-why", "compare", lambda r: cmp(r, methods=("--methods", "random_walker")),
        outputs=report, match=r"nothing could be evaluated: random_walker on every image: skipped: needs user input")
    add("compare-truth-is-image-says-why", "compare",
        lambda r: ["compare", str(good_png(r, "a.png")), "--truth", str(good_png(r, "b.png")), "--methods", "otsu",
                   "--out", "OUT"], outputs=report, match=r"nothing could be evaluated: otsu on a: .*looks like a gray image")
    add("compare-pipeline-alone-runs-only-it", "valid",
        lambda r: cmp(r, "--pipeline", str(text(r / "p.yaml", "method: li\n")), methods=()), code=0, errors=0,
        outputs=report, extra={"stdout": r"1\. p .*\n3 evaluated, 0 failed"})
    add("tune-timeout-inf", "tune", lambda r: tune(r, "--timeout", "inf"), match="timeout got inf; expected a number of seconds > 0, finite")
    add("tune-trial-timeout-nan", "tune", lambda r: tune(r, "--trial-timeout", "nan"), match="trial_timeout got nan")
    add("tune-seed-negative", "tune", lambda r: tune(r, "--seed", "-1"), match=r"seed got -1; expected an integer from 0")
    add("tune-seed-beyond-uint32", "tune", lambda r: tune(r, "--seed", str(2**70)), match="seed got 1180591620717411303424")

    # ---- evaluate / measure / plot / interactive inputs (round 2) ----
    def truth_png(r):
        return str(write_png(r / "t.png", (blobs() > 100).astype(np.uint8) * 255))

    def plot(r, kind, image, *extra):
        return ["plot", kind, str(image), *extra, "--out", "OUT/p.png"]

    add("evaluate-all-nan-prediction", "evaluate",
        lambda r: ["evaluate", truth_png(r), str(_npy(r / "p.npy", np.full((48, 64), np.nan, np.float32)))],
        match=r"`pred` contains 3,072 NaN or infinite value\(s\)")
    add("evaluate-inf-truth", "evaluate",
        lambda r: ["evaluate", str(_npy(r / "t.npy", _with((blobs() > 100).astype(np.float64), np.inf))), truth_png(r)],
        match=r"`truth` contains 1 NaN or infinite")
    add("evaluate-complex-prediction", "evaluate",
        lambda r: ["evaluate", truth_png(r), str(_npy(r / "p.npy", (blobs() > 100).astype(np.complex64)))],
        match="`pred` has dtype complex64")
    add("evaluate-complex-truth", "evaluate",
        lambda r: ["evaluate", str(_npy(r / "t.npy", (blobs() > 100).astype(np.complex128))), truth_png(r)],
        match="`truth` has dtype complex128")
    add("measure-pixel-size-1e308", "measure",
        lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--pixel-size", "1e308", "--out", "OUT/t.csv"],
        match=r"`pixel_size` got 1e\+308; the area of a pixel", extra={"out": "mkdir"})
    add("measure-pixel-size-1e-300", "measure",
        lambda r: ["measure", str(write_tif(r / "l.tif", _labels())), "--pixel-size", "1e-300", "--out", "OUT/t.csv"],
        match=r"`pixel_size` got 1e-300", extra={"out": "mkdir"})
    add("measure-complex-labels", "measure",
        lambda r: ["measure", str(_npy(r / "l.npy", _labels().astype(np.complex64))), "--out", "OUT/t.csv"],
        match="`labels` has dtype complex64", extra={"out": "mkdir"})
    add("plot-histogram-all-nan", "plot", lambda r: plot(r, "histogram", _npy(r / "n.npy", np.full((8, 8), np.nan))),
        match=r"`image` contains 64 NaN", extra={"out": "mkdir"})
    add("plot-histogram-bool", "plot", lambda r: plot(r, "histogram", _npy(r / "b.npy", blobs() > 100)),
        match="`image` is boolean", extra={"out": "mkdir"})
    add("plot-histogram-complex", "plot", lambda r: plot(r, "histogram", _npy(r / "c.npy", blobs().astype(np.complex64))),
        match="`image` is complex", extra={"out": "mkdir"})
    add("plot-sobel-stack", "plot",
        lambda r: plot(r, "sobel", write_tif(r / "s.tif", np.stack([blobs()] * 2), photometric="minisblack")),
        match=r"plot sobel draws 2-D images; IMAGE has shape \(2, 48, 64\)", extra={"out": "mkdir"})
    add("plot-overlay-stack", "plot",
        lambda r: plot(r, "overlay", _npy(r / "s.npy", np.stack([blobs()] * 3)), "--labels", truth_png(r)),
        match="plot overlay draws 2-D images", extra={"out": "mkdir"})
    add("plot-overlay-3d-labels", "plot",
        lambda r: plot(r, "overlay", good_png(r), "--labels", str(_npy(r / "l.npy", np.zeros((3, 48, 64), np.uint8)))),
        match=r"`labels` has shape \(3, 48, 64\); expected \(48, 64\)", extra={"out": "mkdir"})
    add("plot-overlay-nan-labels", "plot",
        lambda r: plot(r, "overlay", good_png(r), "--labels", str(_npy(r / "l.npy", np.full((48, 64), np.nan)))),
        match="`labels` holds non-integer values", extra={"out": "mkdir"})
    add("plot-overlay-negative-labels", "plot",
        lambda r: plot(r, "overlay", good_png(r), "--labels", str(_npy(r / "l.npy", -np.ones((48, 64), np.int16)))),
        match="`labels` has negative labels", extra={"out": "mkdir"})
    add("plot-overlay-rgb-mask-works", "valid",
        lambda r: plot(r, "overlay", good_png(r), "--labels",
                       str(write_png(r / "m.png", np.dstack([(blobs() > 100).astype(np.uint8) * 255] * 3)))),
        code=0, errors=0, outputs=("p.png",), extra={"out": "mkdir"})
    add("grabcut-rect-whole-image", "seeds", lambda r: seg(good_png(r), method="grabcut", extra=("--rect", "0,0,48,64")),
        match=r"covers the whole 48 x 64 image; GrabCut learns the background .* rect=\(1, 1, 46, 62\)")
    add("grabcut-rect-one-pixel-margin-works", "valid",
        lambda r: seg(good_png(r), method="grabcut", extra=("--rect", "0,0,48,63")), code=0, errors=0,
        outputs=("good.mask.png",))
    add("contour-radius-1e12", "seeds", lambda r: seg(good_png(r), method="active_contour",
                                                      extra=("--contour", "10,10,1e12")),
        code=0, errors=0, outputs=("good.mask.png", "good.overlay.png"))
    add("contour-outside-image", "seeds", lambda r: seg(good_png(r), method="active_contour",
                                                        extra=("--contour", "1000,1000,5")),
        match=r"`contour` lies outside the image: its points span rows 995\.\.1005")
    add("contour-outside-image-level-set", "seeds", lambda r: seg(good_png(r), method="morphological_chan_vese",
                                                                  extra=("--contour", "-50,20,5")),
        match="`contour` lies outside the image")
    add("contour-around-image-works", "valid", lambda r: seg(good_png(r), method="active_contour",
                                                             extra=("--contour", "24,32,100")),
        code=0, errors=0, outputs=("good.mask.png",))

    # ---- dask scheduler addresses (round 2) ----
    add("tile-scheduler-no-port", "scheduler",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--out", "OUT/o.zarr", "--scheduler",
                   "bogus", "--quiet"], match="cannot use the dask scheduler 'bogus': missing port number",
        extra={"out": "mkdir"})
    add("compare-scheduler-bad-ipv6", "scheduler", lambda r: cmp(r, "--scheduler", "tcp://[::1"),
        match=r"cannot use the dask scheduler 'tcp://\[::1'")
    add("tune-scheduler-no-port", "scheduler", lambda r: tune(r, "--scheduler", "nowhere"),
        match="cannot use the dask scheduler 'nowhere'")
    add("tile-scheduler-unreachable", "scheduler",
        lambda r: ["tile", str(_npy(r / "i.npy", blobs())), "--method", "otsu", "--out", "OUT/o.zarr", "--scheduler",
                   "tcp://127.0.0.1:1", "--quiet"], match=r"cannot use the dask scheduler 'tcp://127\.0\.0\.1:1'",
        extra={"out": "mkdir", "slow": True, "timeout": 120})

    # ---- seglab train options (round 2) ----
    def train_pc(r, *extra):
        image = good_png(r, "a.png")
        scribbles = np.zeros((48, 64), np.uint8)
        scribbles[2:6, 2:6], scribbles[20:26, 28:34] = 1, 2
        write_png(r / "s.png", scribbles)
        return ["train", str(image), "--scribbles", str(r / "s.png"), "--model", "pixel_classifier", "--trees", "3",
                *extra, "--out", "OUT/model"]

    def train_unet(r, option):
        images, truths = _pairs(r)
        return ["train", str(images), "--truth", str(truths), "--model", "unet", "--option", option, "--out", "OUT/u"]

    add("train-sigma-1e9", "train", lambda r: train_pc(r, "--sigmas", "1e9"),
        match=r"`sigmas` got 1e\+09; the feature scales must be at most 256 pixels")
    add("train-trees-1e12", "train", lambda r: train_pc(r, "--trees", str(10**12)),
        match=r"n_estimators got 1000000000000; at most 10,000 trees")
    add("train-seed-negative", "train", lambda r: train_pc(r, "--seed", "-1"), match=r"seed got -1; expected an")
    add("train-seed-beyond-uint32", "train", lambda r: train_pc(r, "--seed", str(2**70)),
        match=r"seed got 1180591620717411303424")
    add("train-unet-patch-100000", "train", lambda r: train_unet(r, "patch=100000"),
        match=r"option `patch` got 100000; expected at most 2,048")
    add("train-unet-batch-1e9", "train", lambda r: train_unet(r, "batch_size=1000000000"),
        match=r"option `batch_size` got 1000000000; expected at most 1,024")
    add("train-unet-batch-pixels", "train", lambda r: train_unet(r, "patch=1024"),
        match=r"options `batch_size` x `patch`\^2 = 8 x 1024\^2 pixels per step")
    add("train-unet-steps-1e12", "train", lambda r: train_unet(r, "steps_per_epoch=1000000000000"),
        match=r"option `steps_per_epoch` got 1000000000000")

    # ---- an empty --out (an unset shell variable) never means the current folder ----
    add("segment-out-empty", "output", lambda r: ["segment", str(good_png(r)), "--method", "otsu", "--out", ""],
        match=r"--out got an empty path", extra={"out": None, "cwd_clean": True})
    add("demo-out-empty", "output", lambda r: ["demo", "--out", ""], match=r"--out got an empty path",
        extra={"out": None, "cwd_clean": True})
    add("compare-out-empty", "output", lambda r: cmp(r)[:-1] + [""], match=r"--out got an empty path",
        extra={"out": None, "cwd_clean": True})
    add("train-out-empty", "output", lambda r: train_pc(r)[:-1] + [""], match=r"--out got an empty path",
        extra={"out": None, "cwd_clean": True})

    # ---- round 3: inputs of kinds not covered before ----
    add("zarr-array-input-works", "valid", lambda r: seg(_zarr_array(r / "a.zarr")), code=0, errors=0,
        outputs=("a.mask.png", "a.overlay.png", "a.json"))
    add("zarr-group-input-works", "valid", lambda r: seg(_zarr_one_array_group(r / "g.zarr")), code=0, errors=0,
        outputs=("g.mask.png", "g.json"))
    add("batch-same-stem-png-tif", "batch",
        lambda r: seg(good_png(r, "a.png"), write_tif(r / "a.tif", blobs()), good_png(r, "b.png")), errors=1,
        match=r"a\.tif: its outputs \(a\.\*\) would replace those of .*a\.png",
        outputs=("a.mask.png", "a.overlay.png", "a.json", "b.mask.png"))
    add("batch-same-stem-two-folders", "batch",
        lambda r: seg(good_png(_dir(r / "d1"), "x.png"), good_png(_dir(r / "d2"), "x.png")), errors=1,
        match=r"d2/x\.png: its outputs \(x\.\*\) would replace those of .*d1/x\.png", outputs=("x.mask.png",))

    add("cmyk-tif-gray-method-says-colour", "channels", lambda r: seg(_cmyk_tif(r / "k.tif")),
        match=r"works on single-channel images, but the image is colour \(shape \(48, 64, 3\)\)")
    add("cmyk-tif-with-grayscale-works", "valid", lambda r: seg(_cmyk_tif(r / "k.tif"), extra=("--pre", "grayscale")),
        code=0, errors=0, outputs=("k.mask.png",))
    add("separated-tif-six-inks", "channels",
        lambda r: seg(write_tif(r / "s.tif", np.dstack([blobs()] * 6), photometric="separated",
                                extratags=[(332, "H", 1, 2, True)])),
        match=r"s\.tif: separated \(ink\) TIFF with .* inks that are not CMYK")
    add("gray-alpha-tif-works", "valid",
        lambda r: seg(write_tif(r / "la.tif", np.dstack([blobs(), np.full((48, 64), 255, np.uint8)]),
                                photometric="minisblack", extrasamples=["unassalpha"])),
        code=0, errors=0, outputs=("la.mask.png", "la.overlay.png"))
    add("two-sample-tif-is-gray-not-a-volume", "valid",
        lambda r: seg(write_tif(r / "two.tif", np.dstack([blobs(), blobs()]), photometric="minisblack",
                                planarconfig="contig")),
        code=0, errors=0, outputs=("two.mask.png",))
    add("big-endian-npy-invert-works", "valid",
        lambda r: seg(_npy(r / "be.npy", blobs().astype(">f4")), extra=("--pre", "invert")), code=0, errors=0,
        outputs=("be.mask.png",))
    add("big-endian-tif-invert-works", "valid",
        lambda r: seg(write_tif(r / "be.tif", blobs().astype(">u2"), byteorder=">"), extra=("--pre", "invert")),
        code=0, errors=0, outputs=("be.mask.png",))
    add("float16-median-works", "valid",
        lambda r: seg(_npy(r / "h.npy", blobs().astype(np.float16)), extra=("--pre", "median:size=3")), code=0,
        errors=0, outputs=("h.mask.png",))
    add("float16-geodesic-contour-works", "valid",
        lambda r: seg(_npy(r / "h.npy", blobs().astype(np.float16)), method="morphological_geodesic_active_contour",
                      extra=("--contour", "24,32,20")), code=0, errors=0, outputs=("h.mask.png",))
    add("float32-range-overflows", "nan",
        lambda r: seg(_npy(r / "w.npy", np.where(blobs() > 100, 3.4e38, -3.4e38).astype(np.float32))),
        match=r"`image`'s values span -3\.4e\+38 to 3\.4e\+38, a range float32 cannot hold .* "
              r"image\.astype\(np\.float64\)")
    add("float64-range-overflows", "nan",
        lambda r: seg(_npy(r / "w.npy", np.where(blobs() > 100, 1.7e308, -1.7e308)), method="sobel"),
        match=r"a range float64 cannot hold")
    add("float32-wide-range-as-float64-works", "valid",
        lambda r: seg(_npy(r / "w.npy", np.where(blobs() > 100, 3.4e38, -3.4e38).astype(np.float64))), code=0,
        errors=0, outputs=("w.mask.png",))
    add("clahe-float-image-outside-unit-range", "params",
        lambda r: seg(write_tif(r / "f.tif", blobs().astype(np.float32)), extra=("--pre", "equalize_adapthist")),
        match=r"pre-step 'equalize_adapthist' reads float images as values in \[-1, 1\] .* from 50 to 199\. "
              r"Put the pre-step 'rescale_intensity' before it")
    add("clahe-float-after-rescale-works", "valid",
        lambda r: seg(write_tif(r / "f.tif", blobs().astype(np.float32)),
                      extra=("--pre", "rescale_intensity", "--pre", "equalize_adapthist")), code=0, errors=0)
    add("canny-int64", "dtype", lambda r: seg(_npy(r / "i.npy", blobs().astype(np.int64)), method="canny"),
        match=r"canny \(scale='skimage'\) follows skimage\.feature\.canny, which does not take 64-bit integer")
    add("edge-fill-uint64", "dtype", lambda r: seg(_npy(r / "i.npy", blobs().astype(np.uint64)), method="edge_fill"),
        match=r"does not take 64-bit integer images; got uint64")

    add("imagej-hyperstack-zcyx", "dims",
        lambda r: seg(write_tif(r / "h.tif", np.stack([np.stack([blobs(), blobs()])] * 3), imagej=True,
                                metadata={"axes": "ZCYX"})),
        match=r"`image` has 4 dimensions \(shape \(3, 2, 48, 64\), dtype uint8\), read as \(planes, rows, cols, "
              r"channels\) .* its last axis has 64\. A multi-channel stack .* image\[:, 0\]")
    add("ome-tiff-tczyx", "dims",
        lambda r: seg(write_tif(r / "t.ome.tif", np.zeros((2, 3, 2, 48, 64), np.uint8) + blobs(),
                                metadata={"axes": "TCZYX"})), match=r"t\.ome\.tif: `image` has 5 dimensions")

    add("evaluate-rgb-truth-says-colour", "evaluate",
        lambda r: ["evaluate", str(write_png(r / "t.png", np.dstack([(blobs() > 100).astype(np.uint8) * 255] * 3))),
                   str(write_png(r / "p.png", (blobs() > 90).astype(np.uint8) * 255))],
        match=r"`pred` has shape \(48, 64\); expected \(48, 64, 3\), the shape of `truth` \(`truth` is a colour "
              r"image of the same size: save it with one channel")

    # ---- memory-bomb cases (run in a child with RLIMIT_AS) ----
    add("mem-yaml-billion-laughs", "yaml", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                                      str(text(r / "p.yaml", BILLION_LAUGHS)), "--out", "OUT"],
        match="billion laughs|aliases", memory=True)
    add("mem-uint32-64x64", "dtype", lambda r: seg(_npy(r / "w.npy", RNG.integers(0, 2**32 - 1, (64, 64), dtype=np.uint32)),
                                                   method="multi_otsu"),
        match="histogram", memory=True)
    add("mem-closing-radius-1e9", "params", lambda r: seg(good_png(r), extra=("--post", "closing:radius=999999999")),
        match="radius", memory=True)
    add("mem-sigma-1e9", "params", lambda r: seg(good_png(r), extra=("--pre", "gaussian:sigma=1e9")), match="sigma",
        memory=True)
    add("mem-block-size-1e9", "params", lambda r: seg(good_png(r), method="local", extra=("--param", "block_size=999999999")),
        match="block_size", memory=True)
    add("mem-clahe-kernel", "params", lambda r: seg(good_png(r), extra=("--pre", "equalize_adapthist:kernel_size=8192")),
        match="kernel_size.*use kernel_size <= 64", memory=True)
    add("mem-png-declares-budget", "huge-declared", lambda r: seg(png_declaring(r / "b.png", 32768, 32768, colour=2)),
        match="decod|memory", memory=True)
    add("mem-deep-json", "json", lambda r: ["segment", str(good_png(r)), "--pipeline",
                                            str(text(r / "p.json", "[" * 100_000 + "]" * 100_000)), "--out", "OUT"],
        match="nested", memory=True)
    return cases


# -- small builders used above ---------------------------------------------------------------------
def _npy(path: Path, array) -> Path:
    np.save(path, array, allow_pickle=False)
    return path


def _npy_object(path: Path) -> Path:
    array = np.empty((4, 4), object)
    array[:] = "x"
    np.save(path, array, allow_pickle=True)
    return path


def _with(array: np.ndarray, value) -> np.ndarray:
    array = array.copy()
    array[3, 5] = value
    return array


def _bad_crc(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[29] ^= 0xFF  # inside IHDR's CRC
    path.write_bytes(bytes(data))
    return path


def _bad_ifd(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 0x7FFFFFF0)
    path.write_bytes(bytes(data))
    return path


def _patch_tag(path: Path, name: str, value: int) -> Path:
    import tifffile

    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags[name].overwrite(value)
    return path


def _zarr_bad_meta(path: Path) -> Path:
    path.mkdir()
    (path / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array", "shape": "wide"}')
    return path


def _zarr_bad_chunk(path: Path) -> Path:
    import zarr

    array = zarr.open_array(str(path), mode="w", shape=(16, 16), chunks=(8, 8), dtype="u1")
    array[:] = 5
    for chunk in path.rglob("*"):
        if chunk.is_file() and chunk.name not in ("zarr.json", ".zarray", ".zattrs", ".zgroup"):
            chunk.write_bytes(b"\x00garbage" * 3)
    return path


def _cmyk_tif(path: Path) -> Path:
    from PIL import Image

    cmyk = np.array(Image.fromarray(np.dstack([blobs(), blobs() // 2, 255 - blobs()])).convert("CMYK"))
    return write_tif(path, cmyk, photometric="separated")


def _zarr_array(path: Path) -> Path:
    import zarr

    array = zarr.open_array(str(path), mode="w", shape=(48, 64), chunks=(16, 32), dtype="u1")
    array[:] = blobs()
    return path


def _zarr_one_array_group(path: Path) -> Path:
    import zarr

    group = zarr.open_group(str(path), mode="w")
    group.create_array("0", shape=(48, 64), chunks=(24, 32), dtype="u2")[:] = blobs(dtype=np.uint16) * 100
    return path


def _zarr_group(path: Path) -> Path:
    import zarr

    zarr.open_group(str(path), mode="w")
    return path


def _palette(path: Path) -> Path:
    from PIL import Image

    image = Image.fromarray(blobs()).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    image.save(path, format="PNG")
    return path


def _rgba() -> np.ndarray:
    b = blobs()
    return np.dstack([b, b, b, np.full_like(b, 200)])


def _cmyk(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.dstack([blobs()] * 3)).convert("CMYK").save(path, format="JPEG")
    return path


def _labels() -> np.ndarray:
    labels = np.zeros((16, 16), np.uint16)
    labels[2:6, 2:6] = 1
    labels[8:14, 9:15] = 2
    return labels


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _loop(path: Path) -> Path:
    os.symlink(path.name, path)
    return path


def _cycle(root: Path) -> Path:
    os.symlink("b.png", root / "a.png")
    os.symlink("a.png", root / "b.png")
    return root / "a.png"


def _broken(path: Path) -> Path:
    os.symlink("does-not-exist.png", path)
    return path


def _link(target: Path, path: Path) -> Path:
    os.symlink(target.name, path)
    return path


def _chmod(path: Path, mode: int) -> Path:
    os.chmod(path, mode)
    return path


def _non_utf8(root: Path) -> Path:
    name = os.fsdecode(b"caf\xe9-\xff.png")
    return good_png(root, name)


def _pairs(root: Path, n: int = 3) -> tuple[Path, Path]:
    """Folders images/ and truths/ of `n` blob images and their exact masks (paired by stem)."""
    images, truths = _dir(root / "images"), _dir(root / "truths")
    for i in range(n):
        image = blobs((40, 48))
        write_png(images / f"a{i}.png", image)
        write_png(truths / f"a{i}.png", (image > 100).astype(np.uint8) * 255)
    return images, truths


def _batch(root: Path, *, bad=(), n: int = 5) -> list[Path]:
    folder = _dir(root / "batch")
    paths = []
    for i in range(n):
        path = good_png(folder, f"b{i:02d}.png")
        if i in bad:
            truncated(path, 0.5)
        paths.append(path)
    return paths


CASES = _cases()
KINDS = sorted({c.kind for c in CASES})


def dump_json(cases) -> str:  # pragma: no cover - a debugging aid
    return json.dumps([c.id for c in cases])
