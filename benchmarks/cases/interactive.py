"""Interactive methods vs scikit-image: random walker at beta=3000 (camera 512x512, and 1024x1024 when not
quick) and the active contour on astronaut.

Random walker: seglab's ``mode='amg'`` (AMG-CG to relative residual 1e-5) against scikit-image's default mode
(``cg_j``, which stops at 1e-3) and its exact ``bf`` mode. Agreement = fraction of equal pixels; the ``bf`` column
is agreement with the exact solution. 1024x1024 is camera upsampled (bilinear) with the seeds scaled.
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case


def _equal(ours, peer):
    peer = peer[0] if isinstance(peer, tuple) else peer
    return "equal", float(np.mean(np.asarray(ours) == np.asarray(peer)))


def _camera_seeds(n):
    from skimage import data, transform

    image = data.camera()
    if n != 512:
        image = transform.resize(image, (n, n), order=1, preserve_range=True, anti_aliasing=False).astype(np.uint8)
    rows, cols = np.mgrid[:n, :n]
    f = n / 512
    seeds = np.zeros((n, n), np.int32)
    seeds[(rows - 200 * f) ** 2 + (cols - 250 * f) ** 2 < (15 * f) ** 2] = 1  # the cameraman's head
    seeds[(rows < 5) | (rows >= n - 5) | (cols < 5) | (cols >= n - 5)] = 2  # a 5-pixel frame
    return image, seeds


def cases(quick: bool) -> list[Case]:
    import warnings

    from skimage import data
    from skimage.color import rgb2gray
    from skimage.filters import gaussian
    from skimage.segmentation import active_contour as sk_active_contour
    from skimage.segmentation import random_walker as sk_random_walker

    from seglab import segment as seglab_segment
    from seglab.interactive._random_walker import random_walker

    def quiet(function):
        def call():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return function()
        return call

    out = []
    for n in ([512] if quick else [512, 1024]):
        image, seeds = _camera_seeds(n)
        out.append(Case(
            method="random_walker", input_name=f"camera {n}x{n} uint8, beta=3000",
            seglab=lambda image=image, seeds=seeds: random_walker(image, seeds=seeds, beta=3000, mode="amg"),
            peers={
                "skimage cg_j (default)": quiet(lambda image=image, seeds=seeds:
                                                sk_random_walker(image, seeds, beta=3000)),
                "skimage bf (exact)": quiet(lambda image=image, seeds=seeds:
                                            sk_random_walker(image, seeds, beta=3000, mode="bf")),
            },
            agreement=_equal, repeats=1 if n > 512 else 3,
            note="seglab mode='amg' (tol 1e-5); cg_j stops at 1e-3 and disagrees with bf at this beta",
        ))
    gray = rgb2gray(data.astronaut())
    s = np.linspace(0, 2 * np.pi, 400)
    init = np.array([100 + 100 * np.sin(s), 220 + 100 * np.cos(s)]).T
    out.append(Case(
        method="active_contour", input_name="astronaut gray 512x512, circle (100, 220, 100)",
        seglab=lambda: seglab_segment(gray, "active_contour", contour=init, alpha=0.06, beta=0.3).contour,
        peers={"skimage": lambda: sk_active_contour(gaussian(gray, sigma=3, preserve_range=False), init,
                                                    alpha=0.06, beta=0.3)},
        agreement=lambda ours, peer: ("max abs diff px", float(np.max(np.abs(ours - peer)))),
        repeats=3, note="same smoothing (gaussian sigma=3) and parameters",
    ))
    return out
