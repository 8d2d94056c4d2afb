"""Region and instance benchmarks: watershed (skimage vs cv2.watershed), the OpenCV recipe, measure vs regionprops.

Inputs: a seeded synthetic image (smooth random field, upsampled, plus noise) of 512x512 and, unless quick, a
4096x4096 crop of a 4608x4608 one. Agreement: 'equal' only where outputs must be identical; 'frac same' is the
fraction of pixels with the same label (cv2's -1 boundary pixels count as different).
"""

from __future__ import annotations

import numpy as np

from .._harness import Case


def synthetic(size: int, seed: int = 0, crop: int | None = None) -> np.ndarray:
    """Seeded uint8 image of bright and dark blobs: a smoothed random field, upsampled 8x, plus noise."""
    import cv2
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.random((size // 8, size // 8)), 2.0)
    field = (field - field.min()) / (np.ptp(field) or 1.0)
    big = cv2.resize(field.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    image = np.clip(big * 220 + 20 + rng.normal(0, 8, big.shape), 0, 255).astype(np.uint8)
    if crop:
        image = np.ascontiguousarray(image[:crop, :crop])
    return image


def _frac_same(a, b):
    return "frac same", float(np.mean(np.asarray(a) == np.asarray(b)))


def _equal(a, b):
    return "equal", float(np.array_equal(np.asarray(a), np.asarray(b)))


def _table_agreement(ours, ref):
    pairs = {"label": "label", "area": "area", "centroid_row": "centroid-0", "centroid_col": "centroid-1",
             "bbox_min_row": "bbox-0", "bbox_min_col": "bbox-1", "bbox_max_row": "bbox-2", "bbox_max_col": "bbox-3",
             "perimeter": "perimeter", "eccentricity": "eccentricity",
             "equivalent_diameter": "equivalent_diameter_area", "mean_intensity": "intensity_mean",
             "min_intensity": "intensity_min", "max_intensity": "intensity_max"}
    ok = [np.allclose(ours[a], ref[b], rtol=0, atol=1e-9) for a, b in pairs.items()]
    return "cols within 1e-9", float(np.mean(ok))


def _cases_for(image: np.ndarray, name: str, repeats: int) -> list[Case]:
    import cv2
    from skimage import filters, measure as skmeasure, segmentation

    from seglab.instance import measure, split_touching
    from seglab.region import watershed, watershed_distance

    low, high = 60, 180
    markers = np.zeros(image.shape, np.int32)
    markers[image < low] = 1
    markers[image > high] = 2

    def sk_watershed():
        return segmentation.watershed(filters.sobel(image), markers)

    def cv_watershed():
        return cv2.watershed(cv2.merge([image, image, image]), markers.copy())

    def ours():
        return watershed(image, low=low, high=high)

    def ours_cv():
        return watershed(image, low=low, high=high, backend="opencv")

    labels = split_touching(image, min_distance=7)

    def ours_measure():
        return measure(labels, image)

    def sk_measure():
        return skmeasure.regionprops_table(labels, image, properties=(
            "label", "area", "centroid", "bbox", "perimeter", "eccentricity", "equivalent_diameter_area",
            "intensity_mean", "intensity_min", "intensity_max"))

    def ours_fast_columns():
        return measure(labels, image, properties=("area", "centroid", "bbox", "equivalent_diameter", "intensity"))

    def sk_fast_columns():
        return skmeasure.regionprops_table(labels, image, properties=(
            "label", "area", "centroid", "bbox", "equivalent_diameter_area", "intensity_mean", "intensity_min",
            "intensity_max"))

    def fast_agreement(ours_table, ref):
        pairs = {"area": "area", "centroid_row": "centroid-0", "centroid_col": "centroid-1", "bbox_max_col": "bbox-3",
                 "mean_intensity": "intensity_mean", "max_intensity": "intensity_max"}
        ok = [np.allclose(ours_table[a], ref[b], rtol=0, atol=1e-9) for a, b in pairs.items()]
        return "cols within 1e-9", float(np.mean(ok))

    def tutorial():
        _, thresh = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        kernel = np.ones((3, 3), np.uint8)
        opening = cv2.morphologyEx(thresh, cv2.MORPH_OPEN, kernel, iterations=2)
        sure_bg = cv2.dilate(opening, kernel, iterations=3)
        dist = cv2.distanceTransform(opening, cv2.DIST_L2, 5)
        _, sure_fg = cv2.threshold(dist, 0.7 * dist.max(), 255, 0)
        sure_fg = np.uint8(sure_fg)
        unknown = cv2.subtract(sure_bg, sure_fg)
        _, m = cv2.connectedComponents(sure_fg)
        m = m + 1
        m[unknown == 255] = 0
        out = cv2.watershed(cv2.merge([image, image, image]), m)
        return np.where(out > 1, out - 1, 0)

    n_objects = int(labels.max())
    return [
        Case("watershed (bands 60/180)", name, ours, {"skimage watershed(sobel)": sk_watershed}, _equal,
             nbytes=image.size * 5, repeats=repeats, note="default backend = skimage, exact"),
        Case("watershed (bands 60/180)", name, ours, {"cv2.watershed": cv_watershed}, _frac_same,
             repeats=repeats, note="cv2 floods its own elevation, ties differ, -1 lines; not the default"),
        Case("watershed backend=opencv", name, ours_cv, {"skimage watershed(sobel)": sk_watershed}, _frac_same,
             repeats=repeats, note="opt-in fast path; -1 lines filled from neighbours"),
        Case("watershed_distance", name, lambda: watershed_distance(image), {"OpenCV tutorial": tutorial},
             _equal, repeats=repeats),
        Case("measure (all columns)", f"{name}, {n_objects} objects", ours_measure,
             {"regionprops_table": sk_measure}, _table_agreement, repeats=repeats,
             note="perimeter/eccentricity come from regionprops_table in both"),
        Case("measure (bincount columns)", f"{name}, {n_objects} objects", ours_fast_columns,
             {"regionprops_table": sk_fast_columns}, fast_agreement, repeats=repeats,
             note="area, centroid, bbox, diameter, intensity"),
    ]


def cases(quick: bool) -> list[Case]:
    image = synthetic(512, seed=0)
    out = _cases_for(image, "synthetic 512x512 uint8", repeats=2 if quick else 5)
    if not quick:
        big = synthetic(4608, seed=1, crop=4096)
        out += _cases_for(big, "synthetic 4096x4096 uint8 (crop)", repeats=3)
    return out
