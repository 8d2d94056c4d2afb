"""kmeans on gray images that are not 8/16-bit integers: block-wise distinct values, equal to the code before.

The code before took ``np.unique(image, return_inverse=True, return_counts=True)`` of the whole image (a sorted copy,
int64 positions and an int64 inverse: 3.6-4.6 float64 images of temporaries on 512 x 512) and handed scikit-learn a
float64 copy it copied again. ``_before`` below is that code, kept literally; every case checks the labels, their
dtype and the info (k, inertia, centres, path, the 'auto' curve) are identical, on odd sizes, volumes, several
dtypes and images that span several blocks (seams), and that the temporaries stay within two float64 images.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import SeglabWarning
from seglab.cluster import _kmeans
from seglab.cluster._kmeans import _optimal_partitions, _order_by_intensity, choose_knee, kmeans

pytest.importorskip("sklearn")


def _before(image, *, n_clusters=3, k_min=2, k_max=8, rng=0, n_init=10):
    """The previous computation for a gray image that is not 8/16-bit (position_weight=0), kept literally."""
    from sklearn.cluster import KMeans

    values, inverse, counts = np.unique(image.ravel(), return_inverse=True, return_counts=True)
    if values.size <= 1024:
        points = values.astype(np.float64)[:, None]
        weights = counts.astype(np.float64)
        inverse = inverse.ravel()
        path = "histogram-dp"
        distinct = points.shape[0]
    else:
        points = image.reshape(-1, 1).astype(np.float64)
        weights, inverse, path = None, None, "sklearn"
        distinct = np.unique(points, axis=0).shape[0] if points.shape[0] <= 4_000_000 else points.shape[0]
    auto = n_clusters == "auto"
    wanted = list(range(k_min, k_max + 1)) if auto else [n_clusters]
    usable = [k for k in wanted if k <= distinct] or [distinct]
    fits = {}
    if path == "histogram-dp":
        v = points[:, 0]
        for k, assignment in _optimal_partitions(v, weights, list(usable)).items():
            centers = (np.bincount(assignment, weights * v, k) / np.bincount(assignment, weights, k))[:, None]
            fits[k] = (assignment, centers, float(np.sum(weights * (v - centers[assignment, 0]) ** 2)))
    else:
        for k in usable:
            model = KMeans(n_clusters=k, n_init=n_init, random_state=rng).fit(points)
            fits[k] = (model.labels_, np.asarray(model.cluster_centers_, np.float64), float(model.inertia_))
    info: dict = {}
    if auto:
        k_values = np.array(usable)
        inertias = np.array([fits[k][2] for k in usable])
        chosen = choose_knee(k_values, inertias)
        info.update(k_values=k_values, inertias=inertias, chosen_by="knee")
    else:
        chosen = usable[0]
    point_labels, centers, inertia = fits[chosen]
    order = _order_by_intensity(centers[:, :1])
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    per_point = rank[point_labels]
    labels = per_point[inverse] if inverse is not None else per_point
    labels = labels.reshape(image.shape).astype(np.int32, copy=False)
    return labels, {"n_clusters": int(chosen), "inertia": float(inertia), "centers": centers[order].tolist(),
                    "path": path, **info}


def _assert_same(image, **params):
    got_labels, got = kmeans.__wrapped__(image, **params)
    want_labels, want = _before(image, **params)
    assert got_labels.dtype == np.int32 and got_labels.shape == image.shape
    np.testing.assert_array_equal(got_labels, want_labels)
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[key], value)
        else:
            assert got[key] == value, key  # floats compared exactly: the same operations on the same values
    return got


def _blobs(shape, seed=5):
    image, _ = seglab.data.blobs(shape, n_blobs=12, seed=seed)
    return image


GRAY = {
    # name: image (blocks are 16384 pixels or 1/16 of the image: the larger ones span several, with a remainder)
    "float32 odd 131x97": (_blobs((131, 97)) / 255).astype(np.float32),
    "float64 509x512 (16 blocks + remainder)": _blobs((509, 512)) / 7.0,
    "float16 61x67": (_blobs((61, 67)) / 4).astype(np.float16),
    "int32 negative 200x203": _blobs((200, 203)).astype(np.int32) * -1000,
    "uint32 143x151": _blobs((143, 151)).astype(np.uint32) * 65537,
    "int64 large 120x139": _blobs((120, 139)).astype(np.int64) * 2**40 - 2**50,
    "uint64 above 2**63 97x113": _blobs((97, 113)).astype(np.uint64) * 2**55,
    "volume float32 5x61x67": np.stack([_blobs((61, 67), seed=s) for s in range(5)]).astype(np.float32) / 3,
    "volume float64 3x101x103": np.stack([_blobs((101, 103), seed=s) for s in range(3)]) * 0.5,
}
# 0.0 and -0.0 are one value to np.unique (either may stand for it) and to the comparisons that label the pixels.
SIGNED_ZEROS = np.select([_blobs((150, 131)) > 200, _blobs((150, 131)) > 120, _blobs((150, 131)) > 60],
                         [3.0, 1.5, -0.0], 0.0)


@pytest.mark.parametrize("name", list(GRAY))
@pytest.mark.parametrize("params", [{}, {"n_clusters": 2}, {"n_clusters": 8}, {"n_clusters": 20},
                                    {"n_clusters": "auto", "k_min": 2, "k_max": 6}])
def test_histogram_path_equals_the_code_before(name, params):
    assert _assert_same(GRAY[name], **params)["path"] == "histogram-dp"


@pytest.mark.parametrize("params", [{}, {"n_clusters": 2}, {"n_clusters": "auto", "k_min": 2, "k_max": 3}])
def test_signed_zeros_equal_the_code_before(params):
    assert _assert_same(SIGNED_ZEROS, **params)["path"] == "histogram-dp"


def test_fewer_values_than_k_warns_and_equals_the_code_before():
    # Three distinct values (0.0 == -0.0), k=5: each value its own cluster, as before, with the warning.
    with pytest.warns(SeglabWarning, match="only 3 distinct value"):
        got_labels, got = kmeans.__wrapped__(SIGNED_ZEROS, n_clusters=5)
    want_labels, want = _before(SIGNED_ZEROS, n_clusters=5)
    np.testing.assert_array_equal(got_labels, want_labels)
    assert got == want and got["n_clusters"] == 3


def test_distinct_value_boundary_1024_and_1025():
    base = np.arange(1024, dtype=np.float64)
    gen = np.random.default_rng(4)
    # 1024 values: the exact DP; the values are spread so every block holds all of them.
    at_limit = gen.permutation(np.tile(base, 40)).reshape(160, 256) / 3
    assert _assert_same(at_limit)["path"] == "histogram-dp"
    # 1025 values, no block holding more than 1024 of them: only their union is over (scikit-learn's path).
    over = np.concatenate([np.tile(base, 20), [5000.0] * 16384]).reshape(-1, 128) / 3
    assert _kmeans._distinct_values(over, 1024) is None
    assert _assert_same(over, n_init=2)["path"] == "sklearn"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sklearn_path_equals_the_code_before(dtype):
    # Every value distinct: scikit-learn's KMeans, now on our one float64 copy with copy_x=False.
    gen = np.random.default_rng(7)
    image = (_blobs((67, 59)) + gen.normal(0.0, 2.0, (67, 59))).astype(dtype)
    assert _assert_same(image, n_init=3, rng=5)["path"] == "sklearn"
    assert _assert_same(image, n_clusters="auto", k_min=2, k_max=4, n_init=2)["path"] == "sklearn"


def test_labels_by_value_table_with_many_runs_takes_the_search_path():
    # Not what k-means produces (its groups are contiguous runs), but the lookup stays exact for any table.
    values = np.arange(300, dtype=np.float32) * 1.5
    table = (np.arange(300) % 7).astype(np.int32)
    image = np.random.default_rng(2).choice(values, (211, 97))
    expected = table[np.searchsorted(values, image)]
    np.testing.assert_array_equal(_kmeans._label_by_value(image, values, table), expected)



@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_temporaries_within_two_float64_images(dtype, segment_temporaries):
    # benchmarks/memory.py's measure: 3.63 (float32) / 4.63 (float64) float64 images before, 0.14 after.
    image = (_blobs((384, 384)) / 3).astype(dtype)
    assert segment_temporaries(image, "kmeans") <= 2.0
    assert segment_temporaries(image, "kmeans", n_clusters="auto") <= 2.0
