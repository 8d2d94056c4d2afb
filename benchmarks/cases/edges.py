"""Edge filters vs scikit-image / OpenCV on camera 512x512, a colour image's gray 481x321 and a big slice.

Agreement: max relative difference to skimage (gradients), fraction of equal pixels (canny).
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case


def _max_rel(ours, peer):
    peer = np.asarray(peer, np.float64)
    return "max rel diff", float(np.max(np.abs(ours - peer)) / max(float(np.abs(peer).max()), 1e-12))


def _equal(ours, peer):
    return "equal", float(np.mean(ours == peer))


def _gray_images(quick):
    from skimage import color, data

    images = [("camera 512x512 uint8", data.camera())]
    gray = (color.rgb2gray(data.astronaut())[:321, :481] * 255).round().astype(np.uint8)
    images.append(("astronaut gray 321x481 uint8", gray))
    if not quick:
        gen = np.random.default_rng(0)
        images.append(("synthetic 17480x8026 uint8", gen.integers(0, 256, (17480, 8026), dtype=np.uint8)))
    return images


def cases(quick: bool) -> list[Case]:
    import cv2
    from skimage import feature, filters

    from seglab.edges import canny, laplace, scharr, sobel

    out = []
    for name, image in _gray_images(quick):
        big = image.size > 50_000_000
        repeats = 3 if big else 5
        out.append(Case(
            method="sobel", input_name=name, seglab=lambda image=image: sobel(image),
            peers={"skimage.filters.sobel": lambda image=image: filters.sobel(image)},
            agreement=_max_rel, repeats=repeats, nbytes=image.size * (1 + 8),
            note="ours also returns the orientation (arctan2), which skimage's call does not",
        ))
        out.append(Case(
            method="scharr", input_name=name, seglab=lambda image=image: scharr(image),
            peers={"skimage.filters.scharr": lambda image=image: filters.scharr(image)},
            agreement=_max_rel, repeats=repeats, nbytes=image.size * (1 + 8),
        ))
        out.append(Case(
            method="laplace", input_name=name, seglab=lambda image=image: laplace(image),
            peers={"skimage.filters.laplace": lambda image=image: filters.laplace(image)},
            agreement=_max_rel, repeats=repeats, nbytes=image.size * (1 + 4),
        ))
        if not big:
            out.append(Case(
                method="canny (opencv 100/200)", input_name=name,
                seglab=lambda image=image: canny(image, sigma=0, low_threshold=100, high_threshold=200,
                                                 scale="opencv"),
                peers={"cv2.Canny": lambda image=image: cv2.Canny(image, 100, 200) > 0},
                agreement=_equal, repeats=repeats, nbytes=image.size * 2,
            ))
            out.append(Case(
                method="canny (skimage)", input_name=name, seglab=lambda image=image: canny(image),
                peers={"skimage.feature.canny": lambda image=image: feature.canny(image)},
                agreement=_equal, repeats=repeats, nbytes=image.size * 2,
            ))
    return out
