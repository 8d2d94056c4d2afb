"""The pixel classifier: features against SciPy, training converges, bit-identical reload, registry, tiles, CLI."""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import InvalidImageError, MissingInputError, ParameterError
from seglab.learn import (
    ModelError,
    PixelClassifier,
    feature_names,
    fit_pixel_classifier,
    labels_from_truth,
    pixel_features,
)
from seglab.learn._artifact import WEIGHTS_FILE
from seglab.metrics.binary import binary_scores

SIGMAS = (0.3, 1.0, 3.5)


def _blobs(seed, shape=(96, 128)):
    """Bright disks (one textured) on a noisy background, and the exact truth."""
    gen = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    truth = np.zeros(shape, bool)
    for _ in range(7):
        r, c, rad = gen.uniform(10, shape[0] - 10), gen.uniform(10, shape[1] - 10), gen.uniform(5, 14)
        truth |= (rows - r) ** 2 + (cols - c) ** 2 <= rad**2
    image = np.where(truth, 150, 80) + gen.normal(0, 18, shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    image, truth = _blobs(1)
    model = fit_pixel_classifier(image, labels_from_truth(truth), sigmas=SIGMAS, n_estimators=12, seed=3)
    folder = model.save(tmp_path_factory.mktemp("pc") / "model")
    return model, folder, image, truth


# -- features -------------------------------------------------------------------------------------
def test_features_equal_scipy_filters():
    from scipy import ndimage as ndi

    image, _ = _blobs(2)
    data = image / 255.0
    stack = pixel_features(image, sigmas=(1.6,), cache=False)
    names = feature_names((1.6,))
    column = {n.split("(")[0]: stack[..., i] for i, n in enumerate(names)}
    np.testing.assert_allclose(column["gaussian"], ndi.gaussian_filter(data, 1.6), atol=2e-6)
    np.testing.assert_allclose(column["laplacian_of_gaussian"], ndi.gaussian_laplace(data, 1.6), atol=2e-6)
    np.testing.assert_allclose(column["gradient_magnitude"], ndi.gaussian_gradient_magnitude(data, 1.6), atol=2e-6)
    np.testing.assert_allclose(column["difference_of_gaussians"],
                               ndi.gaussian_filter(data, 1.6) - ndi.gaussian_filter(data, 0.66 * 1.6), atol=2e-6)
    # Hessian eigenvalues: largest first, their sum is the Laplacian of Gaussian
    assert np.all(column["hessian_ev0"] >= column["hessian_ev1"])
    np.testing.assert_allclose(column["hessian_ev0"] + column["hessian_ev1"], column["laplacian_of_gaussian"],
                               atol=1e-5)
    # structure-tensor eigenvalues are those of the smoothed outer product of the sigma/2 gradient
    gr = ndi.gaussian_filter(data, 0.8, order=(1, 0))
    gc = ndi.gaussian_filter(data, 0.8, order=(0, 1))
    trace = ndi.gaussian_filter(gr * gr, 1.6) + ndi.gaussian_filter(gc * gc, 1.6)
    np.testing.assert_allclose(column["structure_tensor_ev0"] + column["structure_tensor_ev1"], trace, atol=1e-5)
    assert stack.dtype == np.float32 and stack.shape == image.shape + (len(names),)


def test_features_of_a_crop_equal_the_whole_image_inside_the_halo():
    from seglab.learn._features import feature_halo

    image, _ = _blobs(3, (120, 150))
    whole = pixel_features(image, sigmas=SIGMAS, cache=False)
    halo = feature_halo(SIGMAS)
    crop = pixel_features(image[10:110, 20:140], sigmas=SIGMAS, cache=False)
    np.testing.assert_array_equal(crop[halo:-halo, halo:-halo], whole[10 + halo:110 - halo, 20 + halo:140 - halo])


def test_features_are_cached_and_dtype_scaled():
    image, _ = _blobs(4)
    first = pixel_features(image, sigmas=SIGMAS)
    assert pixel_features(image.copy(), sigmas=SIGMAS) is first  # same bytes: the cached stack
    assert not first.flags.writeable
    as16 = pixel_features(image.astype(np.uint16) * 257, sigmas=SIGMAS)
    np.testing.assert_array_equal(as16, first)


def test_colour_and_volume_features():
    image, _ = _blobs(5, (40, 50))
    colour = np.stack([image, 255 - image, image // 2], axis=-1)
    assert pixel_features(colour, sigmas=(1.0,)).shape == (40, 50, 3 * 8)
    volume = np.stack([image] * 4)
    # 3-D: 1 smoothing + 3 edges + 3 structure-tensor + 3 Hessian eigenvalues
    assert pixel_features(volume, sigmas=(1.0,), channel_axis=None).shape == (4, 40, 50, 10)


def test_bad_feature_settings_are_refused():
    with pytest.raises(ParameterError, match=r"`sigmas` must be one or more positive numbers"):
        pixel_features(np.zeros((8, 8)), sigmas=(0.0, 1.0))
    with pytest.raises(ParameterError, match=r"`features` got \('colour',\); expected one or more of intensity"):
        pixel_features(np.zeros((8, 8)), features=("colour",))


# -- training and prediction ---------------------------------------------------------------------
def test_training_from_a_truth_generalises_to_a_new_image(trained):
    model, _, _, _ = trained
    image, truth = _blobs(11)
    mask, _ = model.segment(image)
    assert binary_scores(truth, mask)["f1"] > 0.95


def test_training_from_a_few_scribbles_finds_the_objects():
    image, truth = _blobs(12)
    scribbles = np.zeros(truth.shape, np.int32)
    # one background stroke along the top rows, one stroke through each of three objects' centres
    scribbles[2, 5:120] = 1
    scribbles[93, 5:120] = 1
    from scipy import ndimage as ndi

    objects, n = ndi.label(truth)
    for k in range(1, min(n, 3) + 1):
        r, c = np.argwhere(objects == k).mean(axis=0).astype(int)
        scribbles[r, c - 2:c + 3] = 2
    assert np.count_nonzero(scribbles) < 0.03 * scribbles.size
    model = fit_pixel_classifier(image, scribbles, sigmas=SIGMAS, n_estimators=20, seed=0)
    prediction = model.predict(image)
    assert set(np.unique(prediction)) == {1, 2}
    assert binary_scores(truth, prediction == 2)["f1"] > 0.85


def test_three_classes_and_uncertainty():
    # left: dark flat, middle: bright flat, right: mid-grey stripes (texture)
    image = np.zeros((40, 90), np.uint8)
    image[:, :30] = 40
    image[:, 30:60] = 220
    image[:, 60:] = np.where(np.arange(30) % 4 < 2, 90, 170)[None, :]
    labels = np.zeros(image.shape, np.int32)
    labels[5:35, 5:25], labels[5:35, 35:55], labels[5:35, 65:85] = 1, 2, 3
    model = fit_pixel_classifier(image, labels, sigmas=(1.0, 3.5), n_estimators=15, seed=0)
    prediction = model.predict(image)
    assert (prediction[:, 5:25] == 1).all() and (prediction[:, 35:55] == 2).all() and (prediction[:, 65:85] == 3).all()
    mask, info = model.segment(image, foreground=(3,))
    assert mask[:, 65:85].all() and not mask[:, 5:25].any() and not mask[:, 35:50].any()
    # far from the class borders the forest is sure; at a border it is not
    assert info["uncertainty"][:, 10:20].max() < 0.3
    assert info["uncertainty"].max() > info["uncertainty"][:, 10:20].max()
    assert info["probability"].dtype == np.float32 and info["class_map"].dtype == np.int32


def test_same_seed_same_model_and_training_errors():
    image, truth = _blobs(13, (48, 64))
    labels = labels_from_truth(truth)
    a = fit_pixel_classifier(image, labels, sigmas=(1.0,), n_estimators=5, max_samples=500, seed=4)
    b = fit_pixel_classifier(image, labels, sigmas=(1.0,), n_estimators=5, max_samples=500, seed=4)
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
    assert a.info["training_samples"] == 500 and a.info["sampling"].startswith("balanced")
    with pytest.raises(ParameterError, match=r"paint at least two classes"):
        fit_pixel_classifier(image, np.ones_like(labels), sigmas=(1.0,))
    with pytest.raises(ParameterError, match=r"got 1 images and 2 label images"):
        fit_pixel_classifier([image], [labels, labels], sigmas=(1.0,))
    with pytest.raises(seglab.ShapeMismatchError, match=r"labels\[0\] has shape \(48, 63\); expected \(48, 64\)"):
        fit_pixel_classifier(image, labels[:, :63], sigmas=(1.0,))


# -- exact export ---------------------------------------------------------------------------------
def test_loaded_model_is_bit_identical_to_the_sklearn_forest(trained):
    model, folder, image, _ = trained
    features = model.features_of(image).reshape(-1, model.n_features)
    model.forest_.n_jobs = 1  # scikit-learn's threads add the trees in the order they finish
    reference = model.forest_.predict_proba(features)  # scikit-learn, the trees as fitted
    model.forest_.n_jobs = 2
    loaded = PixelClassifier.load(folder)
    assert loaded.engine == "sklearn"
    np.testing.assert_array_equal(loaded.predict_proba(image).reshape(reference.shape), reference)
    numpy_only = PixelClassifier.load(folder, engine="numpy")
    np.testing.assert_array_equal(numpy_only.predict_proba(image).reshape(reference.shape), reference)
    np.testing.assert_array_equal(loaded.predict(image), model.predict(image))
    np.testing.assert_array_equal(model.predict_proba(image).reshape(reference.shape), reference)


@pytest.mark.parametrize("labelled", ["scribbles", "truth"])
def test_same_forest_and_predictions_as_scikit_image_for_the_same_seed(labelled):
    """fit_segmenter / predict_segmenter on the same stack and forest settings: the same trees, labels and
    probabilities (bit for bit). Scribbles are fitted on one thread, a full truth (12,288 pixels) on two."""
    from skimage.future import fit_segmenter, predict_segmenter
    from sklearn.ensemble import RandomForestClassifier

    from seglab.learn._forest import _PARALLEL_FIT_SAMPLES

    image, truth = _blobs(41)
    if labelled == "truth":
        labels = labels_from_truth(truth)
    else:
        labels = np.zeros(truth.shape, np.uint8)
        labels[3, 4:120] = 1
        labels[60:64, 100:104] = 1
        rows, cols = np.nonzero(truth)
        labels[rows[::25], cols[::25]] = 2
    assert ((labels > 0).sum() >= _PARALLEL_FIT_SAMPLES) == (labelled == "truth")
    ours = fit_pixel_classifier(image, labels, sigmas=SIGMAS, n_estimators=12, max_depth=16, max_samples=None,
                                seed=5)
    features = np.array(pixel_features(image, sigmas=SIGMAS))
    forest = RandomForestClassifier(n_estimators=12, max_depth=16, max_features="sqrt", n_jobs=2, random_state=5)
    forest = fit_segmenter(labels, features, forest)
    for a, b in zip(ours.forest_.estimators_, forest.estimators_):
        np.testing.assert_array_equal(a.tree_.threshold, b.tree_.threshold)
        np.testing.assert_array_equal(a.tree_.value, b.tree_.value)
    # a new image: labels equal scikit-image's (its forest's classes are the label values)
    other, _ = _blobs(42)
    other_features = np.array(pixel_features(other, sigmas=SIGMAS))
    np.testing.assert_array_equal(ours.predict(other), predict_segmenter(other_features, forest))
    forest.n_jobs = 1
    reference = forest.predict_proba(other_features.reshape(-1, ours.n_features))
    np.testing.assert_array_equal(ours.predict_proba(other).reshape(reference.shape), reference)


def test_block_and_thread_paths_give_the_same_probabilities(trained, monkeypatch):
    """Small blocks shared by 1-3 threads, the fitted trees or trees rebuilt from the arrays, scikit-learn's
    traversal or NumPy's: every path gives the single-pass result bit for bit."""
    import seglab.learn._forest as forest_module

    model, _, _, _ = trained
    image, _ = _blobs(43, (70, 90))  # 6,300 pixels
    X = model.features_of(image).reshape(-1, model.n_features)
    model.forest_.n_jobs = 1
    reference = model.forest_.predict_proba(X)
    model.forest_.n_jobs = 2
    rebuilt = PixelClassifier(model.arrays, classes=model.classes, sigmas=model.sigmas, features=model.features,
                              channels=1, spatial_ndim=2)
    numpy_only = PixelClassifier(model.arrays, classes=model.classes, sigmas=model.sigmas,
                                 features=model.features, channels=1, spatial_ndim=2, engine="numpy")
    assert rebuilt._trees.sklearn is not model._trees.sklearn
    monkeypatch.setattr(forest_module, "_BLOCK_ROWS", 1000)  # 7 blocks, the last one short
    for trees in (model._trees, rebuilt._trees, numpy_only._trees):
        for threads in (1, 2, 3):
            np.testing.assert_array_equal(trees.predict_proba(X, threads=threads), reference)
        # float64 and non-contiguous features are converted once, to the float32 the trees compare
        np.testing.assert_array_equal(trees.predict_proba(np.asfortranarray(X.astype(np.float64))), reference)
    classes = np.asarray(model.classes)
    np.testing.assert_array_equal(model.predict(image).reshape(-1), classes[np.argmax(reference, axis=1)])


def test_training_rows_are_gathered_feature_major_and_equal(monkeypatch):
    """The training matrix handed to scikit-learn: the labelled rows of every image's stack, in order,
    float32 and Fortran-ordered, whatever the gathering chunk; and the same forest for any n_jobs."""
    import seglab.learn._forest as forest_module

    gen = np.random.default_rng(0)
    stacks = [gen.normal(size=(500, 7)).astype(np.float32), gen.normal(size=(300, 7)).astype(np.float32)]
    takes = [np.sort(gen.choice(500, 260, replace=False)), np.arange(0, 300, 3)]
    expected = np.concatenate([stack[take] for stack, take in zip(stacks, takes)])
    monkeypatch.setattr(forest_module, "_GATHER_ROWS", 64)
    X = forest_module._gather_samples(stacks, takes)
    assert X.dtype == np.float32 and X.flags.f_contiguous
    np.testing.assert_array_equal(X, expected)
    image, truth = _blobs(44, (64, 80))
    one = fit_pixel_classifier(image, labels_from_truth(truth), sigmas=(1.0,), n_estimators=6, n_jobs=1, seed=2)
    two = fit_pixel_classifier(image, labels_from_truth(truth), sigmas=(1.0,), n_estimators=6, n_jobs=2, seed=2)
    assert one.info["training_samples"] >= forest_module._PARALLEL_FIT_SAMPLES  # two threads really fitted
    for name in one.arrays:
        np.testing.assert_array_equal(one.arrays[name], two.arrays[name])


def test_damaged_forest_arrays_are_refused(trained, tmp_path):
    model, _, _, _ = trained
    arrays = dict(model.arrays)
    arrays["children_left"] = arrays["children_left"].copy()
    arrays["children_left"][0] = 0  # a loop back to the root
    from seglab.learn import save_model

    save_model(tmp_path / "bad", kind="pixel_classifier", arrays=arrays, config=model.config())
    with pytest.raises(ModelError, match=r"out-of-range children or features"):
        PixelClassifier.load(tmp_path / "bad")


# -- the registered method ------------------------------------------------------------------------
def test_segment_through_the_registry(trained):
    model, folder, image, _ = trained
    result = seglab.segment(image, "pixel_classifier", model=str(folder))
    expected, _ = model.segment(image)
    np.testing.assert_array_equal(result.mask, expected)
    assert sorted(result.extras) == ["class_map", "probability", "uncertainty"]
    assert result.info["classes"] == [1, 2] and result.info["foreground"] == [2]
    higher = seglab.segment(image, "pixel_classifier", model=str(folder), threshold=0.9)
    assert higher.mask.sum() < result.mask.sum() and not (higher.mask & ~result.mask).any()
    assert seglab.get_method("pixel_classifier").halo_for({"model": str(folder)}) == model.halo


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
def test_contract_dtypes_give_the_same_mask(trained, dtype):
    _, folder, image, _ = trained
    converted = {"uint8": image, "uint16": image.astype(np.uint16) * 257,
                 "float32": (image / 255.0).astype(np.float32), "float64": image / 255.0}[dtype]
    result = seglab.segment(converted, "pixel_classifier", model=str(folder))
    assert result.output == "mask" and result.mask.dtype == bool and result.mask.shape == image.shape
    np.testing.assert_array_equal(result.mask, seglab.segment(image, "pixel_classifier", model=str(folder)).mask)


def test_a_2d_model_segments_a_volume_plane_by_plane(trained):
    model, folder, image, _ = trained
    volume = np.stack([image, image[::-1]])
    result = seglab.segment(volume, "pixel_classifier", model=str(folder), channel_axis=None)
    np.testing.assert_array_equal(result.mask[1], model.segment(image[::-1])[0])
    with pytest.raises(InvalidImageError, match=r"trained on gray \(single-channel\) images; got a colour"):
        seglab.segment(np.stack([image] * 3, axis=-1), "pixel_classifier", model=str(folder))


def test_missing_or_unsafe_model_gives_one_clear_error(trained, tmp_path):
    import pickle
    import shutil

    _, folder, image, _ = trained
    with pytest.raises(MissingInputError, match=r"needs a trained model: pass model=FOLDER"):
        seglab.segment(image, "pixel_classifier")
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / WEIGHTS_FILE).write_bytes(pickle.dumps({"trees": [1, 2, 3]}))
    with pytest.raises(ModelError, match=r"is a Python pickle .*could run arbitrary code"):
        seglab.segment(image, "pixel_classifier", model=str(copy))
    with pytest.raises(ParameterError, match=r"`foreground` got \(7,\); expected one or more of the model's"):
        seglab.segment(image, "pixel_classifier", model=str(folder), foreground="7")


def test_tiled_prediction_equals_in_memory(trained, tmp_path):
    from seglab.tiling import run_tiled

    _, folder, _, _ = trained
    image, _ = _blobs(21, (150, 190))
    pipeline = seglab.Pipeline.build("pixel_classifier", {"model": str(folder)})
    reference = pipeline.run(image).data
    # 40 x 64 tiles cut most disks; the halo comes from the model's largest scale
    out = run_tiled(image, pipeline, tmp_path / "tiled.zarr", chunk=(40, 64), client="sync")
    np.testing.assert_array_equal(np.asarray(out[:]), reference)


def test_colour_and_volume_models(tmp_path):
    image, truth = _blobs(31, (48, 64))
    colour = np.stack([image, 255 - image, np.full_like(image, 128)], axis=-1)
    model = fit_pixel_classifier(colour, labels_from_truth(truth), sigmas=(1.0, 3.5), n_estimators=8, seed=0)
    assert model.channels == 3 and model.n_features == 3 * 16
    loaded = PixelClassifier.load(model.save(tmp_path / "colour"))
    np.testing.assert_array_equal(loaded.predict(colour), model.predict(colour))
    assert binary_scores(truth, loaded.predict(colour) == 2)["f1"] > 0.9
    with pytest.raises(InvalidImageError, match=r"trained on colour \(RGB\) images; got a gray"):
        loaded.predict(image)
    volume = np.stack([image, np.roll(image, 5, axis=1), np.roll(image, 9, axis=0)])
    volume_truth = np.stack([truth, np.roll(truth, 5, axis=1), np.roll(truth, 9, axis=0)])
    model3 = fit_pixel_classifier(volume, labels_from_truth(volume_truth), sigmas=(1.0,), n_estimators=8, seed=0,
                                  channel_axis=None)
    assert model3.spatial_ndim == 3 and model3.n_features == 10
    result = seglab.segment(volume, "pixel_classifier", model=str(model3.save(tmp_path / "volume")),
                            channel_axis=None)
    assert result.mask.shape == volume.shape and binary_scores(volume_truth, result.mask)["f1"] > 0.9
