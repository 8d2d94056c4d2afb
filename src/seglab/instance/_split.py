"""Split touching objects: distance transform, its peaks as markers, watershed of -distance (Beucher 1979).

This is the scikit-image "Watershed segmentation" example
(``ndi.distance_transform_edt`` -> ``peak_local_max`` -> ``ndi.label`` of the
peaks -> ``watershed(-distance, markers, mask=mask)``), with an Otsu
threshold in front for the image method, and one difference: every connected
component of the mask is split on its own (its distance transform, peaks and
watershed never see another component), so an object's labels depend only on
its own pixels. That is what makes the split tileable exactly (a tile that
holds an object whole labels it as the whole-image run does).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ConstantImageWarning, ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray, check_mask, is_constant

__all__ = ["split_touching", "split_touching_mask"]


@validated
def split_touching_mask(mask: ArrayLike, *, min_distance: int = 7, exclude_border: bool = False,
                        compactness: float = 0.0, watershed_line: bool = False,
                        max_object_size: int = 256) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Give each of a mask's touching objects its own label.

    Each connected component of `mask` (connectivity 1, the watershed's) is
    processed independently: distance transform of that component alone,
    ``peak_local_max`` of it (``labels=`` the component), ``watershed`` of
    ``-distance`` inside it. This equals running the scikit-image gallery
    recipe on every component's bounding box separately (tested), but not the
    recipe on the whole mask: there ``peak_local_max(labels=mask)`` treats the
    mask as one label, so a peak within `min_distance` of a higher peak of
    *another* component is suppressed and that component gets no marker (its
    pixels stay 0), and one watershed over the whole image breaks ties
    between equal-valued markers by its queue layout, which depends on the
    other objects. Measured pixel agreement with the whole-mask recipe (best
    one-to-one label matching): 99.78 % on ``skimage.data.coins()`` (Otsu,
    ``min_distance=10``: 191 objects instead of 69, 257 foreground pixels no
    longer left at 0), 99.9985 % on ``seglab.data.nuclei()``, 99.9993 % on a
    2048 x 2048 mosaic of ``nuclei`` tiles (1943 objects instead of 1914);
    on a noisy mask where most components are specks within `min_distance`
    of a larger object, only 72.6 % (the recipe leaves those specks at 0).
    Labels are numbered in raster order of their markers.

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool
        Foreground mask (0/255 integer masks are accepted).
    min_distance : int, optional
        Smallest allowed distance between two markers (peaks of the distance
        transform), in pixels.
    exclude_border : bool, optional
        Ignore peaks closer than `min_distance` to the image border.
    compactness : float, optional
        Compact watershed weight; 0 is the classic watershed.
    watershed_line : bool, optional
        Separate touching objects with one-pixel lines of 0.
    max_object_size : int, optional
        Largest object extent (pixels, along any axis) a tiled run must hold:
        the tiler reads this much context around every tile and warns
        (:class:`~seglab.tiling.StitchWarning`) when an object reaches it.
        Not used in memory.

    Returns
    -------
    labels : ndarray of int32
        Objects 1..n, background 0.
        ``seglab.segment(image, "otsu", post=["split_touching"]).info["post"]["split_touching"]``
        holds the values it chose: ``n_objects``.

    References
    ----------
    .. [1] Beucher, S. and Lantuejoul, C. (1979). Use of watersheds in
           contour detection. International Workshop on Image Processing,
           Rennes.
    .. [2] scikit-image gallery, "Watershed segmentation",
           https://scikit-image.org/docs/stable/auto_examples/segmentation/plot_watershed.html

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.instance import split_touching_mask
    >>> rows, cols = np.mgrid[:40, :60]
    >>> mask = ((rows - 20) ** 2 + (cols - 20) ** 2 < 144) | ((rows - 20) ** 2 + (cols - 38) ** 2 < 144)
    >>> labels = split_touching_mask(mask)
    >>> int(labels.max())
    2
    """
    array = check_mask(mask)
    if int(min_distance) != min_distance or min_distance < 1:
        raise ParameterError(f"`min_distance` got {min_distance!r}; expected an integer >= 1")
    if compactness < 0:
        raise ParameterError(f"`compactness` got {compactness!r}; expected a number >= 0")
    if int(max_object_size) != max_object_size or max_object_size < 1:
        raise ParameterError(f"`max_object_size` got {max_object_size!r}; expected an integer >= 1")
    return _split(array, int(min_distance), bool(exclude_border), float(compactness), bool(watershed_line))


def _split(mask, min_distance, exclude_border, compactness, watershed_line):
    """Split every connected component of `mask` from its own pixels only (low-memory path when possible)."""
    if mask.any() and not mask.all():
        try:
            return _split_squared(mask, min_distance, exclude_border, compactness, watershed_line)
        except ImportError:  # pragma: no cover - scikit-image without the private peak helpers
            pass
    return _split_float(mask, min_distance, exclude_border, compactness, watershed_line)


def _split_float(mask, min_distance, exclude_border, compactness, watershed_line):
    """Split every connected component of `mask` from its own pixels only (float64 distance image).

    Components are 4-connected (``connectivity=1``, the watershed's). Per component:

    * distance transform: one whole-image ``distance_transform_edt`` equals, on
      every component, the transform of that component alone (the nearest pixel
      outside a component is always background: a straight 4-path from it to
      another component leaves it through a background pixel, at most as far);
    * peaks: ``peak_local_max(..., labels=components)`` already works label by
      label (each in its own bounding box, other labels masked out). Small
      components (extent <= `min_distance`, off the image edge) take a
      vectorised shortcut with the same result: their one peak is the first
      pixel, in raster order, at the component's maximum;
    * watershed: a component with one marker is that marker's region; one with
      several is flooded in its own bounding box. A single whole-image watershed
      would not do: markers enter its queue with equal age, so ties between
      equal-valued markers are broken by the queue's internal layout, which
      depends on every other marker in the image.

    Labels are the markers' numbers in raster order.
    """
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    if not mask.any():
        return np.zeros(mask.shape, np.int32), {"n_objects": 0}
    components, n = ndi.label(mask)  # default structure: connectivity 1, as the watershed floods
    distance = ndi.distance_transform_edt(mask)
    boxes = ndi.find_objects(components)
    peaks = _peaks(distance, components, n, boxes, min_distance, exclude_border, peak_local_max)
    markers, n_markers = ndi.label(peaks)
    # markers per component; a component's single marker labels all of it
    marker_component = np.zeros(n_markers + 1, np.int64)
    marker_component[markers[peaks]] = components[peaks]
    per_component, lut = _single_marker_table(marker_component, n)
    labels = lut[components]
    for component in np.flatnonzero(per_component > 1):
        box = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, size))
                    for s, size in zip(boxes[component - 1], mask.shape))
        own = components[box] == component
        flooded = watershed(-distance[box], np.where(own, markers[box], 0), mask=own, compactness=compactness,
                            watershed_line=watershed_line)
        labels[box][own] = flooded[own]
    return labels, {"n_objects": int(np.count_nonzero(np.bincount(labels.ravel())[1:]))}


# Pixels per strip of rows when the squared distances are formed from the feature transform.
_STRIP_PIXELS = 1 << 17


def _squared_distance(mask: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distance of every pixel to the nearest 0 of `mask`, as integers.

    ``ndi.distance_transform_edt(mask)`` is ``sqrt(float64(sum_i (ft_i - index_i) ** 2))`` of scipy's exact
    feature transform ``ft``; every term is an integer that float64 holds exactly, so it equals
    ``np.sqrt(D.astype(float64))`` of the integer ``D`` returned here, bit for bit. scipy's own call holds
    ``ft``, the index grids, their difference and two float64 copies (about four float64 images); here only
    ``ft`` (two int32 per pixel) and the result are whole images, ``D`` is formed in strips of rows.
    int32 unless the largest possible squared distance needs more.
    """
    from scipy import ndimage as ndi

    shape = mask.shape
    dtype = np.int32 if sum((n - 1) ** 2 for n in shape) < 2**31 else np.int64
    feature = np.empty((mask.ndim, *shape), np.int32)
    try:  # scipy's own kernel on a 0/1 int8 view of the mask: its wrapper's int64 np.where copy is avoided
        from scipy.ndimage import _nd_image

        _nd_image.euclidean_feature_transform(np.ascontiguousarray(mask, dtype=bool).view(np.int8), None, feature)
    except (ImportError, AttributeError):  # pragma: no cover - another scipy layout
        ndi.distance_transform_edt(mask, return_distances=False, return_indices=True, indices=feature)
    squared = np.empty(shape, dtype)
    plane = max(mask.size // max(shape[0], 1), 1)
    step = max(min(_STRIP_PIXELS // plane, shape[0] // 16 + 1), 1)
    grids = [np.arange(n, dtype=dtype).reshape((-1,) + (1,) * (mask.ndim - 1 - axis))
             for axis, n in enumerate(shape)]
    for start in range(0, shape[0], step):
        stop = min(start + step, shape[0])
        out = squared[start:stop]
        for axis in range(mask.ndim):
            # every square and the sum fit `dtype` (chosen from the largest possible squared distance)
            offset = feature[axis, start:stop].astype(dtype)
            np.subtract(offset, grids[axis][start:stop] if axis == 0 else grids[axis], out=offset)
            np.multiply(offset, offset, out=offset)
            if axis == 0:
                out[...] = offset
            else:
                out += offset
    return squared


def _split_squared(mask, min_distance, exclude_border, compactness, watershed_line):
    """:func:`_split_float` with the integer squared distance instead of the float64 distance image.

    The peaks depend on the distance only through comparisons (maximum filter, equality, a stable sort by
    value, the global minimum as threshold), and ``sqrt`` is strictly increasing on integers, so the integer
    squared distance gives the same peaks; the watershed of a component with several markers reads
    ``-sqrt(D)`` of its box in float64, the very values of ``-distance_transform_edt``. ``peak_local_max``
    with ``labels=`` is run label by label as scikit-image does inside it, without its whole-image int64
    copy of the labels. Temporaries: the feature transform while the distances are formed (two int32 per
    pixel), then the squared distance, the components and the markers (int32 each), box-sized arrays.
    Needs a mask with background (scipy's feature transform is undefined without it).
    """
    from scipy import ndimage as ndi
    from skimage.feature.peak import _get_high_intensity_peaks, _get_peak_mask

    squared = _squared_distance(mask)
    components, n = ndi.label(mask)  # default structure: connectivity 1, as the watershed floods
    boxes = ndi.find_objects(components)
    peaks = _peaks_squared(squared, components, n, boxes, min_distance, exclude_border, _get_peak_mask,
                           _get_high_intensity_peaks)
    markers, n_markers = ndi.label(peaks)
    at_peaks = np.flatnonzero(peaks.ravel())
    del peaks
    # markers kept sparse (peak positions and their marker ids): no whole-image marker array in the floods
    peak_marker = markers.ravel()[at_peaks]
    del markers
    peak_component = components.ravel()[at_peaks]
    marker_component = np.zeros(n_markers + 1, np.int64)
    marker_component[peak_marker] = peak_component
    per_component, lut = _single_marker_table(marker_component, n)
    multi = np.flatnonzero(per_component > 1)
    lut[multi] = -multi  # a component still to flood holds -its id: the components image can go
    labels = lut[components]
    del components
    order = np.argsort(peak_component, kind="stable")  # peak pixels grouped by component
    peaks_per_component = np.bincount(peak_component, minlength=n + 1)
    bounds = np.searchsorted(peak_component[order], multi)
    for component, first in zip(multi, bounds):
        box = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, size))
                    for s, size in zip(boxes[component - 1], mask.shape))
        own = labels[box] == -component
        mine = order[first:first + peaks_per_component[component]]
        where = np.unravel_index(at_peaks[mine], mask.shape)
        seeds = (tuple(w - b.start for w, b in zip(where, box)), peak_marker[mine])  # positions in the box, ids
        flooded = _flood(squared[box], seeds, own, compactness, watershed_line)
        np.copyto(labels[box], flooded, where=own)  # labels[box][own] = flooded[own], without the copy
        del flooded
    return labels, {"n_objects": int(np.count_nonzero(np.bincount(labels.ravel())[1:]))}


def _flood(squared, seeds, own, compactness, watershed_line):
    """``skimage.segmentation.watershed(-sqrt(squared), markers, mask=own, ...)`` with one padded float64 copy.

    `seeds` is ``(positions, ids)``: the markers image is 0 but ``markers[positions] = ids``. The same steps
    as scikit-image's function (markers times mask, zero padding of one pixel, raveled neighbourhood, marker
    positions in raster order, ``_watershed_cy.watershed_raveled``), but ``-distance`` is written straight
    into the padded array the flood reads (scikit-image makes the float64 copy and then the padded one), and
    the markers and the mask straight into their padded arrays (no box-sized markers image, product or
    unpadded int8 copy). Falls back to the public call where scikit-image lacks these private parts.
    """
    positions, ids = seeds
    try:
        from skimage.morphology._util import _offsets_to_raveled_neighbors, _validate_connectivity
        from skimage.segmentation import _watershed_cy
    except ImportError:  # pragma: no cover - depends on the installed scikit-image
        from skimage.segmentation import watershed

        markers = np.zeros(own.shape, np.int32)
        markers[positions] = ids
        return watershed(-np.sqrt(squared.astype(np.float64)), markers, mask=own, compactness=compactness,
                         watershed_line=watershed_line)
    footprint, offset = _validate_connectivity(own.ndim, 1, None)
    inner = tuple(slice(p, p + n) for p, n in zip(offset, own.shape))
    padded = np.zeros(tuple(n + 2 * int(p) for n, p in zip(own.shape, offset)), np.float64)
    elevation = padded[inner]
    elevation[...] = squared  # exact: integers below 2**53
    np.sqrt(elevation, out=elevation)
    np.negative(elevation, out=elevation)  # -distance_transform_edt, bit for bit
    mask = np.zeros(padded.shape, np.int8)
    mask[inner] = own  # np.pad(own.astype(np.int8), pad)
    output = np.zeros(padded.shape, np.int32)
    markers = output[inner]
    markers[positions] = ids
    markers *= own  # np.pad(markers * own, pad): the same int32 values
    del markers
    neighbourhood = _offsets_to_raveled_neighbors(padded.shape, footprint, center=offset)
    locations = np.flatnonzero(output)
    strides = np.array(padded.strides, dtype=np.intp) // padded.itemsize
    _watershed_cy.watershed_raveled(padded.ravel(), locations, neighbourhood, mask.ravel(), strides,
                                    compactness, output.ravel(), watershed_line)
    return output[inner]


def _small_components(shape, boxes, min_distance, exclude_border):
    """Which components are small enough for the vectorised peak rule, and the excluded border width.

    A small component lies inside every window (2 min_distance + 1) of its pixels and all its candidate
    peaks lie closer than min_distance to each other: peak_local_max keeps exactly its first maximum in
    raster order. Off the image edge its boundary pixels have distance 1, so a flat component has no
    interior (peak_local_max's "isolated pixels" rule then also makes every pixel a candidate).
    """
    size = np.array(shape)
    starts = np.array([[s.start for s in box] for box in boxes])
    stops = np.array([[s.stop for s in box] for box in boxes])
    border = min_distance if exclude_border else 0
    small = (np.all(stops - starts <= min_distance, axis=1) & np.all(starts > border, axis=1)
             & np.all(stops < size - border, axis=1))
    return small, border


def _peaks_squared(squared, components, n, boxes, min_distance, exclude_border, get_peak_mask,
                   get_high_intensity_peaks):
    """:func:`_peaks` on the squared distance, ``peak_local_max(labels=...)`` unrolled label by label."""
    small, border = _small_components(squared.shape, boxes, min_distance, exclude_border)
    peaks = np.zeros(squared.shape, bool)
    if small.any():  # the first pixel (raster order) at each small component's maximum
        # each small component's maximum, strip by strip (ndi.maximum sorts the whole image: 2 images of
        # int64 temporaries)
        top = np.zeros(n + 1, squared.dtype)
        flat_components = components.ravel()
        flat_squared = squared.ravel()
        plane = max(squared.size // max(squared.shape[0], 1), 1)
        step = max(min(_STRIP_PIXELS // plane, squared.shape[0] // 8 + 1), 1) * plane
        keep_small = np.concatenate([[False], small])
        for start in range(0, flat_components.size, step):
            part = flat_components[start:start + step]
            chosen = keep_small[part]
            np.maximum.at(top, part[chosen], flat_squared[start:start + step][chosen])
        found = []
        for start in range(0, flat_components.size, step):  # in strips: no whole-image temporaries
            part = flat_components[start:start + step]
            hit = keep_small[part] & (flat_squared[start:start + step] == top[part])
            found.append(np.flatnonzero(hit) + start)
        at_top = np.concatenate(found)
        _, first = np.unique(flat_components[at_top], return_index=True)
        peaks.ravel()[at_top[first]] = True
    # peak_local_max(distance, labels=slow components): the threshold is the whole image's minimum, the
    # border zone is cut from the labels, each label is searched in the box of what is left of it
    threshold = squared.min()
    footprint = np.ones((2 * min_distance + 1,) * squared.ndim, dtype=bool)
    background = np.iinfo(squared.dtype).min  # below every distance, as scikit-image's finfo(float64).min
    inner = tuple(slice(border, max(size - border, 0)) for size in squared.shape)
    for component in np.flatnonzero(~small) + 1:
        box = boxes[component - 1]
        cut = tuple(slice(max(b.start, i.start), min(b.stop, i.stop)) for b, i in zip(box, inner))
        if any(c.start >= c.stop for c in cut):
            continue
        present = components[cut] == component
        if not present.any():
            continue
        roi = []
        for axis, c in enumerate(cut):
            hit = np.flatnonzero(present.any(axis=tuple(a for a in range(present.ndim) if a != axis)))
            roi.append(slice(c.start + int(hit[0]), c.start + int(hit[-1]) + 1))
        region = tuple(roi)
        label_mask = components[region] == component
        values = squared[region].copy()
        values[~label_mask] = background
        candidates = get_peak_mask(values, footprint, threshold, label_mask)
        coords = get_high_intensity_peaks(values, candidates, np.inf, min_distance, np.inf)
        coords = coords + np.array([r.start for r in region])
        peaks[tuple(coords.T)] = True
    return peaks


def _single_marker_table(marker_component: NDArray[np.int64], n: int) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
    """Markers per component and a component -> label table (0 for background and for components to flood).

    `marker_component[m]` is the component of marker ``m`` (index 0 unused). A component with exactly one marker
    takes that marker's id without a flood; the others are left 0 for the caller.
    """
    n_markers = marker_component.size - 1
    per_component = np.bincount(marker_component[1:], minlength=n + 1)
    lut = np.zeros(n + 1, np.int32)
    single = np.flatnonzero(per_component == 1)
    first_marker = np.zeros(n + 1, np.int64)
    first_marker[marker_component[:0:-1]] = np.arange(n_markers, 0, -1)  # lowest marker id per component
    lut[single] = first_marker[single]
    lut[0] = 0
    return per_component, lut


def _peaks(distance, components, n, boxes, min_distance, exclude_border, peak_local_max):
    """``peak_local_max(distance, labels=components)`` as a bool image, small components vectorised."""
    from scipy import ndimage as ndi

    small, _ = _small_components(distance.shape, boxes, min_distance, exclude_border)
    if distance.min() > 0:  # no background: peak_local_max's threshold is not 0
        small[:] = False
    peaks = np.zeros(distance.shape, bool)
    if small.any():
        top = np.zeros(n + 1)
        top[1:] = ndi.maximum(distance, components, np.arange(1, n + 1))
        flat_components = components.ravel()
        at_top = np.flatnonzero((flat_components > 0) & (distance.ravel() == top[flat_components]))
        ids, first = np.unique(flat_components[at_top], return_index=True)
        keep = small[ids - 1]
        peaks.ravel()[at_top[first[keep]]] = True
    if not small.all():
        slow = np.concatenate([[False], ~small])[components]
        coords = peak_local_max(distance, min_distance=min_distance, exclude_border=exclude_border,
                                labels=np.where(slow, components, 0))
        peaks[tuple(coords.T)] = True
    return peaks


@validated
def split_touching(image: ArrayLike, *, invert: bool = False, min_distance: int = 7, exclude_border: bool = False,
                   compactness: float = 0.0, watershed_line: bool = False,
                   max_object_size: int = 256) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Threshold an image (Otsu) and split its touching objects.

    ``mask = image > threshold_otsu(image)`` (``<=`` when `invert`), then
    :func:`split_touching_mask`.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool, optional
        Objects are darker than the background.
    min_distance, exclude_border, compactness, watershed_line, max_object_size
        As in :func:`split_touching_mask`.

    Returns
    -------
    labels : ndarray of int32
        Objects 1..n, background 0. A constant image gives no objects and a
        :class:`~seglab.ConstantImageWarning` (``info["constant"]``).
        ``seglab.segment(image, "split_touching").info`` holds the values it chose: ``threshold``,
        ``n_objects``.

    References
    ----------
    .. [1] Otsu, N. (1979). A threshold selection method from gray-level
           histograms. IEEE TSMC 9(1), 62-66. :DOI:`10.1109/TSMC.1979.4310076`
    .. [2] Beucher, S. and Lantuejoul, C. (1979). Use of watersheds in
           contour detection.

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.instance import split_touching
    >>> rows, cols = np.mgrid[:40, :60]
    >>> disks = ((rows - 20) ** 2 + (cols - 20) ** 2 < 144) | ((rows - 20) ** 2 + (cols - 38) ** 2 < 144)
    >>> labels = split_touching(np.where(disks, 200, 30).astype(np.uint8))
    >>> int(labels.max())
    2
    """
    from skimage.filters import threshold_otsu

    array = check_gray(image, "method 'split_touching'")
    if is_constant(array):
        warnings.warn("the image is constant; split_touching found no objects", ConstantImageWarning, stacklevel=2)
        return np.zeros(array.shape, np.int32), {"threshold": float(array.flat[0]), "n_objects": 0,
                                                 "constant": True}
    threshold = float(threshold_otsu(array))
    mask = array <= threshold if invert else array > threshold
    # the parameters were checked against this method's own Params, which split_touching_mask shares
    labels, split_info = _split(mask, int(min_distance), bool(exclude_border), float(compactness),
                                bool(watershed_line))
    return labels, {"threshold": threshold, **split_info}
