"""The bad-input corpus through the CLI, in process: one line per error, exit 2, no traceback, no partial output.

Every case of ``_corpus.CASES`` builds its inputs into ``tmp_path`` and runs ``seglab.cli.main.main(argv)``
under a per-case timeout (pytest-timeout). The memory-bomb cases (``memory=True``) run together in one
child process whose address space is capped with ``RLIMIT_AS``, so a regression fails with a clear
MemoryError instead of taking the machine down.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

def _load_corpus():
    """Import the sibling ``_corpus.py`` once (the tests folder is not a package under --import-mode=importlib)."""
    name = "seglab_hardening_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().with_name("_corpus.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = _load_corpus()

# A message is one line; SeglabError keeps at most 1000 characters, plus the prefix and a file name.
MAX_LINE = 1400
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _params(cases):
    out = []
    for case in cases:
        marks = []
        # 60 s per case; a case known to hang today fails fast with its own limit
        marks.append(pytest.mark.timeout(case.extra.get("timeout", 60)))
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        if case.extra.get("slow"):
            marks.append(pytest.mark.slow)  # e.g. waits out a connection timeout
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def _skip_if_unsupported(case):
    if case.needs == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    if case.needs == "nonroot" and (IS_ROOT or os.name != "posix"):
        pytest.skip("running as root (or not POSIX): permission bits are not enforced, the case cannot fail")


def _umask_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def check_outcome(case, code: int, out: str, err: str, root: Path) -> None:
    """Assert what a user sees: exit code, one stderr line per error, no traceback, no partial output."""
    assert "Traceback" not in out + err, err[-2000:]
    lines = err.splitlines()
    stray = [line for line in lines if not line.startswith("seglab: ")]
    assert stray == [], f"stderr lines that are not seglab's one-line messages: {stray[:3]}"
    long = [line[:120] for line in lines if len(line) > MAX_LINE]
    assert long == [], "over-long message lines"
    unexpected = [line for line in lines if line.startswith("seglab: unexpected")]
    assert unexpected == [], unexpected
    errors = [line for line in lines if line.startswith("seglab: error:")]
    assert len(errors) == case.errors, f"expected {case.errors} error line(s); got {errors}"
    assert code == case.code, f"exit code {code}, expected {case.code}; stderr: {err[-600:]}"
    if case.match is not None and case.errors:
        assert any(re.search(case.match, line) for line in errors), f"no error line matches {case.match!r}: {errors}"
    if "stdout" in case.extra:
        assert re.search(case.extra["stdout"], out), f"stdout does not match {case.extra['stdout']!r}: {out[-600:]}"
    out_dir = root / "OUT"
    if case.extra.get("out", "OUT") is None or not out_dir.exists():
        return
    present = sorted(p.name for p in out_dir.iterdir())
    temporaries = [name for name in present if name.startswith(".")]
    assert temporaries == [], f"temporary files left behind: {temporaries}"
    for name in case.outputs:
        assert (out_dir / name).is_file(), f"missing output {name}; folder holds {present}"
    if case.code != 0:
        # Only the listed outputs (of the good files of a batch, with their overlay and record) may exist.
        stems = {name.split(".")[0] for name in case.outputs}
        partial = [name for name in present if name.split(".")[0] not in stems]
        assert partial == [], f"outputs of failed inputs left behind: {partial}"
    if "mode" in case.extra:
        expected = _umask_mode()
        for name in case.outputs:
            assert (out_dir / name).stat().st_mode & 0o777 == expected, f"{name} mode"


@pytest.mark.parametrize("case", _params([c for c in corpus.CASES if not c.memory]))
def test_cli_case(case, tmp_path, capsys, monkeypatch):
    from seglab.cli.main import main

    _skip_if_unsupported(case)
    monkeypatch.chdir(tmp_path)
    if case.extra.get("out") == "mkdir":
        (tmp_path / "OUT").mkdir()
    argv = case.build(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    check_outcome(case, code, out, err, tmp_path)
    if case.extra.get("cwd_clean"):
        assert sorted(p.name for p in tmp_path.iterdir()) == before, "outputs written into the current folder"


# -- memory bombs in a child with a capped address space ---------------------------------------------
MEMORY_CASES = [c for c in corpus.CASES if c.memory]
# The child's own imports (NumPy, OpenCV, scikit-image, Pillow) reserve about 1-2 GiB of address space;
# the cap leaves 2 GiB on top of what the child uses after importing, far below any case's bomb size.
_HEADROOM = 2 << 30

_CHILD = r"""
import contextlib, io, json, os, resource, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy, PIL.Image, tifffile, yaml, seglab, seglab.io, seglab.cli.main, cv2, skimage.filters, skimage.exposure, psutil
import seglab.threshold, seglab.preprocess, seglab.postprocess
vms = psutil.Process().memory_info().vms
resource.setrlimit(resource.RLIMIT_AS, (vms + int(sys.argv[2]), resource.RLIM_INFINITY))
results = {}
for item in json.loads(open(sys.argv[1]).read()):
    os.chdir(item["cwd"])
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = seglab.cli.main.main(item["argv"])
        except BaseException as exc:
            code = f"raised {type(exc).__name__}: {str(exc)[:300]}"
    results[item["id"]] = {"code": code, "out": out.getvalue(), "err": err.getvalue(),
                           "seconds": time.perf_counter() - start}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def memory_results(tmp_path_factory):
    if not hasattr(__import__("resource"), "RLIMIT_AS"):
        pytest.skip("no RLIMIT_AS on this platform")
    root = tmp_path_factory.mktemp("memory")
    items = []
    for case in MEMORY_CASES:
        folder = root / case.id
        folder.mkdir()
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            argv = case.build(folder)
        finally:
            os.chdir(cwd)
        items.append({"id": case.id, "argv": argv, "cwd": str(folder)})
    plan = root / "plan.json"
    plan.write_text(json.dumps(items))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(plan), str(_HEADROOM)], capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return root, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", _params(MEMORY_CASES))
def test_memory_case(case, memory_results):
    root, results = memory_results
    result = results[case.id]
    assert isinstance(result["code"], int), result["code"]
    assert result["seconds"] < 60, f"took {result['seconds']:.1f} s"
    check_outcome(case, result["code"], result["out"], result["err"], root / case.id)


def test_corpus_size_and_kinds():
    """The corpus keeps its promised breadth: at least 150 cases over every kind of the issue."""
    assert len(corpus.CASES) >= 150
    ids = [c.id for c in corpus.CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    required = {"truncated", "corrupt", "dtype", "0-size", "size", "huge-declared", "nan", "channels", "dims", "yaml",
                "json", "seeds", "params", "special", "names", "output", "batch", "valid", "tile"}
    assert required <= set(corpus.KINDS)
