"""Nothing is lost: a stopped batch leaves no partial file and resumes; inputs never overwrite each other's outputs.

A real ``seglab segment`` process is stopped with SIGTERM (what ``kill``, a job scheduler or a closed
terminal sends) or SIGINT while it works through a folder; afterwards every input has all of its
outputs or none, no temporary file is left, and the same command run again skips the finished inputs
(their files untouched) and segments the rest.
"""

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
from seglab.cli.main import main

N_IMAGES = 60


def _folder(root: Path, n: int = N_IMAGES, shape=(400, 400)) -> Path:
    folder = root / "images"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(n):
        image = rng.integers(0, 120, shape, dtype=np.uint8)
        image[100 + i: 250 + i, 80:300] += 100
        seglab.write(folder / f"im{i:03d}.png", image)
    return folder


def _stems(out: Path) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for p in out.iterdir():
        groups.setdefault(p.name.split(".")[0], set()).add(p.name[len(p.name.split(".")[0]):])
    return groups


def _stop_midway(folder: Path, out: Path, signum: int) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "seglab", "segment", str(folder), "--method", "otsu", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and len(list(out.glob("*.json"))) >= 2:
            break
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.skip("the batch finished before it could be stopped (a very fast machine)")
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _check_stopped_then_resumed(tmp_path, signum, code, line, capsys):
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    stopped = _stop_midway(folder, out, signum)
    assert stopped.returncode == code, stopped.stderr
    assert stopped.stderr.strip().splitlines() == [line], stopped.stderr
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if n.startswith(".")] == [], f"temporary files left: {names}"
    groups = _stems(out)
    # a file is all done (mask, overlay, record) or absent: never a mask without its record
    assert all(suffixes == {".mask.png", ".overlay.png", ".json"} for suffixes in groups.values()), groups
    finished = sorted(groups)
    assert 2 <= len(finished) < N_IMAGES
    before = {n: (out / n).stat().st_mtime_ns for n in names}

    capsys.readouterr()
    assert main(["segment", str(folder), "--method", "otsu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = f"segmented {N_IMAGES} of {N_IMAGES} image(s) into {out} ({len(finished)} done by an earlier run, "
    summary += "skipped)"
    assert summary in printed
    assert {n: (out / n).stat().st_mtime_ns for n in names} == before, "finished outputs were written again"
    groups = _stems(out)
    assert len(groups) == N_IMAGES
    assert all(suffixes == {".mask.png", ".overlay.png", ".json"} for suffixes in groups.values())
    # the resumed outputs are the ones a single uninterrupted run writes
    for name in ("im000", f"im{N_IMAGES - 1:03d}"):
        image = seglab.read(folder / f"{name}.png")
        expected = seglab.segment(image, "otsu").mask
        np.testing.assert_array_equal(seglab.read(out / f"{name}.mask.png") > 0, expected)


@pytest.mark.timeout(240)
def test_sigterm_mid_batch_leaves_whole_files_and_the_rerun_resumes(tmp_path, capsys):
    _check_stopped_then_resumed(
        tmp_path, signal.SIGTERM, 128 + signal.SIGTERM,
        "seglab: terminated (SIGTERM); finished outputs are kept, run the same command again to go on", capsys)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigint_mid_batch_leaves_whole_files_and_the_rerun_resumes(tmp_path, capsys):
    _check_stopped_then_resumed(
        tmp_path, signal.SIGINT, 130,
        "seglab: interrupted; finished outputs are kept, run the same command again to go on", capsys)


def _small(root: Path, name: str, shift: int) -> Path:
    image = np.full((24, 30), 20, np.uint8)
    image[4 + shift: 12 + shift, 5:20] = 200
    return seglab.write(root / name, image)


def test_rerun_segments_again_what_changed(tmp_path, capsys):
    """Skipped only when the bytes, the pipeline and the overlay choice are the same; --force redoes all."""
    a, b = _small(tmp_path, "a.png", 0), _small(tmp_path, "b.png", 3)
    out = tmp_path / "out"
    argv = ["segment", str(a), str(b), "--method", "otsu", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    assert "(2 done by an earlier run, skipped)" in capsys.readouterr().out
    _small(tmp_path, "b.png", 6)  # b changed: segmented again, its new mask written
    assert main(argv) == 0
    assert "(1 done by an earlier run, skipped)" in capsys.readouterr().out
    assert (seglab.read(out / "b.mask.png") > 0)[10:18, 5:20].all()
    assert main([*argv, "--post", "fill_holes"]) == 0  # another pipeline
    assert "skipped" not in capsys.readouterr().out
    assert [step["name"] for step in json.loads((out / "a.json").read_text())["post"]] == ["fill_holes"]
    assert main([*argv, "--post", "fill_holes", "--force"]) == 0
    assert "skipped" not in capsys.readouterr().out
    (out / "a.overlay.png").unlink()  # an output missing: segmented again
    assert main([*argv, "--post", "fill_holes"]) == 0
    assert "(1 done by an earlier run, skipped)" in capsys.readouterr().out
    assert (out / "a.overlay.png").is_file()


def test_inputs_with_the_same_stem_never_overwrite_each_other(tmp_path, capsys):
    """a.png and a.tif (or d1/a.png and d2/a.png) both write a.mask.png: the later one fails, the first is kept."""
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    first = _small(tmp_path / "d1", "a.png", 0)
    second = _small(tmp_path / "d2", "a.png", 8)
    other = seglab.write(tmp_path / "a.tif", np.full((24, 30), 7, np.uint16))
    out = tmp_path / "out"
    capsys.readouterr()
    code = main(["segment", str(first), str(second), str(other), "--method", "otsu", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2
    assert errors[0] == (f"seglab: error: {second}: its outputs (a.*) would replace those of {first}, segmented "
                         "earlier in this batch (the same name before the extension); rename one of them or "
                         "segment it into another output folder")
    assert errors[1].startswith(f"seglab: error: {other}: its outputs (a.*) would replace those of {first}")
    assert "segmented 1 of 3 image(s)" in captured.out
    np.testing.assert_array_equal(seglab.read(out / "a.mask.png") > 0, seglab.segment(seglab.read(first), "otsu").mask)
    assert json.loads((out / "a.json").read_text())["input"] == str(first)
    assert sorted(os.listdir(out)) == ["a.json", "a.mask.png", "a.overlay.png"]


def test_zarr_input_is_segmented_recorded_and_resumed(tmp_path, capsys):
    """A zarr store read fine but its provenance hash failed ('is a folder'): every zarr input was an error."""
    import zarr

    store = tmp_path / "cells.zarr"
    array = zarr.open_array(str(store), mode="w", shape=(24, 30), chunks=(8, 8), dtype="u1")
    image = np.full((24, 30), 15, np.uint8)
    image[5:15, 4:20] = 180
    array[:] = image
    out = tmp_path / "out"
    assert main(["segment", str(store), "--method", "otsu", "--out", str(out)]) == 0
    np.testing.assert_array_equal(seglab.read(out / "cells.mask.png") > 0, image > 100)
    digest = json.loads((out / "cells.json").read_text())["input_sha256"]
    assert digest == seglab.io.sha256_file(store) and len(digest) == 64
    capsys.readouterr()
    assert main(["segment", str(store), "--method", "otsu", "--out", str(out)]) == 0
    assert "(1 done by an earlier run, skipped)" in capsys.readouterr().out
    array[0:8, 0:8] = 200  # one chunk rewritten: another hash, segmented again
    assert seglab.io.sha256_file(store) != digest
    assert main(["segment", str(store), "--method", "otsu", "--out", str(out)]) == 0
    assert "skipped" not in capsys.readouterr().out
    with pytest.raises(seglab.ImageReadError, match=r"is a folder; sha256_file hashes one file \(or a zarr store\)"):
        seglab.io.sha256_file(tmp_path)
