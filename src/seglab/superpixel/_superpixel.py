"""Superpixels: SLIC (Achanta et al. 2012), Felzenszwalb-Huttenlocher (2004) and quickshift (Vedaldi & Soatto 2008).

Thin, exact wrappers over scikit-image: same parameters, same results, with
seglab's label convention (int32, labels 1..n, 0 unused). scikit-image's
``felzenszwalb`` and ``quickshift`` number segments from 0, so their labels
are shifted by +1; ``slic`` starts at ``start_label`` (1 by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import InvalidImageError, ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_image, check_labels, check_same_shape

__all__ = ["slic", "felzenszwalb", "quickshift", "region_average"]


def _as_int32(labels: np.ndarray) -> np.ndarray:
    return labels.astype(np.int32, copy=False)


@validated
def slic(image: ArrayLike, *, n_segments: int = 100, compactness: float = 10.0, max_num_iter: int = 10,
         sigma: float = 0.0, convert2lab: bool | None = None, enforce_connectivity: bool = True,
         min_size_factor: float = 0.5, max_size_factor: float = 3.0, slic_zero: bool = False,
         start_label: int = 1) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment an image into SLIC superpixels.

    Equals ``skimage.segmentation.slic(image, ..., channel_axis=-1 if colour
    else None)`` with the same parameters.

    Parameters
    ----------
    image : (M, N[, 3]) or (P, M, N[, 3]) ndarray
        Gray or RGB image, 2-D or 3-D.
    n_segments : int, optional
        Approximate number of superpixels.
    compactness : float, optional
        Balance of colour and space proximity; higher is squarer.
    max_num_iter : int, optional
        Iterations of k-means.
    sigma : float, optional
        Width of the Gaussian smoothing applied first.
    convert2lab : bool, optional
        Cluster in CIELAB; ``None`` means yes for RGB input.
    enforce_connectivity : bool, optional
        Make each superpixel connected.
    min_size_factor, max_size_factor : float, optional
        Bounds of segment size relative to the expected size.
    slic_zero : bool, optional
        Use SLIC-zero (adaptive compactness).
    start_label : {0, 1}, optional
        First label. 1 (default) keeps 0 free, as seglab's labels expect.

    Returns
    -------
    labels : ndarray of int32
        Superpixel labels, spatial shape of `image`.
        ``seglab.segment(image, "slic").info`` holds the values it chose: ``n_segments_found``.

    References
    ----------
    .. [1] Achanta, R. et al. (2012). SLIC superpixels compared to
           state-of-the-art superpixel methods. IEEE TPAMI 34(11),
           2274-2282. :DOI:`10.1109/TPAMI.2012.120`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.superpixel import slic
    >>> image = np.zeros((40, 40), np.uint8); image[:, 20:] = 200
    >>> labels = slic(image, n_segments=4, compactness=0.1)
    >>> int(labels.min()), len(np.unique(labels))
    (1, 4)
    """
    from skimage import segmentation

    array, info = check_image(image)
    if start_label not in (0, 1):
        raise ParameterError(f"`start_label` got {start_label!r}; expected 0 or 1")
    labels = segmentation.slic(
        array, n_segments=n_segments, compactness=compactness, max_num_iter=max_num_iter, sigma=sigma,
        convert2lab=convert2lab, enforce_connectivity=enforce_connectivity, min_size_factor=min_size_factor,
        max_size_factor=max_size_factor, slic_zero=slic_zero, start_label=start_label,
        channel_axis=-1 if info.is_color else None,
    )
    labels = _as_int32(labels)
    return labels, {"n_segments_found": int(np.unique(labels).size)}


@validated
def felzenszwalb(image: ArrayLike, *, scale: float = 1.0, sigma: float = 0.8,
                 min_size: int = 20) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment an image with Felzenszwalb and Huttenlocher's graph method.

    Equals ``skimage.segmentation.felzenszwalb(image, scale, sigma, min_size)
    + 1`` (scikit-image numbers segments from 0; seglab from 1).

    Parameters
    ----------
    image : (M, N[, 3]) ndarray
        Gray or RGB image.
    scale : float, optional
        Free parameter: higher means larger segments.
    sigma : float, optional
        Width of the Gaussian smoothing applied first.
    min_size : int, optional
        Minimum segment size in pixels (enforced after segmentation).

    Returns
    -------
    labels : (M, N) ndarray of int32
        Segment labels 1..n.
        ``seglab.segment(image, "felzenszwalb").info`` holds the values it chose:
        ``n_segments_found``.

    Notes
    -----
    OpenCV's ``cv2.ximgproc.segmentation.createGraphSegmentation`` implements
    the same paper about 3x faster with a quarter of the memory on 4096x4096
    images, but it smooths and weights edges differently, so its segments do
    not agree with scikit-image's; ``benchmarks/cases/superpixel.py``
    reports the agreement. seglab keeps scikit-image's result.

    References
    ----------
    .. [1] Felzenszwalb, P. F. and Huttenlocher, D. P. (2004). Efficient
           graph-based image segmentation. IJCV 59(2), 167-181.
           :DOI:`10.1023/B:VISI.0000022288.19776.77`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.superpixel import felzenszwalb
    >>> image = np.zeros((30, 30), np.uint8); image[:, 15:] = 255
    >>> labels = felzenszwalb(image, scale=100, sigma=0)
    >>> sorted(np.unique(labels).tolist())
    [1, 2]
    """
    from skimage import segmentation

    array, info = check_image(image)
    if info.spatial_ndim != 2:
        raise InvalidImageError(f"felzenszwalb works on 2-D images; got shape {array.shape}")
    labels = segmentation.felzenszwalb(array, scale=scale, sigma=sigma, min_size=int(min_size),
                                       channel_axis=-1 if info.is_color else None)
    labels = _as_int32(labels) + 1
    return labels, {"n_segments_found": int(labels.max())}


@validated
def quickshift(image: ArrayLike, *, ratio: float = 1.0, kernel_size: float = 5.0, max_dist: float = 10.0,
               sigma: float = 0.0, convert2lab: bool = True,
               rng: int = 42) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment a colour image with quickshift mode seeking.

    Equals ``skimage.segmentation.quickshift(image, ...) + 1``.

    Parameters
    ----------
    image : (M, N, 3) ndarray
        RGB image. (Through ``seglab.segment`` a gray image is stacked to
        three channels with a ``ConversionWarning``.)
    ratio : float, optional
        Between 0 and 1: weight of colour against space.
    kernel_size : float, optional
        Width of the Gaussian kernel estimating the density.
    max_dist : float, optional
        Cut-off distance of the data-distance tree: higher, fewer segments.
    sigma : float, optional
        Width of the Gaussian smoothing applied first.
    convert2lab : bool, optional
        Convert to CIELAB first.
    rng : int, optional
        Seed of the generator breaking ties between equal densities.

    Returns
    -------
    labels : (M, N) ndarray of int32
        Segment labels 1..n.
        ``seglab.segment(image, "quickshift").info`` holds the values it chose:
        ``n_segments_found``.

    References
    ----------
    .. [1] Vedaldi, A. and Soatto, S. (2008). Quick shift and kernel methods
           for mode seeking. ECCV. :DOI:`10.1007/978-3-540-88693-8_52`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.superpixel import quickshift
    >>> image = np.zeros((20, 20, 3), np.uint8); image[:, 10:] = (250, 10, 10)
    >>> labels = quickshift(image, kernel_size=2, max_dist=5)
    >>> int(labels.min()) >= 1 and labels.dtype.name
    'int32'
    """
    from skimage import segmentation

    array, info = check_image(image)
    if not info.is_color or info.spatial_ndim != 2:
        raise InvalidImageError(
            f"quickshift needs a 2-D RGB image (M, N, 3); got shape {array.shape}. For a gray image use "
            "np.stack([image] * 3, axis=-1)"
        )
    labels = segmentation.quickshift(array, ratio=ratio, kernel_size=kernel_size, max_dist=max_dist, sigma=sigma,
                                     convert2lab=convert2lab, rng=rng, channel_axis=-1)
    labels = _as_int32(labels) + 1
    return labels, {"n_segments_found": int(np.unique(labels).size)}


def region_average(image: ArrayLike, labels: ArrayLike, *, bg_label: int = 0,
                   bg_color: tuple[int, int, int] = (0, 0, 0)) -> NDArray[Any]:
    """Paint every region with its mean colour (as ``skimage.color.label2rgb(kind="avg")``).

    Parameters
    ----------
    image : (M, N[, 3]) ndarray
        Gray or RGB image.
    labels : (M, N) ndarray of int
        Regions.
    bg_label : int, optional
        Label painted with `bg_color` instead of its mean.
    bg_color : tuple of 3 numbers, optional
        Colour of background pixels.

    Returns
    -------
    out : (M, N, 3) ndarray
        Same dtype as `image` (means of integer images are truncated, as in
        scikit-image). Gray images give three equal channels.

    Notes
    -----
    One pass of ``np.bincount`` per channel instead of one mask per label,
    so the cost does not grow with the number of regions.

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.superpixel import region_average
    >>> image = np.array([[0, 10], [20, 30]], np.uint8)
    >>> region_average(image, np.array([[1, 1], [2, 2]]))[..., 0].tolist()
    [[5, 5], [25, 25]]
    """
    array = np.asarray(image)
    label_array = check_labels(labels)
    check_same_shape(np.broadcast_to(0, array.shape[: label_array.ndim]), label_array, reference_name="image",
                     other_name="labels")
    flat = label_array.ravel()
    channels = array.reshape(flat.size, -1) if array.ndim > label_array.ndim else array.reshape(flat.size, 1)
    counts = np.bincount(flat)
    present = counts > 0
    safe = np.where(present, counts, 1)
    means = np.stack([np.bincount(flat, weights=channels[:, c].astype(np.float64), minlength=counts.size) / safe
                      for c in range(channels.shape[1])], axis=-1)
    if means.shape[1] == 1:
        means = np.repeat(means, 3, axis=1)
    palette = means.astype(array.dtype)
    if 0 <= bg_label < palette.shape[0]:
        palette[bg_label] = np.asarray(bg_color).astype(array.dtype)
    return palette[flat].reshape(label_array.shape + (3,))
