"""Many clients asking for previews at once: no errors, every answer for the region it asked for.

The full run (64 clients x 200 previews) is ``python -m benchmarks.web_load`` and the slow case here;
latencies are printed, never asserted (the machine is shared).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def web_load():
    spec = importlib.util.spec_from_file_location("seglab_web_load", REPO / "benchmarks" / "web_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(launch_server, tmp_path, clients, requests, size):
    bench = web_load()
    folder = bench.make_workspace(tmp_path, size)
    server = launch_server(folder)
    numbers = bench.run_load(server.base, server.token, clients=clients, requests=requests, size=size)
    print(f"\n{clients} clients x {requests} previews: p50 {numbers['p50_ms']:.1f} ms, "
          f"p95 {numbers['p95_ms']:.1f} ms, {numbers['throughput_rps']:.0f}/s, errors {numbers['errors']}")
    return server, numbers


def test_concurrent_previews_all_answered(launch_server, tmp_path):
    server, numbers = _run(launch_server, tmp_path, clients=8, requests=10, size=1024)
    assert numbers["errors"] == 0, numbers["error_samples"]
    assert numbers["ok"] == 80
    with server.client() as client:  # still serving
        assert client.get("/api/methods").status_code == 200


@pytest.mark.slow
def test_64_clients_x_200_previews(launch_server, tmp_path):
    _, numbers = _run(launch_server, tmp_path, clients=64, requests=200, size=2048)
    assert numbers["errors"] == 0, numbers["error_samples"]
    assert numbers["ok"] == 64 * 200
