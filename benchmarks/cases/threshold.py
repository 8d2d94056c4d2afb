"""Threshold family vs scikit-image (``image > threshold_xxx(image)``) and OpenCV on camera 512x512 and, when not
quick, a seeded synthetic 17480x8026 uint8 slice (smooth blobs + noise).

Agreement: fraction of equal pixels ("equal" where seglab promises equality; "agree" for OpenCV calls that are
different functions: adaptiveThreshold's Gaussian sigma and rounding differ from threshold_local's).
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case


def _equal(ours, peer):
    return "equal", float(np.mean(ours == peer))


def _agree(ours, peer):
    return "agree", float(np.mean(ours == peer))


def synthetic_slice(shape=(17480, 8026)) -> np.ndarray:
    """Seeded uint8 slice: a smooth random field upsampled (blobs) plus Gaussian noise."""
    import cv2

    gen = np.random.default_rng(0)
    coarse = gen.random((shape[0] // 64 + 1, shape[1] // 64 + 1)).astype(np.float32)
    field = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    image = np.empty(shape, np.uint8)
    for start in range(0, shape[0], 2048):
        rows = slice(start, start + 2048)
        block = np.where(field[rows] > 0.55, 170.0, 70.0) + gen.normal(0, 20, field[rows].shape)
        image[rows] = np.clip(block, 0, 255).astype(np.uint8)
    return image


def cases(quick: bool) -> list[Case]:
    from skimage import data


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
    from skimage import filters

    from seglab import threshold

    out: list[Case] = []
    nbytes = image.nbytes * 2  # read the image, write a bool mask
    big = image.size > 10**7
    for method in ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum"):
        if big and method not in ("otsu", "li", "mean", "triangle"):
            continue
        sk = getattr(filters, f"threshold_{method}")
        peers = {"skimage": (lambda sk=sk: image > sk(image))}
        if method == "otsu":
            peers["cv2 THRESH_OTSU"] = lambda: cv2.threshold(image, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
        out.append(Case(method, name, lambda m=method: getattr(threshold, m)(image), peers, _equal, nbytes,
                        repeats, note="uint8: one chunked cv2.calcHist, threshold from the histogram"))
    out.append(Case("manual", name, lambda: threshold.manual(image, threshold=127.5),
                    {"numpy image > t": lambda: image > 127.5,
                     "cv2.threshold": lambda: cv2.threshold(image, 127, 1, cv2.THRESH_BINARY)[1]},
                    _equal, nbytes, repeats))
    if not big:
        out.append(Case("multi_otsu", name, lambda: threshold.multi_otsu(image, classes=3),
                        {"skimage digitize(right=True)": lambda: np.digitize(
                            image, filters.threshold_multiotsu(image, classes=3), right=True)},
                        _equal, image.nbytes * 5, repeats))
        out.append(Case("local", name, lambda: threshold.local(image, block_size=51, offset=10),
                        {"skimage": lambda: image > filters.threshold_local(image, 51, offset=10)},
                        _equal, nbytes, repeats))
        out.append(Case("local", name + " vs cv2", lambda: threshold.local(image, block_size=51, offset=10),
                        {"cv2.adaptiveThreshold GAUSSIAN": lambda: cv2.adaptiveThreshold(
                            image, 1, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 10).view(bool)},
                        _agree, nbytes, repeats, note="different function: sigma 0.3*((k-1)/2-1)+0.8, rounding"))
        for method in ("niblack", "sauvola"):
            sk = getattr(filters, f"threshold_{method}")
            out.append(Case(method, name, lambda m=method: getattr(threshold, m)(image, window_size=25),
                            {"skimage": lambda sk=sk: image > sk(image, window_size=25)},
                            _equal, nbytes, repeats))
    return out
