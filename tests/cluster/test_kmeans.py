"""kmeans: exact gray optimum (brute force, multi-Otsu, scikit-learn), colour inertia vs scikit-learn, 'auto'."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import seglab
from seglab._core.errors import ParameterError, SeglabWarning
from seglab.cluster import choose_knee, kmeans, optimal_kmeans_1d

skimage_data = pytest.importorskip("skimage.data")


def _pixel_inertia(image, labels, centers):
    features = image.reshape(labels.size, -1).astype(np.float64)
    c = np.asarray(centers, np.float64)
    return float(((features - c[labels.ravel() - 1]) ** 2).sum())


def _brute_force_sse(values, weights, k):
    best = np.inf
    n = len(values)
    for cuts in itertools.combinations(range(1, n), k - 1):
        bounds = (0, *cuts, n)
        sse = 0.0
        for a, b in zip(bounds[:-1], bounds[1:]):
            v, w = values[a:b], weights[a:b]
            sse += float(np.sum(w * (v - np.average(v, weights=w)) ** 2))
        best = min(best, sse)
    return best


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_dp_equals_brute_force_on_small_histogram(k):
    gen = np.random.default_rng(3)
    values = np.sort(gen.choice(256, 11, replace=False)).astype(float)
    weights = gen.integers(1, 500, 11).astype(float)
    _, sse = optimal_kmeans_1d(values, weights, k)
    assert sse == pytest.approx(_brute_force_sse(values, weights, k), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("k", [2, 3, 4, pytest.param(5, marks=pytest.mark.slow)])  # skimage's k=5 takes ~10 s
def test_gray_partition_equals_multiotsu(k):
    from skimage.filters import threshold_multiotsu

    camera = skimage_data.camera()
    result = seglab.segment(camera, "kmeans", n_clusters=k)
    labels, info = result.data, result.info
    thresholds = threshold_multiotsu(camera, classes=k)
    # Classes as multi-Otsu's thresholds mean them: a value equal to a threshold closes the lower class.
    expected = np.digitize(camera, thresholds, right=True) + 1
    np.testing.assert_array_equal(labels, expected)
    assert info["path"] == "histogram-dp"
    assert info["inertia"] == pytest.approx(_pixel_inertia(camera, labels, info["centers"]), rel=1e-12)


def test_gray_optimum_not_worse_than_sklearn():
    from sklearn.cluster import KMeans

    camera = skimage_data.camera()[::4, ::4]  # 128x128 keeps scikit-learn's 10 starts quick
    info = seglab.segment(camera, "kmeans", n_clusters=4).info
    ref = KMeans(n_clusters=4, n_init=10, random_state=0).fit(camera.reshape(-1, 1).astype(np.float64))
    assert info["inertia"] <= ref.inertia_ * (1 + 1e-9)
    # ... and its histogram SSE is the brute-force DP optimum over the 256-bin histogram
    counts = np.bincount(camera.ravel(), minlength=256)
    present = np.flatnonzero(counts)
    _, sse = optimal_kmeans_1d(present.astype(float), counts[present].astype(float), 4)
    assert info["inertia"] == pytest.approx(sse, rel=1e-12)


def test_colour_inertia_within_one_percent_of_sklearn(shared_data):
    import imageio.v3 as iio
    from sklearn.cluster import KMeans

    image = iio.imread(shared_data("bsds500", "images", "test", "100007.jpg"))
    result = seglab.segment(image, "kmeans", n_clusters=4)
    labels, info = result.data, result.info
    ref = KMeans(n_clusters=4, n_init=10, random_state=0).fit(image.reshape(-1, 3).astype(np.float64))
    assert info["path"] == "unique-colours"
    assert info["inertia"] <= ref.inertia_ * 1.01
    # The weighted inertia over distinct colours is the inertia over all pixels.
    assert info["inertia"] == pytest.approx(_pixel_inertia(image, labels, info["centers"]), rel=1e-9)
    assert sorted(np.unique(labels).tolist()) == [1, 2, 3, 4]
    means = [float(np.mean(c)) for c in info["centers"]]
    assert means == sorted(means)  # label 1 is the darkest centre



def test_colour_worst_bsds_case_within_one_percent_of_sklearn(shared_data):
    """The worst of 25 BSDS test images x k in 2..8 for the single refined start (inertia 1.006x scikit-learn's)."""
    import imageio.v3 as iio
    from sklearn.cluster import KMeans

    image = iio.imread(shared_data("bsds500", "images", "test", "106005.jpg"))
    result = seglab.segment(image, "kmeans", n_clusters=8)
    ref = KMeans(n_clusters=8, n_init=10, random_state=0).fit(image.reshape(-1, 3).astype(np.float64))
    assert result.info["inertia"] <= ref.inertia_ * 1.01
    assert result.info["inertia"] == pytest.approx(_pixel_inertia(image, result.data, result.info["centers"]),
                                                   rel=1e-9)


@pytest.mark.slow
def test_colour_many_unique_colours_goes_coarse_to_fine_and_matches_sklearn():
    from sklearn.cluster import KMeans

    image = skimage_data.astronaut()[::2, ::2]
    result = seglab.segment(image, "kmeans", n_clusters=5)
    labels, info = result.data, result.info
    ref = KMeans(n_clusters=5, n_init=10, random_state=0).fit(image.reshape(-1, 3).astype(np.float64))
    assert info["inertia"] <= ref.inertia_ * 1.01
    assert info["inertia"] == pytest.approx(_pixel_inertia(image, labels, info["centers"]), rel=1e-9)


def test_float_image_with_position_features_equals_sklearn():
    from sklearn.cluster import KMeans

    gen = np.random.default_rng(0)
    image = gen.random((24, 30))
    result = seglab.segment(image, "kmeans", n_clusters=3, position_weight=0.05, n_init=4, rng=1)
    labels, info = result.data, result.info
    rows, cols = np.indices(image.shape, dtype=np.float64)
    features = np.stack([image.ravel(), 0.05 * rows.ravel(), 0.05 * cols.ravel()], axis=1)
    ref = KMeans(n_clusters=3, n_init=4, random_state=1).fit(features)
    assert info["path"] == "sklearn"
    assert info["inertia"] == pytest.approx(ref.inertia_, rel=1e-9)
    # same partition, labels renamed by intensity
    pairs = set(zip(labels.ravel().tolist(), ref.labels_.tolist()))
    assert len(pairs) == 3


def test_auto_picks_knee_and_returns_the_curve():
    result = seglab.segment(skimage_data.camera(), "kmeans", n_clusters="auto", k_min=2, k_max=8)
    k_values = result.extras["k_values"]
    inertias = result.extras["inertias"]
    assert k_values.tolist() == list(range(2, 9))
    assert np.all(np.diff(inertias) < 0)  # exact optima decrease with k
    assert result.info["chosen_by"] == "knee"
    assert result.info["n_clusters"] == choose_knee(k_values, inertias)
    assert 2 <= result.info["n_clusters"] <= 8
    assert result.labels.max() == result.info["n_clusters"]


def test_choose_knee_on_a_textbook_curve():
    assert choose_knee([1, 2, 3, 4, 5, 6], [1000.0, 400.0, 120.0, 100.0, 90.0, 85.0]) == 3
    assert choose_knee([2, 3, 4], [3.0, 2.0, 1.0]) == 2  # straight line: no knee, smallest k


def test_segment_returns_int32_labels_from_one():
    image, _ = seglab.data.blobs((40, 50), n_blobs=3, seed=1)
    result = seglab.segment(image, "kmeans", n_clusters=2)
    assert result.output == "labels" and result.labels.dtype == np.int32
    assert result.labels.min() == 1 and result.labels.max() == 2


def test_fewer_distinct_values_than_k_warns_and_honours_them():
    image = np.zeros((8, 8), np.uint8)
    image[:, 4:] = 9
    with pytest.warns(SeglabWarning, match=r"only 2 distinct value\(s\), fewer than the 3 cluster"):
        result = seglab.segment(image, "kmeans", n_clusters=3)
        labels, info = result.data, result.info
    assert info["n_clusters"] == 2
    np.testing.assert_array_equal(labels, np.where(image > 0, 2, 1))


def test_bad_parameters_are_refused():
    image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    with pytest.raises(ParameterError, match=r"`k_min` \(6\) must not exceed `k_max` \(3\)"):
        kmeans(image, n_clusters="auto", k_min=6, k_max=3)
    with pytest.raises(ParameterError, match=r"`n_clusters`.* got 'many'"):
        kmeans(image, n_clusters="many")
    with pytest.raises(ParameterError, match=r"parameter `n_clusters` of 'kmeans' got 1"):
        seglab.segment(image, "kmeans", n_clusters=1)
