"""Region growing without the float64 copy and without ``np.isin`` equals the previous code, label for label.

The previous code compared a float64 copy of float images with the band and selected the seeded components with
``np.isin`` (2.75-3.6 float64 images of temporaries on float images). The new one compares the image itself
against float64 bounds (NumPy casts it in small chunks) and selects components through a lookup table. Checked on
every dtype, tolerance None / 0 / small / clipped at the dtype's limits, float32 pixels on the band's edge (where
a float32 comparison would differ), both connectivities, point and label-image seeds (overlapping bands: the
first label wins; gaps in the labels), 3-D, 2-3 row images.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.region import _grow, region_growing

ndi = pytest.importorskip("scipy.ndimage")
skimage_data = pytest.importorskip("skimage.data")


def _previous(array, tolerance, connectivity, seeds):
    """The code before this change, verbatim (after validation)."""
    structure = _grow._structure(array.ndim, connectivity)
    seed_labels = _grow._seed_labels(seeds, array.shape)
    out = np.zeros(array.shape, np.int32)
    values = array.astype(np.float64) if array.dtype.kind == "f" else array
    objects = ndi.find_objects(seed_labels)
    for index, box in enumerate(objects):
        if box is None:
            continue
        label = index + 1
        seed_values = values[box][seed_labels[box] == label]
        lo, hi = seed_values.min(), seed_values.max()
        if tolerance is not None:
            lo, hi = _grow._band(array.dtype, lo, hi, tolerance)
        band = (values >= lo) & (values <= hi)
        components, _ = ndi.label(band, structure=structure)
        hit = np.unique(components[seed_labels == label])
        hit = hit[hit > 0]
        region = np.isin(components, hit) & (out == 0)
        out[region] = label
    return out


def _images():
    rng = np.random.default_rng(51)
    coins = skimage_data.coins()
    edge = np.full((40, 60), 0.5, np.float32)
    edge[:30, 20:] = np.float32(0.6)  # float32(0.6) > 0.6: outside [0.4, 0.6] in float64, inside in float32
    edge[:30, 40:] = np.float32(0.4)  # float32(0.4) > 0.4: inside either way (reached through rows 30-39)
    edge[10:12, :] = np.float32(0.39999998)  # below 0.4 either way
    return {
        "coins_u8": coins,
        "coins_odd_u16": coins[:201, :263].astype(np.uint16) * 250,
        "i16": (coins[:150, :150].astype(np.int16) - 128) * 100,
        "i8": (coins[:90, :110].astype(np.int16) - 128).astype(np.int8),
        "f32": (coins / 255 + rng.normal(0, 0.01, coins.shape)).astype(np.float32),
        "f64": coins / 255 + rng.normal(0, 0.01, coins.shape),
        "f16": (coins[:100, :120] / 255).astype(np.float16),
        "edge_f32": edge,
        "two_rows": rng.integers(0, 4, (2, 300)).astype(np.uint8),
        "three_rows_f32": rng.random((3, 41)).astype(np.float32),
    }


IMAGES = _images()
TOLERANCES = {"uint8": (None, 0, 12, 300), "uint16": (None, 0, 3000, 70000), "int16": (None, 0, 2500, 40000),
              "int8": (None, 0, 20, 300), "float": (None, 0.0, 0.1, 0.35, 1e9)}


def _seed_sets(shape):
    rows, cols = shape
    points = [(rows // 2, cols // 2), (0, 0), (rows - 1, cols - 1), (rows // 2, cols // 3)]
    labels = np.zeros(shape, np.int32)
    labels[rows // 3: rows // 3 + 2, cols // 4: cols // 4 + 3] = 3  # label 2 absent: a gap
    labels[-1, -2:] = 1
    labels[0, cols // 2] = 5
    return {"points": points, "labels": labels}


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("connectivity", [1, 2])
def test_equals_the_previous_code(name, connectivity):
    image = IMAGES[name]
    key = "float" if image.dtype.kind == "f" else image.dtype.name
    for seeds_name, seeds in _seed_sets(image.shape).items():
        for tolerance in TOLERANCES[key]:
            expected = _previous(image, tolerance, connectivity, seeds)
            got = region_growing(image, seeds=seeds, tolerance=tolerance, connectivity=connectivity)
            np.testing.assert_array_equal(got, expected, err_msg=f"{seeds_name} tolerance={tolerance}")


def test_float32_band_edge_is_float64():
    # The seed is 0.5 and the band [0.4, 0.6] in float64: float32(0.6) lies just above it.
    labels = region_growing(IMAGES["edge_f32"], seeds=[(20, 5)], tolerance=0.1)
    assert labels[20, 5] == 1 and labels[20, 30] == 0 and labels[20, 50] == 1 and labels[10, 5] == 0


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("connectivity", [1, 3])
def test_volume(dtype, connectivity):
    rng = np.random.default_rng(7)
    volume = (rng.random((9, 30, 25)) * 8).astype(dtype)
    seeds = [(4, 15, 12), (0, 0, 0), (8, 29, 24)]
    for tolerance in (None, 1, 2.5):
        np.testing.assert_array_equal(
            region_growing(volume, seeds=seeds, tolerance=tolerance, connectivity=connectivity),
            _previous(volume, tolerance, connectivity, seeds))


def test_registry_route():
    image = IMAGES["coins_u8"]
    seeds = _seed_sets(image.shape)["points"]
    result = seglab.segment(image, "region_growing", seeds=seeds, tolerance=12)
    expected = _previous(image, 12, None, seeds)
    np.testing.assert_array_equal(result.labels, expected)
    assert result.info["n_regions"] == len(set(np.unique(expected)) - {0})


def test_region_count_skips_labels_that_won_no_pixel():
    # The second and third seeds lie in the first one's region: it takes every pixel, they get none.
    image = np.zeros((30, 40), np.uint8)
    image[:, 25:] = 200
    result = seglab.segment(image, "region_growing", seeds=[(3, 3), (20, 10), (5, 5), (10, 30)], tolerance=5)
    expected = _previous(image, 5, None, [(3, 3), (20, 10), (5, 5), (10, 30)])
    np.testing.assert_array_equal(result.labels, expected)
    assert result.info["n_regions"] == int(np.count_nonzero(np.bincount(expected.ravel())[1:])) == 2
    for name in ("coins_u8", "f32", "two_rows"):
        image = IMAGES[name]
        for seeds in _seed_sets(image.shape).values():
            info = seglab.segment(image, "region_growing", seeds=seeds, tolerance=None).info
            expected = _previous(image, None, None, seeds)
            assert info["n_regions"] == int(np.count_nonzero(np.bincount(expected.ravel())[1:]))
