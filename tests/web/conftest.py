"""Fixtures of the web tests: a real ``seglab serve`` process and a real (Debian) Chromium.

The server runs as a user runs it (``python -m seglab serve --no-browser``) in a subprocess, on a
free port, over a workspace of the bundled samples; the tests read the printed URL and its token.
The browser is Playwright's sync API driving the system ``chromium`` (a plain fixture: the
pytest-playwright plugin trips this suite's ``filterwarnings = error``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web tests need seglab[web] (fastapi, uvicorn, python-multipart)")
pytest.importorskip("uvicorn", reason="the web tests need seglab[web] (fastapi, uvicorn, python-multipart)")
httpx = pytest.importorskip("httpx", reason="the web API tests need httpx (seglab[test])")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@dataclass
class Server:
    url: str  # the printed URL, with ?token=
    base: str
    token: str
    workspace: Path
    process: subprocess.Popen
    output: list

    def client(self, **kwargs):
        kwargs.setdefault("timeout", 120)
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)


def start_server(workspace: Path, *extra: str) -> Server:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "seglab", "serve", "--no-browser", "--port", "0", "--workspace", str(workspace), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    output: list[str] = []
    found: list[str] = []

    def pump():
        for line in process.stdout:
            output.append(line)
            match = re.search(r"open (http://\S+)", line)
            if match:
                found.append(match.group(1))

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 90
    while not found and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    if not found:
        process.kill()
        raise RuntimeError("seglab serve did not print its URL:\n" + "".join(output))
    url = found[0]
    base, _, token = url.partition("/?token=")
    # wait until it answers
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(base + "/api/methods", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            if answer.status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return Server(url, base, token, workspace, process, output)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    import seglab
    from seglab.web._workspace import make_sample_workspace

    folder = make_sample_workspace(tmp_path_factory.mktemp("workspace"))
    # small inputs for the slow interactive methods (random walker, GrabCut) keep the tests quick
    (folder / "small").mkdir()
    blobs = seglab.read(folder / "blobs.png")
    seglab.write(folder / "small" / "blobs.png", blobs[:160, :192])
    seglab.write(folder / "small" / "astronaut.png", seglab.read(folder / "astronaut.png")[::4, ::4])
    return folder


@pytest.fixture(scope="session")
def server(workspace):
    srv = start_server(workspace, "--max-upload-mb", "2")
    yield srv
    stop_server(srv)


@pytest.fixture
def launch_server():
    """Start extra servers (``launch(workspace, *options)``); they are stopped after the test."""
    started: list[Server] = []

    def launch(workspace, *extra):
        srv = start_server(workspace, *extra)
        started.append(srv)
        return srv

    yield launch
    for srv in started:
        stop_server(srv)


@pytest.fixture
def own_server(launch_server, tmp_path):
    """A server over a fresh workspace of the samples, for tests that add files (uploads, links, exports).

    The session's shared workspace stays as the samples made it, so the image list the page tests
    see (and their screenshots) holds the samples only.
    """
    from seglab.web._workspace import make_sample_workspace

    return launch_server(make_sample_workspace(tmp_path / "own-workspace"), "--max-upload-mb", "2")


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); the browser tests need it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (python) is not installed: pip install playwright")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def open_page(browser, server):
    """The workbench page of `server` in a new browser context; no JavaScript error may happen on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.js_errors = errors
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as opened:
        yield opened


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory):
    """``screenshot(page, name)``: a small PNG of the page.

    Written to ``$SEGLAB_SCREENSHOTS_DIR`` when set (``SEGLAB_SCREENSHOTS_DIR=docs/screenshots`` refreshes
    the README's pictures), else to a temporary folder, so a plain test run writes nothing in the tree.
    """
    folder = Path(os.environ.get("SEGLAB_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))

    def save(page, name: str) -> Path:
        return save_screenshot(page, folder / f"{name}.png")

    return save


def save_screenshot(page, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    shot = Image.open(io.BytesIO(page.screenshot()))
    # three quarters of the size and 256 colours keep the file small and the text readable
    shot = shot.convert("RGB").resize((shot.width * 3 // 4, shot.height * 3 // 4), Image.LANCZOS)
    shot.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    assert path.stat().st_size > 10_000  # a real picture, not a blank page
    return path


# -- U-Net training from the page ----------------------------------------------------------------
#: A real BasicUNet small enough to train in a few seconds on two busy cores (F1 ~0.97 on the disks below).
TINY_UNET = {"features": [4, 8, 16, 32, 64, 4], "patch": 32, "batch_size": 4, "steps_per_epoch": 6, "window": 64,
             "learning_rate": 0.01, "threads": 1}


def disks(seed: int, size: int = 64, n: int = 4):
    """Bright, separate disks on a noisy background: ``(uint8 image, uint8 0/255 mask)``."""
    import numpy as np

    gen = np.random.default_rng(seed)
    rows, cols = np.indices((size, size))
    mask = np.zeros((size, size), bool)
    placed: list[tuple[float, float, float]] = []
    for _ in range(500):
        if len(placed) == n:
            break
        radius = float(gen.integers(6, 9))
        r, c = gen.uniform(radius + 2, size - radius - 2, 2)
        if all((r - r2) ** 2 + (c - c2) ** 2 > (radius + q + 3) ** 2 for r2, c2, q in placed):
            placed.append((r, c, radius))
            mask |= (rows - r) ** 2 + (cols - c) ** 2 <= radius**2
    image = np.clip(np.where(mask, 170.0, 50.0) + gen.normal(0, 18, mask.shape), 0, 255).astype(np.uint8)
    return image, mask.astype(np.uint8) * 255


@pytest.fixture
def train_workspace(tmp_path):
    """A workspace with ``train/`` (three disk images and their ``.truth.png``) and a held-out ``held-out.png``."""
    import seglab

    folder = tmp_path / "workspace"
    (folder / "train").mkdir(parents=True)
    for seed in range(3):
        image, truth = disks(seed)
        seglab.write(folder / "train" / f"d{seed}.png", image)
        seglab.write(folder / "train" / f"d{seed}.truth.png", truth)
    image, truth = disks(99)
    seglab.write(folder / "held-out.png", image)
    seglab.write(folder / "held-out.truth.png", truth)
    return folder
