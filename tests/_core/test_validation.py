import numpy as np
import pytest

from seglab._core.errors import ConversionWarning, ImageTypeError, InvalidImageError, SeglabError, ShapeMismatchError
from seglab._core.validation import check_image, check_labels, check_mask, check_same_shape


def test_gray_image_passes_unchanged():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out, info = check_image(image)
    assert out is image
    assert info.spatial_shape == (3, 4) and info.channels == 1


def test_uint16_and_signed_values_are_kept():
    image = np.array([[-5, 0], [300, 40000]], dtype=np.int32)
    out, _ = check_image(image)
    np.testing.assert_array_equal(out, image)
    wide = np.array([[0, 65535], [1, 2]], dtype=np.uint16)
    assert check_image(wide)[0].max() == 65535


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.zeros((0, 5)), InvalidImageError, "is empty"),
        (np.zeros((1, 1)), InvalidImageError, "too small"),
        (np.zeros(5), InvalidImageError, "at least 2"),
        (np.zeros((2, 2, 2, 2, 2)), InvalidImageError, "5 dimensions"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), InvalidImageError, "1 NaN and 0 infinite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), InvalidImageError, "0 NaN and 1 infinite"),
        (np.ones((3, 3), complex), ImageTypeError, "complex"),
        (np.ones((3, 3), bool), ImageTypeError, "boolean"),
        (np.array([["a", "b"], ["c", "d"]]), ImageTypeError, "numeric array"),
        (np.zeros((4, 4, 5)), InvalidImageError, "5 channels"),
    ],
)
def test_bad_images_get_one_clear_error(array, error, match):
    with pytest.raises(error, match=match):
        check_image(array, channel_axis=-1 if array.ndim == 3 else "auto")


def test_errors_are_also_builtin_errors():
    with pytest.raises(ValueError, match="is empty"):
        check_image(np.zeros((0, 3)))
    with pytest.raises(SeglabError, match="complex"):
        check_image(np.ones((3, 3), complex))


def test_rgba_alpha_is_dropped_and_said():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    with pytest.warns(ConversionWarning, match="alpha channel was dropped .*not uniform"):
        out, info = check_image(rgba)
    assert out.shape == (4, 4, 3) and info.channels == 3


def test_volume_vs_colour_is_explicit():
    volume = np.zeros((5, 6, 3), np.uint8)
    assert check_image(volume)[1].channels == 3
    assert check_image(volume, channel_axis=None)[1].spatial_shape == (5, 6, 3)


def test_mask_and_labels_checks():
    assert check_mask(np.array([[0, 255], [255, 0]], np.uint8)).sum() == 2
    with pytest.raises(InvalidImageError, match="3 distinct values"):
        check_mask(np.array([[0, 1], [2, 0]]))
    with pytest.raises(InvalidImageError, match="negative labels"):
        check_labels(np.array([[0, -1], [1, 2]]))
    with pytest.raises(ShapeMismatchError, match=r"`pred` has shape \(2, 3\); expected \(3, 3\), the shape of `truth`"):
        check_same_shape(np.zeros((3, 3)), np.zeros((2, 3)), reference_name="truth", other_name="pred")
