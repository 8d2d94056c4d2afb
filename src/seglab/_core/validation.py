"""Validation at the boundary: normalise input once, then trust it.

Every public function calls one of these helpers on its array arguments. Each
problem gets one message that names the argument, what was received, what was
expected and how to fix it. Internals assume the checks have passed.

Policies (documented once, here):

* empty arrays, a single pixel, NaN/inf, complex, object arrays and more than
  4 dimensions are refused;
* ``bool`` is refused as an intensity image (it is a mask); masks and labels
  go through :func:`check_mask` / :func:`check_labels` instead;
* signed integers and 16/32-bit integers are kept as they are: their values
  are honoured, never rescaled behind the user's back;
* RGBA: the alpha channel is dropped with a :class:`ConversionWarning` that
  says so (transparent pixels keep their colour);
* a constant image is valid input; what a method does with it is that
  method family's documented policy (thresholds: empty mask plus a
  :class:`ConstantImageWarning`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import (
    ConversionWarning,
    ImageTypeError,
    InvalidImageError,
    ParameterError,
    ShapeMismatchError,
    short_repr,
)

__all__ = [
    "ImageInfo",
    "check_image",
    "check_mask",
    "check_labels",
    "check_same_shape",
    "as_float_image",
    "is_constant",
    "describe_array",
]

MAX_DIMS = 4


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`check_image` learnt about an image.

    Attributes
    ----------
    spatial_shape : tuple of int
        Shape without the channel axis, (rows, cols) or (planes, rows, cols).
    channels : int
        1 for a single-channel image, 3 for colour.
    """

    spatial_shape: tuple[int, ...]
    channels: int

    @property
    def spatial_ndim(self) -> int:
        return len(self.spatial_shape)

    @property
    def is_color(self) -> bool:
        return self.channels > 1


def describe_array(array: np.ndarray) -> str:
    """Return 'shape (M, N), dtype uint8' for error messages."""
    return f"shape {tuple(array.shape)}, dtype {array.dtype}"


def has_channel_axis(shape: tuple[int, ...]) -> bool:
    """The one channel rule of ``channel_axis='auto'``: channels are last, on a 4-D array or a 3-D one of 3 or 4.

    Readers, writers, the tiler, the limits and the workflows all ask this function, so one array is
    never colour in one room and a volume in another. A (Z, Y, X) stack of 3 or 4 planes is therefore read
    as colour; pass ``channel_axis=None`` to say otherwise.
    """
    return len(shape) == 4 or (len(shape) == 3 and int(shape[-1]) in (3, 4))


def _infer_channel_axis(array: np.ndarray, channel_axis, name: str = "image"):
    if isinstance(channel_axis, str) and channel_axis == "auto":
        pass
    elif channel_axis is None:
        return None
    elif isinstance(channel_axis, (int, np.integer)) and not isinstance(channel_axis, bool):
        axis = int(channel_axis)
        if not -array.ndim <= axis < array.ndim:
            raise InvalidImageError(
                f"`channel_axis` got {axis} for `{name}` of {describe_array(array)}; expected an axis "
                f"from {-array.ndim} to {array.ndim - 1}, None (no channels) or 'auto'"
            )
        return axis % array.ndim
    else:
        raise ParameterError(
            f"`channel_axis` got {short_repr(channel_axis)}; expected 'auto', None or an integer axis such as -1"
        )
    return -1 if has_channel_axis(array.shape) else None


def check_image(image: ArrayLike, *, name: str = "image", channel_axis: int | str | None = "auto",
                min_size: int = 2) -> tuple[NDArray[Any], ImageInfo]:
    """Validate an intensity image and return it with its description.

    Parameters
    ----------
    image : array_like, (M, N), (M, N, C), (P, M, N) or (P, M, N, C)
        The image. ``C`` is 3 (RGB) or 4 (RGBA, alpha dropped with a warning).
    name : str
        The argument's name, used in messages.
    channel_axis : {'auto', None, -1}
        ``'auto'``: a last axis of length 3 or 4 on a 3-D array (and always on
        a 4-D array) holds channels. ``None``: no channel axis (a 3-D array
        is a volume). ``-1``: the last axis holds channels.
    min_size : int
        Smallest allowed length of every spatial axis.

    Returns
    -------
    image : ndarray
        The validated image, channels last; RGBA reduced to RGB.
    info : ImageInfo
        Spatial shape and channel count.

    Raises
    ------
    ImageTypeError
        Complex, object or boolean data.
    InvalidImageError
        Empty, too small, more than 4 dims, NaN or inf values.
    """
    if isinstance(image, np.ma.MaskedArray) and np.ma.is_masked(image):
        # the mask would be ignored silently (methods see the values under it)
        raise ImageTypeError(f"`{name}` is a masked array with masked pixels; seglab methods do not read masks: "
                             f"fill them first, e.g. {name}.filled(0), or segment {name}.data")
    if isinstance(image, np.ndarray):
        array = image
    else:
        try:
            array = np.asarray(image)
        except (TypeError, ValueError) as exc:
            raise ImageTypeError(f"`{name}` could not be read as an array: {exc}") from None
    if array.dtype == object or array.dtype.kind in "USVMm":
        raise ImageTypeError(
            f"`{name}` has dtype {array.dtype}; expected a numeric array (uint8, uint16, float32, ...)"
        )
    if array.dtype.kind == "c":
        raise ImageTypeError(
            f"`{name}` is complex ({array.dtype}); segment its magnitude instead: np.abs({name})"
        )
    if array.dtype.kind == "b":
        raise ImageTypeError(
            f"`{name}` is boolean, which looks like a mask, not an intensity image; "
            f"convert it first if you mean it as one: {name}.astype(np.uint8) * 255"
        )
    if array.size == 0:
        raise InvalidImageError(f"`{name}` is empty ({describe_array(array)}); nothing to segment")
    if array.ndim > MAX_DIMS:
        raise InvalidImageError(
            f"`{name}` has {array.ndim} dimensions ({describe_array(array)}); at most {MAX_DIMS} are "
            "supported: (rows, cols), (rows, cols, channels), (planes, rows, cols) or "
            "(planes, rows, cols, channels)"
        )
    if array.ndim < 2:
        raise InvalidImageError(
            f"`{name}` has {array.ndim} dimension(s) ({describe_array(array)}); expected at least 2 "
            "(rows, cols)"
        )
    axis = _infer_channel_axis(array, channel_axis, name)
    if axis is not None:
        if axis not in (-1, array.ndim - 1):
            array = np.moveaxis(array, axis, -1)
        n_channels = array.shape[-1]
        if n_channels == 4:
            alpha = array[..., 3]
            transparent = bool(alpha.min() != alpha.max())
            warnings.warn(
                f"`{name}` is RGBA; the alpha channel was dropped"
                + (" (it was not uniform: transparent pixels keep their colour)" if transparent else ""),
                ConversionWarning,
                stacklevel=3,
            )
            array = array[..., :3]
            n_channels = 3
        elif n_channels == 1:
            array = array[..., 0]
        elif n_channels != 3 and channel_axis == "auto" and array.ndim == 4:
            # a 4-D array is read as (planes, rows, cols, channels); "64 channels" misled for the usual
            # microscopy layout (planes, channels, rows, cols) of ImageJ hyperstacks and OME-TIFFs
            raise InvalidImageError(
                f"`{name}` has 4 dimensions ({describe_array(array)}), read as (planes, rows, cols, channels) "
                f"with 1, 3 or 4 channels, but its last axis has {n_channels}. A multi-channel stack (planes, "
                f"channels, rows, cols), as ImageJ hyperstacks and OME-TIFFs store it, needs one channel "
                f"picked first, e.g. {name}[:, 0] (or each channel saved as its own file)"
            )
        elif n_channels != 3:
            raise InvalidImageError(
                f"`{name}` has {n_channels} channels ({describe_array(array)}); expected 1, 3 (RGB) or "
                "4 (RGBA). For a volume pass channel_axis=None"
            )
        spatial = array.shape[:-1] if n_channels == 3 else array.shape
        channels = n_channels
    else:
        spatial = array.shape
        channels = 1
    if len(spatial) > 3:
        raise InvalidImageError(
            f"`{name}` has {len(spatial)} spatial dimensions ({describe_array(array)}); at most 3 "
            "(planes, rows, cols) are supported"
        )
    if len(spatial) < 2:
        raise InvalidImageError(f"`{name}` has no 2-D extent ({describe_array(array)})")
    if min(spatial) < min_size:
        raise InvalidImageError(
            f"`{name}` is too small ({describe_array(array)}); every spatial axis needs at least "
            f"{min_size} pixels"
        )
    if array.dtype.kind == "f":
        _check_float_values(array, name)
    if not array.dtype.isnative:
        # big-endian data (FITS, some TIFF/.npy writers): ufuncs with a dtype= argument, OpenCV and
        # SciPy's C filters refuse it or misread it; the same values in native order
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.float16:
        # SciPy's filters (median, ...) refuse float16 and scikit-image's CLAHE returned a constant image
        # for it; float32 holds every float16 value exactly
        array = array.astype(np.float32)
    return array, ImageInfo(spatial_shape=tuple(int(s) for s in spatial), channels=int(channels))


def _check_float_values(array: np.ndarray, name: str) -> None:
    """Refuse NaN/inf, and a value range that overflows the dtype (histograms and filters need max - min)."""
    with np.errstate(over="ignore", invalid="ignore"):
        low, high = array.min(), array.max()
        span = high - low  # NaN when a NaN is present, inf when an inf is or the range overflows
    if np.isfinite(span):
        return
    if not (np.isfinite(low) and np.isfinite(high)):
        n_nan = int(np.isnan(array).sum())
        n_inf = int(np.isinf(array).sum())
        raise InvalidImageError(
            f"`{name}` contains {n_nan} NaN and {n_inf} infinite value(s); replace them first, e.g. "
            f"np.nan_to_num({name}, nan=0.0) or a masked fill"
        )
    wider = "" if array.dtype.itemsize >= 8 else f", or convert it to float64: {name}.astype(np.float64)"
    raise InvalidImageError(
        f"`{name}`'s values span {float(low):.4g} to {float(high):.4g}, a range {array.dtype} cannot hold "
        f"(max - min overflows; histograms and filters need it); scale the image first, e.g. {name} / "
        f"{max(abs(float(low)), abs(float(high))):.0e}{wider}"
    )



def gray_only_message(what: str, subject: str, shape: tuple[int, ...]) -> str:
    """The one message for a colour image given to something that needs a single-channel one."""
    return (f"{what} works on single-channel images, but {subject} is colour (shape {shape}); convert it first: "
            "pre=['grayscale'] in seglab.segment (CLI: --pre grayscale), or seglab.preprocess.grayscale(image)")


def check_gray(image: ArrayLike, what: str, *, name: str = "image", spatial_ndim: int | None = None) -> np.ndarray:
    """Validate a single-channel image: the one rule every gray-only function and step uses.

    Parameters
    ----------
    image : array_like
        The input.
    what : str
        Who needs it, for the message (``"threshold 'otsu'"``, ``"method 'watershed'"``).
    name : str
        The argument's name, for the message.
    spatial_ndim : int, optional
        Refuse other spatial dimensionalities (e.g. 2 for methods that have no 3-D form).

    Raises
    ------
    InvalidImageError
        A colour image (with :func:`gray_only_message`), or the wrong number of dimensions.
    """
    array, info = check_image(image, name=name)
    if info.is_color:
        raise InvalidImageError(gray_only_message(what, f"`{name}`", array.shape))
    if spatial_ndim is not None and info.spatial_ndim != spatial_ndim:
        raise InvalidImageError(f"{what} works on {spatial_ndim}-D images; got shape {array.shape}. "
                                "Run it slice by slice")
    return array

def check_mask(mask: ArrayLike, *, name: str = "mask") -> np.ndarray:
    """Validate a binary mask and return it as ``bool``.

    Accepts ``bool`` arrays and integer/float arrays holding exactly two values
    ``{0, v}`` (``0`` is background), such as PNG masks saved as 0/255.

    Raises
    ------
    InvalidImageError
        Empty arrays, NaN values or more than two distinct values.
    """
    array = np.asarray(mask)
    if array.size == 0:
        raise InvalidImageError(f"`{name}` is empty ({describe_array(array)})")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "uif":
        raise ImageTypeError(f"`{name}` has dtype {array.dtype}; expected bool or a 0/255 integer mask")
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        # A mask saved as an RGB(A) PNG: all colour channels must agree.
        rgb = array[..., :3]
        if not (rgb == rgb[..., :1]).all():
            raise InvalidImageError(
                f"`{name}` is a colour image ({describe_array(array)}) whose channels differ; expected a "
                "single-channel mask"
            )
        array = rgb[..., 0]
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InvalidImageError(f"`{name}` contains NaN or infinite values")
    values = np.unique(array) if array.size <= 4_000_000 else np.unique(array[:: max(1, array.shape[0] // 512)])
    nonzero = values[values != 0]
    if nonzero.size > 1:
        raise InvalidImageError(
            f"`{name}` has {values.size} distinct values ({_few(values)}); a binary mask has two "
            "(0 = background and one foreground value). For label images use a labels-aware function"
        )
    return array != 0


def check_labels(labels: ArrayLike, *, name: str = "labels") -> np.ndarray:
    """Validate a label image (0 = background, positive integers = regions).

    Boolean masks are accepted and become labels {0, 1}. Integer-valued floats
    are accepted; fractional or negative values are refused.
    """
    array = np.asarray(labels)
    if array.size == 0:
        raise InvalidImageError(f"`{name}` is empty ({describe_array(array)})")
    if array.dtype == bool:
        return array.astype(np.int32)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
            raise InvalidImageError(f"`{name}` holds non-integer values; labels must be whole numbers")
        array = array.astype(np.int64)
    if array.dtype.kind not in "ui":
        raise ImageTypeError(f"`{name}` has dtype {array.dtype}; expected an integer label image")
    if array.dtype.kind == "i" and array.size and array.min() < 0:
        raise InvalidImageError(f"`{name}` has negative labels (min {array.min()}); use 0 for background")
    return array


def check_same_shape(reference, other, *, reference_name: str, other_name: str) -> None:
    """Raise :class:`ShapeMismatchError` unless the two arrays share a shape."""
    ref_shape = tuple(np.shape(reference))
    other_shape = tuple(np.shape(other))
    if ref_shape != other_shape:
        hint = ""
        for name, shape, partner in ((reference_name, ref_shape, other_shape), (other_name, other_shape, ref_shape)):
            if len(shape) == len(partner) + 1 and shape[:-1] == partner and shape[-1] in (3, 4):
                # a mask or label image saved in colour by a paint program or a viewer's export
                hint = (f" (`{name}` is a colour image of the same size: save it with one channel, or pass "
                        f"{name}[..., 0] when its channels are equal)")
        raise ShapeMismatchError(
            f"`{other_name}` has shape {other_shape}; expected {ref_shape}, the shape of `{reference_name}`{hint}"
        )


def as_float_image(image: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Return the image as floats in its own value range (no rescaling)."""
    if image.dtype == dtype:
        return image
    return image.astype(dtype)


def is_constant(image: np.ndarray) -> bool:
    """True when every pixel holds the same value."""
    return bool(image.min() == image.max())


def _few(values: np.ndarray, limit: int = 6) -> str:
    head = ", ".join(str(v) for v in values[:limit])
    return head + (", ..." if values.size > limit else "")
