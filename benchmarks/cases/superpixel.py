"""Superpixel benchmarks: SLIC and Felzenszwalb (seglab == skimage) against cv2.ximgproc as a reference.

The OpenCV implementations differ (smoothing, edge weights, cluster updates), so their agreement is an adjusted
Rand index (ARI, 1 = same partition) and seglab keeps scikit-image's results. Inputs: astronaut 512x512 RGB and,
unless quick, a 4096x4096 crop of a seeded synthetic RGB image.
"""

from __future__ import annotations

import numpy as np

from .._harness import Case


def _synthetic_rgb(size: int, seed: int, crop: int) -> np.ndarray:
    from .region import synthetic

    return np.stack([synthetic(size, seed=seed + k, crop=crop) for k in range(3)], axis=-1)


def _equal(a, b):
    return "equal", float(np.array_equal(np.asarray(a), np.asarray(b)))


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    return f"ARI (segments {len(np.unique(a))} vs {len(np.unique(b))})", float(adjusted_rand_score(a, b))


def _cases_for(image: np.ndarray, name: str, repeats: int) -> list[Case]:
    import cv2
    from skimage import segmentation

    from seglab.superpixel import felzenszwalb, region_average, slic

    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)

    def ours_felz():
        return felzenszwalb(image)

    def sk_felz():
        return segmentation.felzenszwalb(image) + 1

    def cv_felz():
        seg = cv2.ximgproc.segmentation.createGraphSegmentation(sigma=0.8, k=1, min_size=20)
        return seg.processImage(bgr)

    def ours_slic():
        return slic(image, n_segments=155, compactness=10, sigma=1)

    def sk_slic():
        return segmentation.slic(image, n_segments=155, compactness=10, sigma=1, start_label=1)

    def cv_slic():
        region = int(np.sqrt(image.shape[0] * image.shape[1] / 155))
        lab = cv2.cvtColor(cv2.GaussianBlur(bgr, (0, 0), 1), cv2.COLOR_BGR2LAB)
        sp = cv2.ximgproc.createSuperpixelSLIC(lab, algorithm=cv2.ximgproc.SLIC, region_size=region, ruler=10.0)
        sp.iterate(10)
        sp.enforceLabelConnectivity(50)
        return sp.getLabels()

    labels = sk_slic()

    def ours_avg():
        return region_average(image, labels)

    def sk_avg():
        from skimage.color import label2rgb

        return label2rgb(labels, image, kind="avg")

    return [
        Case("felzenszwalb", name, ours_felz, {"skimage (+1)": sk_felz}, _equal, repeats=repeats),
        Case("felzenszwalb", name, ours_felz, {"cv2.ximgproc graph segmentation": cv_felz}, _ari, repeats=repeats,
             note="different algorithm details; reference only"),
        Case("slic n_segments=155", name, ours_slic, {"skimage": sk_slic}, _equal, repeats=repeats),
        Case("slic n_segments=155", name, ours_slic, {"cv2.ximgproc SLIC (rough)": cv_slic}, _ari, repeats=repeats,
             note="region_size from n_segments, ruler=compactness: a rough reference"),
        Case("region_average", name, ours_avg, {"label2rgb(kind='avg')": sk_avg}, _equal, repeats=repeats,
             note="bincount per channel vs one mask per label"),
    ]


def cases(quick: bool) -> list[Case]:
    from skimage import data

    out = _cases_for(data.astronaut(), "astronaut 512x512 RGB", repeats=2 if quick else 5)
    if not quick:
        out += _cases_for(_synthetic_rgb(4608, 3, 4096), "synthetic 4096x4096 RGB (crop)", repeats=1)
    return out
