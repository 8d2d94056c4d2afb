"""`import seglab` and `seglab --help` must not import the heavy libraries."""

import subprocess
import sys

HEAVY = ("torch", "sklearn", "dask", "cv2", "matplotlib", "skimage", "optuna", "zarr")


def _imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    import json

    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_seglab_is_light():
    assert not (_imported_after("import seglab") & set(HEAVY))


def test_cli_help_is_light():
    loaded = _imported_after("from seglab.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not (loaded & set(HEAVY))


def test_catalogue_is_light():
    loaded = _imported_after("import seglab\nseglab.all_specs()")
    assert not (loaded & {"torch", "sklearn", "dask", "cv2", "matplotlib", "optuna"})
