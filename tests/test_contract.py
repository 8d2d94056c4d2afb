"""The contract every registered method, pre-step and post-step keeps (STYLE.md "contract suite").

For each method: 2-D input in uint8, uint16, float32 and float64 (colour where it declares so); the output has the
declared kind, dtype and spatial shape; two runs give the same result (seeded); 3-D input works where declared and
is refused with a clear message where not; a colour image given to a gray method is refused with a message that
names the fix.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import ConversionWarning, InvalidImageError
from seglab._core.registry import all_specs

# Learned methods need a trained model; their contract runs with a tiny trained model in tests/learn and tests/deep.
METHODS = [s for s in all_specs() if s.kind == "method" and "model" not in (*s.param_names, *s.inputs)]
PRE = [s for s in all_specs() if s.kind == "pre"]
POST = [s for s in all_specs() if s.kind == "post"]
DTYPES = ("uint8", "uint16", "float32", "float64")


def _base(shape=(48, 64)):
    image, truth = seglab.data.blobs(shape, n_blobs=4, seed=11)
    return image, truth


def _as_dtype(image8: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return image8
    if dtype == "uint16":
        return image8.astype(np.uint16) * 257
    return (image8 / 255.0).astype(dtype)


def _inputs(spec, spatial_shape):
    inputs = {}
    rows, cols = spatial_shape[-2:]
    if "seeds" in spec.inputs:
        seeds = np.zeros(spatial_shape, np.int32)
        seeds[..., 1:4, 1:4] = 2
        _, truth = _base((rows, cols))
        r, c = np.argwhere(truth)[len(np.argwhere(truth)) // 2]
        seeds[..., r, c] = 1
        inputs["seeds"] = seeds
    if "contour" in spec.inputs:
        inputs["contour"] = (rows / 2, cols / 2, min(rows, cols) / 3)
    if "rect" in spec.inputs:
        inputs["rect"] = (4, 4, rows - 8, cols - 8)
    return inputs


def _image_for(spec, dtype, shape=(48, 64)):
    image8, _ = _base(shape)
    image = _as_dtype(image8, dtype)
    if spec.channels == "color":
        image = np.stack([image, image[::-1], image[:, ::-1]], axis=-1)
    return image


def _check_output(spec, result, spatial_shape):
    data = result.data
    assert result.output == spec.output or spec.output == "image"
    assert data.shape[: len(spatial_shape)] == tuple(spatial_shape), f"{spec.name}: shape {data.shape}"
    if result.output in ("mask", "contour"):
        assert data.dtype == bool, f"{spec.name}: mask dtype {data.dtype}"
    elif result.output == "labels":
        assert data.dtype.kind in "iu", f"{spec.name}: labels dtype {data.dtype}"
        assert data.min() >= 0
    elif result.output in ("edges", "proba"):
        assert data.dtype.kind == "f", f"{spec.name}: {result.output} dtype {data.dtype}"
        assert np.isfinite(data).all()
        if result.output == "proba":
            assert 0 <= data.min() and data.max() <= 1


# Methods that work on 8-bit data only say so with a ConversionWarning; that is part of the contract, not a failure.
@pytest.mark.filterwarnings("ignore::seglab._core.errors.ConversionWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", METHODS, ids=lambda s: s.name)
def test_method_contract_2d(spec, dtype):
    image = _image_for(spec, dtype)
    inputs = _inputs(spec, (48, 64))
    first = seglab.segment(image, spec.name, **inputs)
    _check_output(spec, first, (48, 64))
    second = seglab.segment(image, spec.name, **inputs)
    np.testing.assert_array_equal(first.data, second.data, err_msg=f"{spec.name} is not deterministic")


@pytest.mark.filterwarnings("ignore::seglab._core.errors.ConversionWarning")
@pytest.mark.parametrize("spec", METHODS, ids=lambda s: s.name)
def test_method_contract_3d(spec):
    volume8 = np.stack([_base((32, 40))[0]] * 6)
    image = volume8 if spec.channels != "color" else np.stack([volume8] * 3, axis=-1)
    inputs = _inputs(spec, (6, 32, 40))
    if 3 in spec.dims:
        result = seglab.segment(image, spec.name, channel_axis=None if spec.channels != "color" else -1, **inputs)
        _check_output(spec, result, (6, 32, 40))
    else:
        with pytest.raises(InvalidImageError, match=r"supports 2-D images; got a 3-D image"):
            seglab.segment(image, spec.name, channel_axis=None if spec.channels != "color" else -1, **inputs)


@pytest.mark.parametrize("spec", [s for s in METHODS if s.channels == "gray"], ids=lambda s: s.name)
def test_gray_method_refuses_colour_with_the_fix(spec):
    colour = np.stack([_base()[0]] * 3, axis=-1)
    with pytest.raises(InvalidImageError, match=r"works on single-channel images.*pre=\['grayscale'\] in seglab.segment \(CLI: --pre grayscale\)"):
        seglab.segment(colour, spec.name, **_inputs(spec, (48, 64)))


@pytest.mark.parametrize("spec", [s for s in METHODS if s.channels == "color"], ids=lambda s: s.name)
def test_colour_method_stacks_gray_and_says_so(spec):
    with pytest.warns(ConversionWarning, match="stacked into three identical channels"):
        result = seglab.segment(_base()[0], spec.name, **_inputs(spec, (48, 64)))
    _check_output(spec, result, (48, 64))


@pytest.mark.filterwarnings("ignore::seglab._core.errors.ConversionWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", PRE, ids=lambda s: s.name)
def test_pre_step_keeps_shape(spec, dtype):
    image = _as_dtype(_base()[0], dtype)
    if spec.channels == "color":
        image = np.stack([image] * 3, axis=-1)
    out = seglab.apply_step(image, spec.name, "pre")
    assert out.shape[:2] == (48, 64)
    assert np.isfinite(np.asarray(out, dtype=np.float64)).all()


@pytest.mark.parametrize("spec", POST, ids=lambda s: s.name)
def test_post_step_contract(spec):
    image, truth = _base()
    kind = spec.accepts[0] if spec.accepts else "mask"
    data = truth if kind == "mask" else seglab.segment(image, "otsu", post=["label"]).labels
    kwargs = {"image": image} if "image" in spec.inputs else {}
    out = spec.load()(data, **spec.defaults(), **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == (48, 64)
    produced = kind if spec.output == "image" else spec.output
    if produced == "mask":
        assert out.dtype == bool
    elif produced == "labels":
        assert out.dtype.kind in "iu" and out.min() >= 0
