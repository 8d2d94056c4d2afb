"""Pre- and post-steps vs scikit-image / SciPy / OpenCV on camera 512x512 and, when not quick, the seeded
17480x8026 uint8 slice of benchmarks/cases/threshold.py.

Agreement: "equal" fraction where seglab promises equality; "max abs diff" for cv2.GaussianBlur (different kernel
discretisation, not used by seglab).
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case


def _equal(ours, peer):
    return "equal", float(np.mean(ours == peer))


def _max_abs(ours, peer):
    return "max abs diff", float(np.max(np.abs(np.asarray(ours, np.float64) - peer)))


def cases(quick: bool) -> list[Case]:
    from skimage import data

    from benchmarks.cases.threshold import synthetic_slice

    out: list[Case] = []
    inputs = [("camera 512x512 uint8", data.camera(), 5)]
    if not quick:
        inputs.append(("synthetic 17480x8026 uint8", synthetic_slice(), 3))
    for name, image, repeats in inputs:
        # A function per input binds `image` for its closures (a loop would late-bind the last input).
        out.extend(_cases_for(name, image, repeats))
    return out


def _cases_for(name: str, image: np.ndarray, repeats: int) -> list[Case]:
    import cv2
    from scipy import ndimage as ndi
    from skimage import filters, measure, morphology

    from seglab import postprocess, preprocess

    out: list[Case] = []
    big = image.size > 10**7
    mask = image > filters.threshold_otsu(image)
    u8mask = mask.view(np.uint8)
    footprint = morphology.disk(2)
    out.append(Case("median size=3", name, lambda: preprocess.median(image, size=3),
                    {"scipy median_filter nearest": lambda: ndi.median_filter(image, size=3, mode="nearest"),
                     "cv2.medianBlur": lambda: cv2.medianBlur(image, 3)},
                    _equal, image.nbytes * 2, repeats))
    out.append(Case("invert", name, lambda: preprocess.invert(image),
                    {"numpy 255 - x": lambda: 255 - image, "cv2.bitwise_not": lambda: cv2.bitwise_not(image)},
                    _equal, image.nbytes * 2, repeats))
    if not big:
        out.append(Case("gaussian sigma=2", name, lambda: preprocess.gaussian(image, sigma=2.0),
                        {"skimage gaussian preserve_range": lambda: filters.gaussian(image, sigma=2.0,
                                                                                     preserve_range=True)},
                        _equal, image.nbytes * 9, repeats))
        out.append(Case("gaussian sigma=2 vs cv2", name, lambda: preprocess.gaussian(image, sigma=2.0),
                        {"cv2.GaussianBlur f64 replicate": lambda: cv2.GaussianBlur(
                            image.astype(np.float64), (17, 17), 2.0, borderType=cv2.BORDER_REPLICATE)},
                        _max_abs, image.nbytes * 9, repeats, note="not used by seglab"))
    out.append(Case("opening radius=2", name, lambda: postprocess.opening(mask, radius=2),
                    {"skimage opening": lambda: morphology.opening(mask, footprint),
                     "cv2.morphologyEx": lambda: cv2.morphologyEx(u8mask, cv2.MORPH_OPEN,
                                                                  footprint.astype(np.uint8)).view(bool)},
                    _equal, mask.nbytes * 2, repeats))
    out.append(Case("label", name, lambda: postprocess.label(mask),
                    {"skimage label": lambda: measure.label(mask)},
                    _equal, mask.nbytes * 5, repeats, note="cv2 CCL_SAUF: raster-order labels"))
    out.append(Case("label vs cv2 default", name, lambda: int(postprocess.label(mask).max()),
                    {"cv2.connectedComponents (Spaghetti)": lambda: cv2.connectedComponents(
                        u8mask, connectivity=8, ltype=cv2.CV_32S)[0] - 1},
                    lambda a, b: ("same count", float(a == b)), 0, repeats,
                    note="Spaghetti numbers 8-connected labels in another order; count compared"))
    out.append(Case("fill_holes", name, lambda: postprocess.fill_holes(mask),
                    {"scipy binary_fill_holes": lambda: ndi.binary_fill_holes(mask)},
                    _equal, mask.nbytes * 2, repeats))
    return out
