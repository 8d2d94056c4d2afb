"""Round 3 of the bad-input hunt: the values seglab reads and segments from unusual but valid inputs.

The corpus (``_corpus.py``) checks the error lines and exit codes; these tests check the values a
user gets: CMYK and gray+alpha TIFFs read as the colours and grays a viewer shows (they were read as
RGBA with K dropped as "alpha", and as a volume of N x 2 images), big-endian and float16 arrays give
the results of the same values in native float32/64 (they raised or gave a constant image), and
value ranges or dtypes a step cannot take are refused with the step's own message.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import tifffile

import seglab
from seglab._core.errors import ConversionWarning, ImageTypeError, InvalidImageError


def _blobs(shape=(40, 48)) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.where((rows - 20) ** 2 + (cols - 24) ** 2 < 144, 190, 40)
    return (image + np.random.default_rng(3).integers(0, 25, shape)).astype(np.uint8)


def test_cmyk_tiff_reads_as_the_rgb_pillow_shows(tmp_path):
    from PIL import Image

    rgb = np.dstack([_blobs(), 255 - _blobs(), _blobs() // 3])
    cmyk = np.array(Image.fromarray(rgb).convert("CMYK"))
    tifffile.imwrite(tmp_path / "k.tif", cmyk, photometric="separated")
    with pytest.warns(ConversionWarning, match=r"k\.tif: CMYK TIFF converted to RGB"):
        read = seglab.read(tmp_path / "k.tif")
    np.testing.assert_array_equal(read, np.array(Image.fromarray(cmyk, "CMYK").convert("RGB")))
    np.testing.assert_array_equal(read, rgb)  # Pillow's RGB -> CMYK -> RGB is exact for K = 0
    # 16-bit and an alpha sample: alpha kept as the fourth channel
    ink = np.zeros((6, 7, 5), np.uint16)
    ink[..., :4] = [0, 65535, 32768, 16384]
    ink[..., 4] = 777
    tifffile.imwrite(tmp_path / "k16.tif", ink, photometric="separated", planarconfig="contig",
                     extrasamples=["unassalpha"])
    with pytest.warns(ConversionWarning, match=r"CMYK TIFF converted to RGB \(alpha kept\)"):
        read = seglab.read(tmp_path / "k16.tif")
    expected = np.rint(np.array([65535, 0, 32767]) * (65535 - 16384) / 65535)
    np.testing.assert_array_equal(read[0, 0], [*expected, 777])
    assert read.dtype == np.uint16


def test_gray_plus_extra_sample_tiff_segments_its_gray_channel(tmp_path):
    gray = _blobs()
    alpha = np.where(gray > 100, 255, 0).astype(np.uint8)
    tifffile.imwrite(tmp_path / "la.tif", np.dstack([gray, alpha]), photometric="minisblack",
                     extrasamples=["unassalpha"])
    tifffile.imwrite(tmp_path / "two.tif", np.dstack([gray, gray // 2]), photometric="minisblack",
                     planarconfig="contig")
    with pytest.warns(ConversionWarning, match=r"gray TIFF with an extra \(alpha\) sample; the extra sample was"):
        la = seglab.read(tmp_path / "la.tif")
    with pytest.warns(ConversionWarning, match=r"gray TIFF with an extra \(unspecified\) sample"):
        two = seglab.read(tmp_path / "two.tif")
    np.testing.assert_array_equal(la, gray)
    np.testing.assert_array_equal(two, gray)
    np.testing.assert_array_equal(seglab.segment(la, "otsu").mask, seglab.segment(gray, "otsu").mask)


PRE_STEPS = ("invert", "median:size=3", "gaussian:sigma=1.5", "rescale_intensity")


@pytest.mark.parametrize("step", PRE_STEPS)
@pytest.mark.parametrize("dtype", [">f4", ">f8", ">u2", ">i2"])
def test_big_endian_arrays_give_the_native_result(step, dtype):
    """`--pre invert` on a big-endian float image raised numpy's TypeError about byte order."""
    image = _blobs().astype(dtype)
    native = image.astype(np.dtype(dtype).newbyteorder("="))
    got = seglab.segment(image, "otsu", pre=[step])
    want = seglab.segment(native, "otsu", pre=[step])
    np.testing.assert_array_equal(got.mask, want.mask)
    assert got.info["threshold"] == want.info["threshold"]


def test_float16_images_run_as_their_exact_float32_values():
    """median raised 'array type not supported'; CLAHE returned a constant 1.0 image (an empty mask)."""
    image = (_blobs() / 255).astype(np.float16)
    same = image.astype(np.float32)
    for pre in (["median:size=3"], ["equalize_adapthist"], ["gaussian"], []):
        np.testing.assert_array_equal(seglab.segment(image, "otsu", pre=pre).mask,
                                      seglab.segment(same, "otsu", pre=pre).mask)
    clahe = seglab.apply_step(image, "equalize_adapthist")
    assert clahe.min() == 0.0 and clahe.max() == 1.0
    contour = seglab.segment(image, "morphological_geodesic_active_contour", contour=(20, 24, 15))
    assert 100 < contour.mask.sum() < 40 * 48


def test_float_value_range_that_overflows_is_refused_where_it_would_break():
    image = np.where(_blobs() > 100, np.finfo(np.float32).max, -np.finfo(np.float32).max).astype(np.float32)
    with pytest.raises(InvalidImageError, match=r"`image`'s values span -3\.403e\+38 to 3\.403e\+38, a range "
                                                r"float32 cannot hold \(max - min overflows"):
        seglab.segment(image, "otsu")
    # the suggested conversion works, and gives the mask of the two levels
    np.testing.assert_array_equal(seglab.segment(image.astype(np.float64), "otsu").mask, _blobs() > 100)
    with pytest.raises(InvalidImageError, match=r"a range float64 cannot hold .* e\.g\. image / 2e\+308$"):
        seglab.segment(image.astype(np.float64) * 5e269, "kmeans")
    # NaN keeps its own message
    nan = _blobs().astype(np.float32)
    nan[0, 0] = np.nan
    with pytest.raises(InvalidImageError, match=r"contains 1 NaN and 0 infinite value\(s\)"):
        seglab.segment(nan, "otsu")


def test_clahe_says_which_step_needs_unit_floats():
    image = _blobs().astype(np.float64)
    with pytest.raises(InvalidImageError, match=r"pre-step 'equalize_adapthist' reads float images as values in "
                                                r"\[-1, 1\] \(scikit-image's rule\); `image` \(float64\) has values "
                                                r"from 40 to 214"):
        seglab.apply_step(image, "equalize_adapthist")
    rescaled = seglab.segment(image, "otsu", pre=["rescale_intensity", "equalize_adapthist"])
    expected = seglab.segment(image / 255, "otsu", pre=["rescale_intensity", "equalize_adapthist"])
    np.testing.assert_array_equal(rescaled.mask, expected.mask)


def test_canny_refuses_64_bit_integers_with_its_own_message():
    image = _blobs().astype(np.int64)
    with pytest.raises(ImageTypeError, match=r"does not take 64-bit integer images; got int64 \(values 40 to 214\)"):
        seglab.segment(image, "canny")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edges = seglab.segment(image.astype(np.float64), "canny", low_threshold=20, high_threshold=60).data
    assert edges.any() and not edges.all()


@pytest.mark.parametrize("model", [["pixel_classifier"], ["unet", "--task", "instance"]])
def test_train_refuses_images_given_as_the_truth(tmp_path, capsys, model):
    """`--truth` pointing at the images (or a gray image) trained 'every nonzero pixel is an object' silently."""
    from seglab.cli.main import main

    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        seglab.write(images / f"a{i}.png", np.random.default_rng(i).integers(0, 250, (40, 48), dtype=np.uint8))
    capsys.readouterr()
    code = main(["train", str(images), "--truth", str(images), "--model", *model, "--out", str(tmp_path / "m")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("seglab: ")]
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith(f"seglab: error: {images / 'a0.png'}: `truth` looks like a gray "
                                                     "image, not a ground truth")
    assert not (tmp_path / "m").exists()
    fractional = tmp_path / "f.npy"
    np.save(fractional, np.full((40, 48), 0.5))
    code = main(["train", str(images / "a0.png"), "--truth", str(fractional), "--model", *model, "--out",
                 str(tmp_path / "m")])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("seglab: ")]
    assert len(errors) == 1
    assert re.match(rf"seglab: error: {re.escape(str(fractional))}: (`truth` holds fractional|the truth holds "
                    "non-integer) values", errors[0])
