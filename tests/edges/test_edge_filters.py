"""Edge filters equal the scikit-image / SciPy / OpenCV calls on the same input; edge_fill finds the coins."""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import ImageTypeError, ParameterError
from seglab.edges import canny, edge_fill, laplace, log, prewitt, scharr, sobel

skimage_data = pytest.importorskip("skimage.data")
filters = pytest.importorskip("skimage.filters")


@pytest.fixture(scope="module")
def camera():
    return skimage_data.camera()


GRADIENTS = {
    "sobel": (sobel, "sobel", "sobel_h", "sobel_v"),
    "scharr": (scharr, "scharr", "scharr_h", "scharr_v"),
    "prewitt": (prewitt, "prewitt", "prewitt_h", "prewitt_v"),
}


@pytest.mark.parametrize("name", GRADIENTS)
@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_gradient_equals_skimage(camera, name, dtype):
    ours, sk, sk_h, sk_v = GRADIENTS[name]
    image = camera if dtype == "uint8" else (camera / 255.0).astype(dtype)
    edges = ours(image)
    info = seglab.segment(image, name).extras
    expected = getattr(filters, sk)(image)
    assert edges.dtype == np.float32
    np.testing.assert_allclose(edges, expected, rtol=1e-6, atol=1e-7)
    # orientation = arctan2(derivative down the rows, derivative along the columns)
    orientation = np.arctan2(getattr(filters, sk_h)(image), getattr(filters, sk_v)(image))
    strong = expected > 1e-3  # away from flat areas, where the angle of a ~0 vector is rounding noise
    # compare angles on the circle: +pi and -pi (from a -0.0 row derivative) are the same direction
    difference = np.angle(np.exp(1j * (info["orientation"][strong] - orientation[strong])))
    np.testing.assert_allclose(difference, 0.0, atol=1e-4)


def test_sobel_orientation_convention():
    image = np.zeros((9, 9))
    image[5:, :] = 1.0  # brighter downwards: gradient points down the rows = +pi/2
    def orientation(image):
        return seglab.segment(image, "sobel").extras["orientation"]

    assert orientation(image)[4, 4] == pytest.approx(np.pi / 2)
    assert orientation(image.T)[4, 4] == pytest.approx(0.0)  # brighter to the right = 0
    # brighter to the left = +pi (never -pi: -0.0 is normalised)
    assert orientation(image.T[:, ::-1])[4, 4] == pytest.approx(np.pi)


def test_sobel_volume_equals_skimage(camera):
    volume = np.stack([camera[:64, :80], camera[64:128, :80], camera[128:192, :80]]).astype(np.float64)
    result = seglab.segment(volume, "sobel", channel_axis=None)
    np.testing.assert_allclose(result.edges, filters.sobel(volume), rtol=1e-6, atol=1e-7)
    assert "orientation" not in result.extras


@pytest.mark.parametrize("ksize", [3, 5])
def test_laplace_equals_skimage(camera, ksize):
    np.testing.assert_allclose(laplace(camera, ksize=ksize), filters.laplace(camera, ksize=ksize),
                               rtol=1e-6, atol=1e-6)


def test_log_equals_scipy(camera):
    from scipy import ndimage as ndi
    from skimage.util import img_as_float

    np.testing.assert_allclose(log(camera, sigma=2.5), ndi.gaussian_laplace(img_as_float(camera), 2.5),
                               rtol=1e-6, atol=1e-6)


def test_canny_opencv_100_200_is_cv2_canny(camera):
    import cv2

    ours = canny(camera, sigma=0, low_threshold=100, high_threshold=200, scale="opencv")
    np.testing.assert_array_equal(ours, cv2.Canny(camera, 100, 200) > 0)
    ours_l2 = canny(camera, sigma=0, low_threshold=100, high_threshold=200, scale="opencv", l2gradient=True)
    np.testing.assert_array_equal(ours_l2, cv2.Canny(camera, 100, 200, L2gradient=True) > 0)
    blurred = canny(camera, sigma=1.5, low_threshold=50, high_threshold=150, scale="opencv")
    np.testing.assert_array_equal(blurred, cv2.Canny(cv2.GaussianBlur(camera, (0, 0), 1.5), 50, 150) > 0)


@pytest.mark.parametrize("kwargs", [{}, {"sigma": 2.0, "low_threshold": 0.05, "high_threshold": 0.15},
                                    {"sigma": 1.0, "low_threshold": 0.8, "high_threshold": 0.9,
                                     "use_quantiles": True}])
def test_canny_skimage_scale_is_skimage_canny(camera, kwargs):
    from skimage.feature import canny as sk_canny

    np.testing.assert_array_equal(canny(camera, **kwargs), sk_canny(camera, **kwargs))


def test_canny_opencv_scale_refuses_missing_thresholds_and_non_uint8(camera):
    with pytest.raises(ParameterError, match=r"scale='opencv' needs both `low_threshold` and `high_threshold`"):
        canny(camera, scale="opencv")
    with pytest.raises(ImageTypeError, match=r"takes uint8 images; got float64"):
        canny(camera / 255.0, low_threshold=100, high_threshold=200, scale="opencv")
    with pytest.raises(ParameterError, match=r"`low_threshold` \(0.3\) must not exceed `high_threshold` \(0.1\)"):
        canny(camera, low_threshold=0.3, high_threshold=0.1)


def test_edge_fill_finds_the_coins():
    from scipy import ndimage as ndi
    from skimage.feature import canny as sk_canny

    coins = skimage_data.coins()
    # Tutorial parameters: the result equals the tutorial's pipeline.
    labels = edge_fill(coins)
    filled = ndi.binary_fill_holes(sk_canny(coins))
    lab, n = ndi.label(filled)
    sizes = np.bincount(lab.ravel())
    expected_mask = (sizes >= 21)[lab] & (lab > 0)
    np.testing.assert_array_equal(labels > 0, expected_mask)
    # skimage.data.coins() holds 24 coins; the tutorial notes one outline stays open, so 23 coin-sized
    # objects (>= 500 px; the smallest coin covers ~1100 px) plus a few filled edge fragments.
    areas = np.bincount(labels.ravel())[1:]
    assert 22 <= int((areas >= 500).sum()) <= 24
    assert seglab.segment(coins, "edge_fill").info["n_objects"] == int(labels.max())
    # Closing 1-pixel gaps seals that outline: every coin, nothing else.
    closed = seglab.segment(coins, "edge_fill", closing_radius=1).labels
    areas = np.bincount(closed.ravel())[1:]
    assert int((areas >= 500).sum()) == 24 and closed.max() == 24


@pytest.mark.parametrize("name,kind,dtype", [("sobel", "edges", np.float32), ("scharr", "edges", np.float32),
                                             ("prewitt", "edges", np.float32), ("laplace", "edges", np.float32),
                                             ("log", "edges", np.float32), ("canny", "mask", np.bool_),
                                             ("edge_fill", "labels", np.int32)])
def test_segment_returns_declared_kind_and_dtype(camera, name, kind, dtype):
    result = seglab.segment(camera[:128, :128], name)
    assert result.output == kind
    assert result.data.dtype == dtype and result.data.shape == (128, 128)
    assert seglab.get_method(name).output == kind


def test_sobel_orientation_lands_in_extras(camera):
    result = seglab.segment(camera, "sobel")
    np.testing.assert_array_equal(result.data, sobel(camera))
    orientation = np.arctan2(filters.sobel_h(camera / 255.0), filters.sobel_v(camera / 255.0))
    strong = result.data > 1e-3
    np.testing.assert_allclose(np.angle(np.exp(1j * (result.extras["orientation"][strong] - orientation[strong]))),
                               0.0, atol=1e-4)
    assert result.extras["orientation"].dtype == np.float32
