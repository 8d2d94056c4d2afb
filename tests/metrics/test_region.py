"""Region metrics: oracles against scikit-learn / scikit-image, hand cases, real BSDS annotations."""

from __future__ import annotations

import numpy as np
import pytest

from seglab._core.errors import ParameterError, ShapeMismatchError
from seglab.metrics.region import (
    adapted_rand_error,
    adjusted_rand_index,
    contingency_table,
    probabilistic_rand_index,
    rand_index,
    region_scores,
    segmentation_covering,
    variation_of_information,
)

skm = pytest.importorskip("sklearn.metrics")
from skimage import metrics as skim  # noqa: E402


def _labels(rng, shape, k, offset=0):
    return (rng.integers(0, k, size=shape) + offset).astype(np.int32)


@pytest.mark.parametrize("seed", range(8))
def test_oracles_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    shape = (31, 23)
    truth = _labels(rng, shape, int(rng.integers(1, 9)))
    # a noisy relabelled copy so the scores are neither 0 nor 1
    pred = (truth * 7 + 3).astype(np.int64)
    flip = rng.random(shape) < rng.uniform(0.05, 0.6)
    pred[flip] = rng.integers(0, int(rng.integers(2, 12)), size=int(flip.sum()))
    assert adjusted_rand_index(truth, pred) == pytest.approx(skm.adjusted_rand_score(truth.ravel(), pred.ravel()))
    assert rand_index(truth, pred) == pytest.approx(skm.rand_score(truth.ravel(), pred.ravel()))
    ours = adapted_rand_error(truth, pred)
    theirs = skim.adapted_rand_error(truth, pred)
    if np.all(np.isfinite(theirs)):
        assert ours == pytest.approx(tuple(float(v) for v in theirs))
    split, merge = variation_of_information(truth, pred)
    ref = skim.variation_of_information(truth, pred)
    assert (split, merge) == pytest.approx(tuple(ref), abs=1e-12)


def test_huge_label_values_are_compacted():
    truth = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], np.int64) * (2**40)
    pred = np.array([[5, 5, 5, 9], [5, 5, 5, 9]], np.uint32)
    c = contingency_table(truth, pred)
    assert c.table.toarray().tolist() == [[4, 0], [2, 2]]
    assert c.true_labels.tolist() == [2**40, 2**41]
    assert adjusted_rand_index(truth, pred) == pytest.approx(skm.adjusted_rand_score(truth.ravel(), pred.ravel()))


def test_vi_split_merge_meaning():
    truth = np.array([[1, 1, 2, 2], [1, 1, 2, 2]])
    over = np.array([[1, 3, 2, 4], [1, 3, 2, 4]])  # each truth region cut in two halves
    under = np.ones_like(truth)  # both merged
    assert variation_of_information(truth, over) == (pytest.approx(1.0), 0.0)
    assert variation_of_information(truth, under) == (0.0, pytest.approx(1.0))
    assert variation_of_information(truth, truth) == (0.0, 0.0)


def test_covering_hand_case():
    truth = np.array([[1, 1, 1, 1, 2, 2, 2, 2]])
    pred = np.array([[1, 1, 1, 1, 1, 1, 2, 2]])
    # region 1: best IoU 4/6; region 2: best IoU 2/4 -> (4 * 4/6 + 4 * 1/2) / 8
    assert segmentation_covering(truth, pred) == pytest.approx((4 * 4 / 6 + 4 * 0.5) / 8)
    # not symmetric: covering of pred by truth: (6 * 4/6 + 2 * 2/4) / 8
    assert segmentation_covering(pred, truth) == pytest.approx((6 * 4 / 6 + 2 * 0.5) / 8)
    assert segmentation_covering(truth, truth + 10) == 1.0


def test_pri_is_mean_rand_and_pairwise_definition(rng):
    truths = [_labels(rng, (6, 5), k) for k in (2, 3, 4)]
    pred = _labels(rng, (6, 5), 3)
    # pairwise definition (Unnikrishnan 2007) over unordered pixel pairs
    flat = [t.ravel() for t in truths]
    p = pred.ravel()
    iu = np.triu_indices(p.size, k=1)
    prob_same = np.mean([(f[iu[0]] == f[iu[1]]) for f in flat], axis=0)
    same = p[iu[0]] == p[iu[1]]
    expected = np.mean(np.where(same, prob_same, 1 - prob_same))
    assert probabilistic_rand_index(truths, pred) == pytest.approx(expected)
    assert region_scores(truths, pred)["pri"] == pytest.approx(expected)


def test_identical_and_single_region_conventions():
    a = np.array([[3, 3], [4, 4]])
    s = region_scores(a, a + 1)
    assert (s["ari"], s["vi"], s["covering"], s["pri"], s["adapted_rand_error"]) == (1.0, 0.0, 1.0, 1.0, 0.0)
    one = np.ones((3, 3), int)
    s = region_scores(one, one)
    assert (s["ari"], s["pri"], s["vi"]) == (1.0, 1.0, 0.0)
    # truth all background (ignored by the adapted Rand error): no NaN
    err, prec, rec = adapted_rand_error(np.zeros((3, 3), int), one)
    assert (err, prec, rec) == (0.0, 1.0, 1.0)


def test_bsds_annotators_against_each_other(shared_data):
    from scipy.io import loadmat

    gt = loadmat(shared_data("bsds500", "groundTruth", "test", "100007.mat"))["groundTruth"]
    segs = [gt[0, k]["Segmentation"][0, 0] for k in range(gt.shape[1])]
    assert len(segs) == 5
    others, first = segs[1:], segs[0]
    s = region_scores(others, first)
    # Humans agree well on BSDS: the benchmark paper (Arbelaez et al. 2011, Table 2) reports human
    # covering 0.72, PRI 0.88, VI 1.17 averaged over the test set; on this image the 5 annotators
    # differ mainly by refinement (5 to 19 regions), so covering and PRI sit above those means.
    assert 0.75 < s["covering"] < 0.98
    assert 0.88 < s["pri"] < 0.995
    assert 0.1 < s["vi"] < 1.2
    assert s["n_regions_pred"] == 5
    # computed values are pinned so regressions are caught
    assert s["pri"] == pytest.approx(0.954313, abs=1e-5)
    assert s["covering"] == pytest.approx(0.862728, abs=1e-5)
    # mean VI over truths equals the per-truth skimage values averaged
    ref_vi = np.mean([skim.variation_of_information(t, first).sum() for t in others])
    assert s["vi"] == pytest.approx(ref_vi)
    # finer annotators over-segment relative to the coarsest: split > merge when scored against it
    split, merge = variation_of_information(first, segs[4])
    assert split > merge


def test_errors():
    with pytest.raises(ShapeMismatchError, match=r"`pred` has shape \(3, 4\); expected \(4, 4\), the shape of `truth`"):
        adjusted_rand_index(np.zeros((4, 4), int), np.zeros((3, 4), int))
    with pytest.raises(ShapeMismatchError, match=r"`pred` has shape \(2, 2\); expected \(4, 4\), the shape of `truths\[1\]`"):
        probabilistic_rand_index([np.zeros((2, 2), int), np.zeros((4, 4), int)], np.zeros((2, 2), int))
    with pytest.raises(ParameterError, match="`truths` is an empty list"):
        probabilistic_rand_index([], np.zeros((2, 2), int))
    with pytest.raises(ParameterError, match=r"`alpha` must be in \[0, 1\]; got 2"):
        adapted_rand_error(np.zeros((2, 2), int), np.zeros((2, 2), int), alpha=2)
