"""kmeans vs scikit-learn KMeans (n_init=10, random_state=0) on 8-bit gray and colour.

Agreement is the inertia ratio ours / sklearn (<= 1 means ours is at least as good). The 8-bit gray path is the
exact optimum (histogram DP), so its ratio is <= 1 by construction. sklearn on a full 17480 x 8026 slice would take
many minutes, so the big case uses a 4096 x 4096 crop for the peer too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks._harness import Case

BSDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bsds500" / "images" / "test" / "100007.jpg"


def _colour_image():
    if BSDS.exists():
        import imageio.v3 as iio

        return iio.imread(BSDS), "BSDS 100007 481x321 RGB"
    from skimage import data, transform

    image = transform.resize(data.astronaut(), (321, 481), preserve_range=True, anti_aliasing=True)
    return image.round().astype(np.uint8), "astronaut resized 481x321 RGB"


def _inertia_ratio(ours, peer):
    return "inertia ratio", ours.info["inertia"] / peer.inertia_


def _synthetic(shape, seed=0):
    gen = np.random.default_rng(seed)
    rows = np.linspace(0, 6 * np.pi, shape[0], dtype=np.float32)[:, None]
    cols = np.linspace(0, 4 * np.pi, shape[1], dtype=np.float32)[None, :]
    base = 110 + 60 * np.sin(rows) * np.cos(cols)
    noise = gen.integers(-20, 21, size=shape, dtype=np.int16)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def cases(quick: bool) -> list[Case]:
    from skimage import data
    from sklearn.cluster import KMeans

    from seglab import segment  # the registry path: the inertia comes back in .info

    out = []
    camera = data.camera()
    out.append(Case(
        method="kmeans", input_name="camera 512x512 uint8, k=4",
        seglab=lambda: segment(camera, "kmeans", n_clusters=4),
        peers={"sklearn KMeans(n_init=10)": lambda: KMeans(4, n_init=10, random_state=0).fit(
            camera.reshape(-1, 1).astype(np.float64))},
        agreement=_inertia_ratio, repeats=3 if quick else 5,
        note="ours: exact optimum by histogram DP",
    ))
    colour, name = _colour_image()
    out.append(Case(
        method="kmeans", input_name=f"{name}, k=4",
        seglab=lambda: segment(colour, "kmeans", n_clusters=4),
        peers={"sklearn KMeans(n_init=10)": lambda: KMeans(4, n_init=10, random_state=0).fit(
            colour.reshape(-1, 3).astype(np.float64))},
        agreement=_inertia_ratio, repeats=3 if quick else 5,
        note="ours: weighted k-means on distinct colours, 10 seeded k-means++ starts",
    ))
    if not quick:
        crop = _synthetic((4096, 4096))
        out.append(Case(
            method="kmeans", input_name="synthetic 4096x4096 uint8 crop, k=4",
            seglab=lambda: segment(crop, "kmeans", n_clusters=4),
            peers={"sklearn KMeans(n_init=10)": lambda: KMeans(4, n_init=10, random_state=0).fit(
                crop.reshape(-1, 1).astype(np.float64))},
            agreement=_inertia_ratio, repeats=1, nbytes=crop.size * 5,
            note="peer on a crop: sklearn on 140 MP would exceed many minutes",
        ))
        big = _synthetic((17480, 8026))
        out.append(Case(
            method="kmeans", input_name="synthetic 17480x8026 uint8, k=4 (seglab only)",
            seglab=lambda: segment(big, "kmeans", n_clusters=4), peers={}, repeats=3, nbytes=big.size * 5,
            note="no peer: see the 4096x4096 row",
        ))
    return out
