"""Oracle tests: tiled == in-memory (masks exactly, labels up to a permutation), dask-image style."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab import Pipeline
from seglab.tiling import StitchWarning, TilingError, open_array, run_tiled, tiled_segment
from seglab.tiling._plan import InexactTilingWarning

from conftest import make_blobs

CHUNKS = [(64, 100), (128, 128), (300, 410)]
HERE = Path(__file__).parent


def assert_equivalent_labeling(a, b):
    """Same background and a one-to-one map between the labels (dask-image's _assert_equivalent_labeling)."""
    assert a.shape == b.shape
    np.testing.assert_array_equal(a == 0, b == 0)
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]
    assert len(np.unique(pairs[1])) == pairs.shape[1]


def assert_same(output, tiled, reference):
    if output == "labels" and np.asarray(reference).max() > 0 and not _is_classes(reference):
        assert_equivalent_labeling(np.asarray(reference), np.asarray(tiled))
    else:
        np.testing.assert_array_equal(np.asarray(tiled), np.asarray(reference))


def _is_classes(reference):
    return False


def _tileable_methods():
    names = []
    for spec in seglab.all_specs():
        if spec.kind != "method" or spec.tiling == "none" or spec.inputs or 2 not in spec.dims:
            continue
        if "model" in spec.param_names:  # learned methods: tiled with a trained model in tests/learn, tests/deep
            continue
        if spec.channels == "color" or spec.output not in ("mask", "labels", "edges", "proba"):
            continue
        names.append(spec.name)
    return names


def _registered():
    # the stand-in entries are added by the session fixture; list the real ones here for parametrisation
    return [n for n in _tileable_methods() if not n.startswith("tt_")] + ["tt_local", "tt_mean", "tt_edges"]


@pytest.mark.parametrize("method", _registered())
@pytest.mark.parametrize("chunk", CHUNKS, ids=lambda c: f"{c[0]}x{c[1]}")
def test_every_tileable_method_equals_in_memory(method, chunk, blobs):
    pipeline = Pipeline.build(method)
    reference = pipeline.run(blobs).data
    tiled = tiled_segment(blobs, pipeline, chunk=chunk).compute(scheduler="sync")
    assert tiled.dtype == reference.dtype or pipeline.output == "labels"
    assert_same(pipeline.output, tiled, reference)


def _pipelines():
    out = [("tt_mean", ["tt_invert", ("tt_median", {"size": 5})], []), ("tt_local", ["tt_median"], []),
           ("tt_mean", ["tt_median"], ["tt_label"]), ("tt_local", [], ["tt_label"])]
    names = set(seglab.list_methods())
    pres = set(seglab.list_steps("pre"))
    if {"otsu"} <= names and {"invert", "median"} <= pres:
        out.append(("otsu", ["invert", ("median", {"size": 3})], []))
        out.append(("otsu", [], ["tt_label"]))
    if "otsu" in names and "label" in set(seglab.list_steps("post")):
        out.append(("otsu", ["median"], ["label"]))
        out.append(("otsu", [], [("label", {"connectivity": 1})]))
    return out


@pytest.mark.parametrize("method,pre,post", _pipelines(), ids=lambda v: str(v))
@pytest.mark.parametrize("chunk", CHUNKS, ids=lambda c: f"{c[0]}x{c[1]}")
def test_pipelines_with_halo_and_labels_equal_in_memory(method, pre, post, chunk, blobs):
    pipeline = Pipeline.build(method, pre=pre, post=post)
    reference = pipeline.run(blobs).data
    tiled = tiled_segment(blobs, pipeline, chunk=chunk).compute(scheduler="sync")
    assert_same(pipeline.output, tiled, reference)


def test_labels_cut_by_tiles_get_one_label(blobs):
    pipeline = Pipeline.build("tt_mean", post=["tt_label"])
    reference = pipeline.run(blobs).data
    tiled = tiled_segment(blobs, pipeline, chunk=(32, 32)).compute(scheduler="sync")
    # the 40-pixel disks span several 32x32 tiles: still one label each, and as many labels as in memory
    assert tiled.max() == reference.max()
    assert_equivalent_labeling(reference, tiled)


def test_uint16_global_threshold_is_exact():
    image = make_blobs(dtype=np.uint16)
    pipeline = Pipeline.build("tt_mean")
    reference = pipeline.run(image).data
    np.testing.assert_array_equal(tiled_segment(image, pipeline, chunk=64).compute(scheduler="sync"), reference)


def test_3d_stack_of_2d_only_method_runs_slice_by_slice():
    stack = make_blobs(shape=(3, 120, 150))
    for pipeline in (Pipeline.build("tt_edges"), Pipeline.build("tt_local", post=["tt_label"])):
        tiled = tiled_segment(stack, pipeline, chunk=(2, 50, 64)).compute(scheduler="sync")
        for plane in range(3):
            reference = pipeline.run(stack[plane]).data
            assert_same(pipeline.output, tiled[plane], reference)
        if pipeline.output == "labels":  # labels unique across planes (planes are not stitched together)
            per_plane = [set(np.unique(tiled[p])) - {0} for p in range(3)]
            assert not (per_plane[0] & per_plane[1])


def test_untileable_method_is_refused_with_a_clear_message(blobs):
    with pytest.raises(TilingError, match="cannot be tiled exactly.*allow_inexact=True"):
        tiled_segment(blobs, Pipeline.build("tt_nonlocal"), chunk=100)


def test_allow_inexact_runs_tile_by_tile_and_says_so(blobs):
    with pytest.warns(InexactTilingWarning, match="tile by tile"):
        out = tiled_segment(blobs, Pipeline.build("tt_nonlocal"), chunk=100, allow_inexact=True)
    assert out.compute(scheduler="sync").shape == blobs.shape


def test_object_reaching_the_halo_of_a_context_dependent_step_warns(blobs):
    # tt_label under another name: not known as plain connected components, so stitching is not exact
    from dataclasses import replace

    from seglab import get_step
    from seglab.testing import isolated_registry

    spec = replace(get_step("tt_label", "post"), name="tt_label_ctx", target="_tiling_fakes:label",
                   halo=lambda p: 2, labels_by=None)
    with isolated_registry(spec):
        pipeline = Pipeline.build("tt_mean", post=["tt_label_ctx"])
        with pytest.warns(StitchWarning, match="reached the halo"):
            tiled_segment(blobs, pipeline, chunk=64).compute(scheduler="sync")


# -- zarr output, resume, inputs ------------------------------------------------------------------
def test_run_tiled_writes_zarr_with_provenance(tmp_path, blobs):
    pipeline = Pipeline.build("tt_mean", pre=["tt_median"], post=["tt_label"])
    out = run_tiled(blobs, pipeline, tmp_path / "out.zarr", chunk=(64, 100), client="threads")
    assert_equivalent_labeling(pipeline.run(blobs).data, out[:])
    assert out.dtype == np.int32 and tuple(out.chunks) == (64, 100)
    assert out.attrs["complete"] is True
    assert out.attrs["pipeline"] == pipeline.to_dict()
    assert out.attrs["provenance"]["halo"] == 1 and out.attrs["provenance"]["seglab"] == seglab.__version__
    with pytest.raises(seglab.ImageWriteError, match="exists; pass resume=True"):
        run_tiled(blobs, pipeline, tmp_path / "out.zarr", chunk=(64, 100), client="sync")
    with pytest.raises(seglab.ImageWriteError, match="chunk differ"):
        run_tiled(blobs, pipeline, tmp_path / "out.zarr", chunk=(64, 64), client="sync", resume=True)


def test_global_method_stores_pre_steps_once_and_resumes(tmp_path, blobs):
    # integer pre-processed data: the histogram pass stores it, the write pass reads it back
    pipeline = Pipeline.build("tt_mean", pre=["tt_invert", ("tt_median", {"size": 5})], post=["tt_label"])
    out = run_tiled(blobs, pipeline, tmp_path / "a.zarr", chunk=(64, 100), client="sync")
    assert_equivalent_labeling(pipeline.run(blobs).data, out[:])
    assert json.loads((tmp_path / "a.zarr" / "_seglab" / "run.json").read_text())["staged"] is True
    # float pre-processed data: min/max + histogram passes, pre-steps recomputed in the write pass
    pipeline = Pipeline.build("tt_mean", pre=["tt_float", "tt_median"])
    with pytest.warns(InexactTilingWarning, match="256-bin"):
        out = run_tiled(blobs, pipeline, tmp_path / "b.zarr", chunk=(64, 100), client="sync")
    assert json.loads((tmp_path / "b.zarr" / "_seglab" / "run.json").read_text())["staged"] is False
    assert out[:].shape == blobs.shape and out[:].any()


def test_tiff_segments_read_like_tifffile(tmp_path, blobs):
    import tifffile

    from seglab.tiling._io import TiffRegions, cached_raw

    image = np.tile(blobs, (2, 2))
    tifffile.imwrite(tmp_path / "tiled.tif", image, tile=(64, 48), compression="zlib")
    tifffile.imwrite(tmp_path / "strips.tif", image, rowsperstrip=37)
    for name in ("tiled.tif", "strips.tif"):
        reader = cached_raw(tmp_path / name)
        assert isinstance(reader, TiffRegions)
        for rows, cols in [(slice(0, 600), slice(0, 820)), (slice(63, 130), slice(47, 49)), (slice(599, 600),
                                                                                              slice(5, 819))]:
            np.testing.assert_array_equal(reader[rows, cols], image[rows, cols])


def test_chunk_cache_reads_like_zarr_and_decodes_each_chunk_once(tmp_path, blobs):
    import zarr

    from seglab.tiling._io import ChunkCache, cached_raw

    image = np.tile(blobs, (2, 3))
    zarr.create_array(store=str(tmp_path / "c.zarr"), data=image, chunks=(64, 100))
    reader = cached_raw(tmp_path / "c.zarr")
    assert isinstance(reader, ChunkCache)
    for rows, cols in [(slice(0, 600), slice(0, 1200)), (slice(63, 130), slice(99, 101)), (slice(599, 600),
                                                                                           slice(5, 819)),
                       (slice(10, 10), slice(0, 5))]:
        np.testing.assert_array_equal(reader[rows, cols], image[rows, cols])

    class Counting:  # counts the reads that reach the stored array
        def __init__(self, array):
            self.array, self.shape, self.dtype, self.reads = array, array.shape, array.dtype, 0

        def __getitem__(self, index):
            self.reads += 1
            return self.array[index]

    counting = Counting(zarr.open_array(str(tmp_path / "c.zarr"), mode="r"))
    cache = ChunkCache(counting, (64, 100))
    # two tiles with a 3-px halo share a border: the shared chunks are decoded once
    np.testing.assert_array_equal(cache[0:67, 0:203], image[0:67, 0:203])
    first = counting.reads
    assert first == 2 * 3
    np.testing.assert_array_equal(cache[61:131, 0:203], image[61:131, 0:203])
    assert counting.reads - first == 3  # only the third row of chunks is new


def test_inputs_open_lazily(tmp_path, blobs):
    import tifffile
    import zarr

    tifffile.imwrite(tmp_path / "big.tif", blobs, tile=(64, 64))
    np.save(tmp_path / "a.npy", blobs)
    zarr.create_array(store=str(tmp_path / "a.zarr"), data=blobs, chunks=(100, 100))
    group = zarr.open_group(str(tmp_path / "ome.zarr"), mode="w")
    group.create_array("0", data=blobs, chunks=(64, 64))
    group.create_array("1", data=blobs[::2, ::2], chunks=(64, 64))
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}]}]
    (tmp_path / "slices").mkdir()
    for k in range(3):
        tifffile.imwrite(tmp_path / "slices" / f"z{k:03d}.tif", np.roll(blobs, k, axis=0))
    for name in ("big.tif", "a.npy", "a.zarr", "ome.zarr"):
        array = open_array(tmp_path / name)
        assert array.shape == blobs.shape
        np.testing.assert_array_equal(array.compute(), blobs)
    stack = open_array(tmp_path / "slices")
    assert stack.shape == (3,) + blobs.shape and stack.numblocks[0] == 3
    np.testing.assert_array_equal(stack[2].compute(), np.roll(blobs, 2, axis=0))
    with pytest.raises(seglab.ImageReadError, match="file not found"):
        open_array(tmp_path / "missing.tif")
    pipeline = Pipeline.build("tt_local", pre=["tt_median"])
    out = run_tiled(tmp_path / "big.tif", pipeline, tmp_path / "o.zarr", chunk=100, client="sync")
    np.testing.assert_array_equal(out[:], pipeline.run(blobs).data)


RUNNER = """
import sys, time
sys.path.insert(0, {here!r})
import conftest  # stand-in registry entries
from seglab._core import registry
import _tiling_fakes
registry.register(*_tiling_fakes.SPECS)
from seglab import Pipeline
from seglab.tiling import run_tiled
pipeline = Pipeline.build("tt_mean", pre=["tt_median"], post=["tt_label"])
delay = float(sys.argv[3])
def progress(event):
    if event.stage == "write" and event.done:
        time.sleep(delay)
run_tiled(sys.argv[1], pipeline, sys.argv[2], chunk=(40, 50), client="sync", resume=len(sys.argv) > 4,
          progress=progress)
"""


def test_resume_after_kill_9_is_bit_identical(tmp_path):
    image = make_blobs(shape=(300, 410))
    np.save(tmp_path / "in.npy", image)
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(here=str(HERE)))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, str(script), str(tmp_path / "in.npy"), str(tmp_path / "full.zarr"), "0"],
                   check=True, env=env, timeout=120)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "in.npy"), str(tmp_path / "cut.zarr"),
                             "0.2"], env=env, start_new_session=True)
    markers = tmp_path / "cut.zarr" / "_seglab" / "done" / "write"
    deadline = time.time() + 60
    while time.time() < deadline and (not markers.exists() or len(list(markers.iterdir())) < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done_before = len(list(markers.iterdir()))
    assert 5 <= done_before < 9 * 8, "the run should be killed mid-way"
    assert not (tmp_path / "cut.zarr" / "_seglab" / "done" / "mapping").exists()
    subprocess.run([sys.executable, str(script), str(tmp_path / "in.npy"), str(tmp_path / "cut.zarr"), "0",
                    "resume"], check=True, env=env, timeout=120)
    import zarr

    full = zarr.open_array(str(tmp_path / "full.zarr"), mode="r")
    cut = zarr.open_array(str(tmp_path / "cut.zarr"), mode="r")
    assert cut.attrs["complete"] is True
    assert full.dtype == cut.dtype
    np.testing.assert_array_equal(cut[:], full[:])
    # bit-identical chunk files
    for chunk_file in (tmp_path / "full.zarr" / "c").rglob("*"):
        if chunk_file.is_file():
            twin = tmp_path / "cut.zarr" / chunk_file.relative_to(tmp_path / "full.zarr")
            assert twin.read_bytes() == chunk_file.read_bytes()


# distributed emits deprecation/resource chatter on cluster shutdown that is not about seglab
@pytest.mark.filterwarnings("ignore::UserWarning:distributed")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed")
def test_local_cluster_with_processes(tmp_path, blobs):
    import cloudpickle
    from distributed import Client, LocalCluster

    import _tiling_fakes

    cloudpickle.register_pickle_by_value(_tiling_fakes)  # workers cannot import the test module
    pipelines = [Pipeline.build("tt_mean", pre=["tt_median"], post=["tt_label"])]
    if "otsu" in seglab.list_methods() and "median" in seglab.list_steps("pre"):
        pipelines.append(Pipeline.build("otsu", pre=["invert", "median"]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for k, pipeline in enumerate(pipelines):
            seen = []
            out = run_tiled(blobs, pipeline, tmp_path / f"o{k}.zarr", chunk=(64, 100), client=client,
                            progress=lambda event: seen.append(event.stage))
            assert_same(pipeline.output, out[:], pipeline.run(blobs).data)
            assert "write" in seen


def test_confusion_from_zarr(tmp_path, blobs):
    from seglab.tiling import confusion_from_zarr

    pipeline = Pipeline.build("tt_local")
    out = run_tiled(blobs, pipeline, tmp_path / "o.zarr", chunk=64, client="sync")
    truth = blobs > 110
    counts = confusion_from_zarr(truth, tmp_path / "o.zarr", chunks=64)
    pred = pipeline.run(blobs).data
    assert counts["tp"] == int((truth & pred).sum()) and counts["fn"] == int((truth & ~pred).sum())
    assert counts["fp"] == int((~truth & pred).sum()) and counts["tn"] == int((~truth & ~pred).sum())
    with pytest.raises(seglab.ShapeMismatchError, match="expected"):
        confusion_from_zarr(truth[:10], out)


def test_cli_tile(tmp_path, blobs):
    from seglab.cli.main import main

    np.save(tmp_path / "in.npy", blobs)
    (tmp_path / "p.yaml").write_text("pre: [tt_median]\nmethod: {name: tt_mean}\npost: [tt_label]\n")
    code = main(["tile", str(tmp_path / "in.npy"), "--pipeline", str(tmp_path / "p.yaml"), "--out",
                 str(tmp_path / "a.zarr"), "--chunk", "64,100", "--scheduler", "sync", "--quiet"])
    assert code == 0
    import zarr

    assert_equivalent_labeling(Pipeline.build("tt_mean", pre=["tt_median"], post=["tt_label"]).run(blobs).data,
                               zarr.open_array(str(tmp_path / "a.zarr"), mode="r")[:])
    code = main(["tile", str(tmp_path / "in.npy"), "--method", "tt_local", "--param", "size=9", "--pre",
                 "tt_median:size=3", "--out", str(tmp_path / "b.zarr"), "--chunk", "100", "--scheduler",
                 "threads"])
    assert code == 0
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "b.zarr"), mode="r")[:],
                                  Pipeline.build("tt_local", {"size": 9}, pre=["tt_median:size=3"]).run(blobs).data)
    assert main(["tile", str(tmp_path / "in.npy"), "--method", "tt_nonlocal", "--out", str(tmp_path / "c.zarr"),
                 "--scheduler", "sync"]) == 2


@pytest.mark.slow
def test_scale_benchmark_quick_mode(tmp_path):
    from benchmarks.scale import main

    assert main(["--quick", "--out", str(tmp_path / "SCALE.md")]) == 0
    assert "equal to in-memory" in (tmp_path / "SCALE.md").read_text()


# -- split_touching: exact by ownership of whole objects ---------------------------------------------
@pytest.fixture(scope="module")
def touching_nuclei():
    """Seeded touching nuclei (many cut by 64 x 100 and 128 x 128 tile borders)."""
    image, truth = seglab.data.nuclei((300, 410), n_nuclei=40, seed=2)
    return image


@pytest.mark.parametrize("pipeline", [Pipeline.build("otsu", post=["split_touching"]),
                                      Pipeline.build("split_touching", {"min_distance": 5})],
                         ids=["otsu+split_touching", "split_touching"])
@pytest.mark.parametrize("chunk", [(64, 100), (128, 128)], ids=lambda c: f"{c[0]}x{c[1]}")
def test_split_touching_tiled_equals_in_memory(pipeline, chunk, touching_nuclei):
    from scipy import ndimage as ndi

    reference = pipeline.run(touching_nuclei).data
    tiled = tiled_segment(touching_nuclei, pipeline, chunk=chunk).compute(scheduler="sync")
    assert_equivalent_labeling(reference, tiled)
    # the case is not trivial: touching objects were split, and objects straddle tile borders
    mask = reference > 0
    assert ndi.label(mask)[1] < reference.max()
    rows = set(np.unique(reference[chunk[0] - 1])) & set(np.unique(reference[chunk[0]])) - {0}
    cols = set(np.unique(reference[:, chunk[1] - 1])) & set(np.unique(reference[:, chunk[1]])) - {0}
    assert len(rows | cols) >= 3


def test_split_touching_run_tiled_zarr(tmp_path, touching_nuclei):
    pipeline = Pipeline.build("split_touching")
    out = run_tiled(touching_nuclei, pipeline, tmp_path / "split.zarr", chunk=(64, 100), client="sync")
    assert_equivalent_labeling(pipeline.run(touching_nuclei).data, out[:])
    assert out.attrs["provenance"]["halo"] == 256 and out.attrs["provenance"]["inexact"] is False


def test_split_touching_object_larger_than_halo_warns(touching_nuclei):
    pipeline = Pipeline.build("otsu", post=[("split_touching", {"max_object_size": 10})])
    with pytest.warns(StitchWarning, match="reached the halo.*max_object_size"):
        tiled_segment(touching_nuclei, pipeline, chunk=64).compute(scheduler="sync")


def test_split_touching_exclude_border_is_refused(touching_nuclei):
    with pytest.raises(TilingError, match=r"split_touching.* cannot be tiled exactly with these parameters: exclude_border=True drops peaks"):
        tiled_segment(touching_nuclei, Pipeline.build("split_touching", {"exclude_border": True}), chunk=64)


@pytest.mark.parametrize("seed", range(4))
def test_core_ids_from_the_ring_equal_a_full_count(seed):
    import cv2

    from seglab.tiling._run import _core_ids

    gen = np.random.default_rng(seed)
    mask = (gen.random((67, 81)) < 0.45).astype(np.uint8)
    for connectivity in (4, 8):
        _, local = cv2.connectedComponents(mask, connectivity=connectivity, ltype=cv2.CV_32S)
        for ring_pads in [((1, 1), (1, 1)), ((0, 1), (1, 0)), ((0, 0), (0, 0)), ((1, 0), (0, 0))]:
            inner = local[tuple(slice(lo, local.shape[i] - hi) for i, (lo, hi) in enumerate(ring_pads))]
            fast = _core_ids(local, inner, ring_pads, consecutive=True)
            full = _core_ids(local, inner, ring_pads, consecutive=False)
            np.testing.assert_array_equal(fast, full)
            assert full.size > 10


@pytest.mark.parametrize("layout", ["zarr planes", "folder of slices"])
def test_plane_chunked_stack_is_staged_once_and_equals_in_memory(tmp_path, layout):
    """Storage chunks larger than a tile (whole planes) are copied once into scratch, not decoded per tile."""
    import tifffile
    import zarr

    stack = np.stack([np.roll(make_blobs(shape=(150, 170)), 7 * k, axis=1) for k in range(5)])
    if layout == "zarr planes":
        source = tmp_path / "stack.zarr"
        zarr.create_array(store=str(source), data=stack, chunks=(1, 150, 170))
    else:
        source = tmp_path / "slices"
        source.mkdir()
        for k, plane in enumerate(stack):
            tifffile.imwrite(source / f"z{k:02d}.tif", plane)
    pipeline = Pipeline.build("otsu", pre=[("median", {"size": 3})])
    stages = {}
    out = run_tiled(source, pipeline, tmp_path / "out.zarr", chunk=(2, 64, 64), client="sync", keep_scratch=True,
                    progress=lambda event: stages.__setitem__(event.stage, event.total))
    assert stages["stage"] == 5  # one task per plane: each plane decoded once
    assert (tmp_path / "out.zarr" / "_seglab" / "input.raw").exists()
    np.testing.assert_array_equal(out[:], pipeline.run(stack, channel_axis=None).data)
    assert out.attrs["provenance"]["input"] == str(source)
    # an interrupted staging resumes: drop two planes' markers, run again, same result
    for key in ("1.0.0", "3.0.0"):
        (tmp_path / "out.zarr" / "_seglab" / "done" / "stage" / key).unlink()
    stages.clear()
    again = run_tiled(source, pipeline, tmp_path / "out.zarr", chunk=(2, 64, 64), client="sync", resume=True,
                      progress=lambda event: stages.__setitem__(event.stage, event.total))
    assert stages["stage"] == 2
    np.testing.assert_array_equal(again[:], out[:])


def test_tiles_aligned_with_storage_are_not_staged(tmp_path, blobs):
    import zarr

    zarr.create_array(store=str(tmp_path / "a.zarr"), data=blobs, chunks=(64, 100))
    out = run_tiled(tmp_path / "a.zarr", Pipeline.build("otsu", pre=[("median", {"size": 3})]),
                    tmp_path / "o.zarr", chunk=(64, 100), client="sync")
    assert not (tmp_path / "o.zarr" / "_seglab" / "input.raw").exists()
    np.testing.assert_array_equal(out[:], Pipeline.build("otsu", pre=[("median", {"size": 3})]).run(blobs).data)


def test_scratch_is_removed_after_a_complete_run_unless_kept(tmp_path, blobs):
    pipeline = Pipeline.build("tt_mean", pre=["tt_median"], post=["tt_label"])
    out = run_tiled(blobs, pipeline, tmp_path / "clean.zarr", chunk=64, client="sync")
    work = tmp_path / "clean.zarr" / "_seglab"
    assert sorted(p.name for p in work.iterdir()) == ["done", "run.json"]
    kept = run_tiled(blobs, pipeline, tmp_path / "kept.zarr", chunk=64, client="sync", keep_scratch=True)
    assert (tmp_path / "kept.zarr" / "_seglab" / "records").is_dir()
    np.testing.assert_array_equal(out[:], kept[:])
    # a resume into the complete, cleaned output finds every pass done and changes nothing
    stages = []
    again = run_tiled(blobs, pipeline, tmp_path / "clean.zarr", chunk=64, client="sync", resume=True,
                      progress=lambda event: stages.append((event.stage, event.total)))
    assert all(total == 0 for _, total in stages)
    np.testing.assert_array_equal(again[:], out[:])


def test_a_cancelled_run_keeps_its_finished_tiles_and_resumes(tmp_path, blobs):
    from seglab.workflows import CancelToken, Cancelled

    pipeline = Pipeline.build("tt_mean", pre=["tt_median"])
    token = CancelToken()

    def cancel_after_three(event):
        if event.stage == "write" and event.done == 3:
            token.cancel()

    with pytest.raises(Cancelled, match=r"tiled run \(write\) was cancelled"):
        run_tiled(blobs, pipeline, tmp_path / "c.zarr", chunk=64, client="sync", progress=cancel_after_three,
                  cancel=token)
    assert len(list((tmp_path / "c.zarr" / "_seglab" / "done" / "write").iterdir())) == 3
    out = run_tiled(blobs, pipeline, tmp_path / "c.zarr", chunk=64, client="sync", resume=True)
    np.testing.assert_array_equal(out[:], pipeline.run(blobs).data)


def _ring_mask(shape=(300, 410), seed=5):
    """Rings (disks with a hole) and specks of many sizes, some cut by 64-px tiles."""
    gen = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    mask = np.zeros(shape, bool)
    for _ in range(30):
        r, c = gen.uniform(0, shape[0]), gen.uniform(0, shape[1])
        outer = gen.choice([2, 4, 9, 20])
        d2 = (rows - r) ** 2 + (cols - c) ** 2
        mask |= (d2 <= outer**2) & (d2 > (outer / 2) ** 2)
    return mask


@pytest.mark.parametrize("chunk", [40, 64, (50, 90)])
def test_remove_small_objects_and_fill_holes_tile_exactly(tmp_path, chunk):
    from seglab._core.pipeline import Step

    mask = _ring_mask()
    image = mask.astype(np.uint8) * 200 + 20
    pipeline = Pipeline.build("tt_mean", post=[("remove_small_objects", {"min_size": 30}),
                                                ("fill_holes", {"max_hole_size": 64})])
    tiled = run_tiled(image, pipeline, tmp_path / f"rs{chunk}.zarr", chunk=chunk, client="sync")
    np.testing.assert_array_equal(tiled[:], pipeline.run(image).data)
    # and then labelled: stitched labels equal the in-memory labels up to a permutation
    labelled = Pipeline(pipeline.method, [], [*pipeline.post, Step("label", "post", {"connectivity": None})])
    out = run_tiled(image, labelled, tmp_path / f"rsl{chunk}.zarr", chunk=chunk, client="sync")
    assert_equivalent_labeling(labelled.run(image).data, out[:])


@pytest.mark.parametrize("shape, dtype, match", [
    ((2, 3, 40, 50, 6), np.uint8, r"has 5 dimensions"),
    ((40, 50), np.complex64, r"complex"),
])
def test_tile_refuses_what_segment_refuses(tmp_path, shape, dtype, match):
    from seglab import SeglabError

    image = np.zeros(shape, dtype)
    with pytest.raises(SeglabError, match=match):
        seglab_segment_error(image)
    with pytest.raises(SeglabError, match=match):
        run_tiled(image, Pipeline.build("tt_mean"), tmp_path / "x.zarr", chunk=32, client="sync")
    assert not (tmp_path / "x.zarr").exists()


def seglab_segment_error(image):
    import seglab

    seglab.segment(image, "otsu")


@pytest.mark.filterwarnings("ignore::UserWarning:distributed")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed")
def test_labels_from_a_compressed_tiff_on_two_worker_processes(tmp_path, blobs, monkeypatch):
    """The benchmark's path: a global method's histogram pass keeps the decoded cores for the write pass,
    the passes split between two `make_client` workers by pixels (edge tiles are smaller), several tiles
    per task, the border unions computed as the write pass's records arrive."""
    import tifffile

    from seglab.tiling import _run, make_client
    from seglab.tiling._backends import _balanced_bounds, _batches

    monkeypatch.setattr(_run, "BATCH_PIXELS", 2 * 128 * 160)  # two tiles per task: ten tasks per worker and pass

    if "otsu" not in seglab.list_methods() or "label" not in seglab.list_steps("post"):
        pytest.skip("needs the threshold family and the label post-step")
    image = np.tile(blobs, (2, 3))
    path = tmp_path / "in.tif"
    tifffile.imwrite(path, image, tile=(64, 64), compression="zlib")
    pipeline = Pipeline.build("otsu", post=["label"])
    client, cluster = make_client(workers=2)
    with cluster, client:
        assert set(client.run(lambda: __import__("cv2").getNumThreads()).values()) == {1}
        events = []
        out = run_tiled(path, pipeline, tmp_path / "out.zarr", chunk=(128, 160), client=client,
                        progress=lambda event: events.append((event.stage, event.done, event.total)))
    assert_equivalent_labeling(out[:], pipeline.run(image).data)
    # progress is still reported tile by tile: every count from 0 to the 40 tiles, once, in each tile pass
    for stage in ("stats", "write", "final"):
        assert [done for name, done, total in events if name == stage] == list(range(41))
    assert not (tmp_path / "out.zarr" / "_seglab" / "pre.raw").exists()  # scratch removed after the run
    # four full tiles, then four quarter tiles: half of the tiles would be 16 : 4 of the work, 12 : 8 by pixels
    assert _balanced_bounds([4, 4, 4, 4, 1, 1, 1, 1], 2) == [0, 3, 8]
    assert _balanced_bounds([1] * 36, 2) == [0, 18, 36]
    # a worker's 18 tiles in tasks of at most 4 tiles' work: 5 runs of 3-4 tiles, in order, none empty
    assert _batches([1] * 18, 4) == [(0, 4), (4, 8), (8, 11), (11, 15), (15, 18)]
    assert _batches([4, 1], 100) == [(0, 2)] and _batches([9], 4) == [(0, 1)]


@pytest.mark.parametrize("address", ["bogus", "tcp://[::1"])
def test_a_bad_scheduler_address_leaves_dask_as_it_was(address):
    """distributed's Client makes itself the default scheduler before connecting; a failed connection must not
    leave that behind (every later dask.compute in the process asked for a client that was not there)."""
    import dask

    from seglab._core.errors import SchedulerError
    from seglab.tiling._backends import make_client

    before = dask.config.get("scheduler", None)
    with pytest.raises(SchedulerError, match="cannot use the dask scheduler"):
        make_client(scheduler=address)
    assert dask.config.get("scheduler", None) == before
    import dask.array as da

    assert da.ones(4, chunks=2).sum().compute() == 4


@pytest.mark.filterwarnings("ignore:.*on float32 data:UserWarning")
def test_tiled_refuses_what_segment_refuses_before_any_output(tmp_path):
    """A colour image for a gray-only global method, and NaN in a float image, get segment's errors (they were
    a broadcast ValueError in the write pass and "supplied range of [nan, nan] is not finite")."""
    from seglab._core.errors import InvalidImageError

    rgb = np.random.default_rng(1).integers(0, 255, (96, 80, 3), dtype=np.uint8)
    with pytest.raises(InvalidImageError, match=r"method 'otsu' works on single-channel images, .*\(96, 80, 3\)"):
        run_tiled(rgb, seglab.Pipeline.build("otsu"), tmp_path / "rgb.zarr", chunk=32, client="sync")
    from seglab.tiling import check_tileable

    with pytest.raises(InvalidImageError, match=r"method 'otsu' works on single-channel images"):
        check_tileable(rgb, seglab.Pipeline.build("otsu"))
    assert not (tmp_path / "rgb.zarr").exists()
    gray = run_tiled(rgb, seglab.Pipeline.build("otsu", pre=["grayscale"]), tmp_path / "gray.zarr", chunk=32,
                     client="sync")
    np.testing.assert_array_equal(gray[:], seglab.segment(rgb, "otsu", pre=["grayscale"]).data)

    image = np.random.default_rng(2).random((96, 80)).astype(np.float32)
    image[70, 5] = np.nan
    image[71, 6] = -np.inf
    for method in ("otsu", "li"):
        with pytest.raises(InvalidImageError, match=r"contains NaN or infinite values \(1 NaN and 1 infinite"):
            run_tiled(image, seglab.Pipeline.build(method), tmp_path / f"{method}.zarr", chunk=32, client="sync")
