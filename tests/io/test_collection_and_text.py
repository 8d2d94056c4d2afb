"""Collections (order, laziness, bad-file continuation, stacks) and the text/provenance helpers."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import seglab
import seglab.io
from seglab._core.errors import (
    DecompressionBombError,
    ImageReadError,
    ImageWriteError,
    ParameterError,
    ShapeMismatchError,
    UnknownMethodError,
)
from seglab.io import read_collection, write


@pytest.fixture
def slices(tmp_path):
    """t1, t2, t10 .png slices (value = t) plus files a folder listing must skip."""
    for t in (10, 2, 1):
        write(tmp_path / f"t{t}.png", np.full((4, 5), t, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    write(tmp_path / ".hidden.png", np.zeros((4, 5), np.uint8))
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_folder_is_naturally_sorted_and_lazy(slices):
    images = read_collection(slices)
    assert len(images) == 3
    assert images.stems == ("t1", "t2", "t10")
    assert images.files == (slices / "t1.png", slices / "t2.png", slices / "t10.png")
    assert [int(image[0, 0]) for image in images] == [1, 2, 10]
    assert int(images[-1][0, 0]) == 10
    assert images[1:].stems == ("t2", "t10")
    with pytest.raises(IndexError, match=r"index 3 is out of range for a collection of 3 image\(s\)"):
        images[3]


def test_collection_reads_lazily(slices):
    images = read_collection(slices)
    (slices / "t2.png").write_bytes(b"")  # damaged after collecting: only reading t2 fails
    assert int(images[0][0, 0]) == 1
    with pytest.raises(ImageReadError, match=r"t2\.png: empty file \(0 bytes\)"):
        images[1]


def test_glob_pattern_and_name_sort(slices):
    images = read_collection(str(slices / "t*.png"), sort="name")
    assert images.stems == ("t1", "t10", "t2")


def test_list_keeps_its_order_without_sort(slices):
    paths = [slices / "t10.png", slices / "t1.png"]
    assert read_collection(paths, sort=None).files == tuple(paths)


def test_empty_matches_name_the_pattern(tmp_path):
    with pytest.raises(ImageReadError, match=r"no files match the pattern '.*\*\.tif'"):
        read_collection(str(tmp_path / "*.tif"))
    with pytest.raises(ImageReadError, match=r"no image files in this folder \(looked for \.bmp, "):
        read_collection(tmp_path)
    with pytest.raises(ImageReadError, match=r"nowhere: no such folder or file, and not a glob pattern"):
        read_collection(tmp_path / "nowhere")
    with pytest.raises(ParameterError, match=r"`sort` got 'date'; expected 'natural', 'name' or None"):
        read_collection(tmp_path, sort="date")


def test_iter_images_goes_on_past_a_bad_file(slices):
    (slices / "t2.png").write_text("garbage")
    results = list(seglab.io.iter_images(slices))
    assert [path.name for path, _ in results] == ["t1.png", "t2.png", "t10.png"]
    assert int(results[0][1][0, 0]) == 1
    assert isinstance(results[1][1], ImageReadError)
    assert "t2.png: not a PNG file" in str(results[1][1])
    assert int(results[2][1][0, 0]) == 10


def test_as_stack(slices):
    stack = read_collection(slices).as_stack()
    assert stack.shape == (3, 4, 5) and stack.dtype == np.uint8
    np.testing.assert_array_equal(stack[:, 0, 0], [1, 2, 10])


def test_as_stack_refuses_mismatched_slices(slices):
    write(slices / "t3.png", np.zeros((6, 5), np.uint8))
    with pytest.raises(ShapeMismatchError, match=r"t3\.png: shape \(6, 5\), dtype uint8 differs from t1\.png \(shape \(4, 5\)"):
        read_collection(slices).as_stack()


def test_as_stack_budget_counts_the_whole_stack(slices):
    images = read_collection(slices, max_pixels=50)
    assert images[0].shape == (4, 5)  # 20 pixels each: fine one by one
    with pytest.raises(DecompressionBombError, match=r"the stack of 3 files .* declares 60 pixels, more than the pixel budget of 50"):
        images.as_stack()


def test_collection_passes_read_options(tmp_path):
    write(tmp_path / "c.png", np.full((2, 2, 3), (255, 0, 0), np.uint8))
    assert read_collection(tmp_path, as_gray=True)[0].tolist() == [[54, 54], [54, 54]]
    with pytest.raises(ParameterError, match=r"read_collection got unknown option\(s\) gray"):
        read_collection(tmp_path, gray=True)


def test_real_nuclei_folder_order(shared_data):
    images = read_collection(shared_data("nuclei", "NIH3T3", "img"))
    assert images.stems[:4] == ("dna-0", "dna-1", "dna-26", "dna-27")
    assert len(images) == 18


# -- text helpers -----------------------------------------------------------------------------
def test_read_pipeline_from_yaml_and_json(tmp_path):
    if "otsu" not in seglab.list_methods():
        pytest.skip("the otsu method is not registered in this checkout")
    (tmp_path / "p.yaml").write_text("method:\n  name: otsu\n")
    assert seglab.io.read_pipeline(tmp_path / "p.yaml").method.name == "otsu"
    pipeline = seglab.io.read_pipeline(tmp_path / "p.yaml")
    seglab.io.write_json(tmp_path / "p.json", pipeline.to_dict())
    assert seglab.io.read_pipeline(tmp_path / "p.json").to_dict() == pipeline.to_dict()


def test_read_pipeline_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("method: otsu\npre: [invert\n")
    with pytest.raises(ParameterError, match=r"bad\.yaml, line 3, column 1: invalid YAML"):
        seglab.io.read_pipeline(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text('{"method": "otsu",}')
    with pytest.raises(ParameterError, match=r"bad\.json, line 1, column 19: invalid JSON"):
        seglab.io.read_pipeline(tmp_path / "bad.json")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ParameterError, match=r"empty\.yaml: the file is empty; expected a pipeline"):
        seglab.io.read_pipeline(tmp_path / "empty.yaml")
    (tmp_path / "typo.yaml").write_text("method: not_a_method\n")
    with pytest.raises(UnknownMethodError, match=r"typo\.yaml: unknown method 'not_a_method'"):
        seglab.io.read_pipeline(tmp_path / "typo.yaml")


def test_yaml_never_builds_python_objects(tmp_path):
    (tmp_path / "evil.yaml").write_text("method: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ParameterError, match=r"evil\.yaml, line 1, column 9: invalid YAML \(could not determine a constructor"):
        seglab.io.read_pipeline(tmp_path / "evil.yaml")


def test_write_json_converts_numpy_values(tmp_path):
    out = seglab.io.write_json(tmp_path / "m.json", {"f1": np.float32(0.5), "n": np.int64(3), "curve": np.arange(3)})
    assert json.loads(out.read_text()) == {"f1": 0.5, "n": 3, "curve": [0, 1, 2]}
    with pytest.raises(TypeError, match=r"object of type object is not JSON serialisable"):
        seglab.io.write_json(tmp_path / "x.json", {"bad": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_write_text_atomic(tmp_path):
    target = seglab.io.write_text_atomic(tmp_path / "a.txt", "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    seglab.io.write_text_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    with pytest.raises(ImageWriteError, match=r"b\.txt: could not write \(the folder .*missing does not exist\)"):
        seglab.io.write_text_atomic(tmp_path / "missing" / "b.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_sha256_file(tmp_path):
    (tmp_path / "abc.bin").write_bytes(b"abc")
    assert seglab.io.sha256_file(tmp_path / "abc.bin") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    big = bytes(range(256)) * 9000
    (tmp_path / "big.bin").write_bytes(big)
    assert seglab.io.sha256_file(tmp_path / "big.bin", chunk_size=1000) == hashlib.sha256(big).hexdigest()
    with pytest.raises(ImageReadError, match=r"nope\.bin: file not found"):
        seglab.io.sha256_file(tmp_path / "nope.bin")


def test_public_names_are_locked():
    assert sorted(seglab.io.__all__) == [
        "DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "ImageCollection", "apply_umask_mode", "atomic_write",
        "check_json_text", "check_text_file", "declared_pixels", "fsync_dir", "get_byte_budget", "get_pixel_budget", "iter_images",
        "natural_key", "parse_json", "parse_yaml", "read", "read_collection", "read_config", "read_json",
        "read_pipeline", "read_truths", "set_byte_budget", "set_pixel_budget", "sha256_file", "stat_input", "write", "write_json",
        "write_text_atomic",
    ]
    assert seglab.read is seglab.io.read and seglab.write is seglab.io.write
