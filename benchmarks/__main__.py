"""Run every benchmark case side by side and write benchmarks/RESULTS.md and benchmarks/results.json.

Usage: ``python -m benchmarks [--quick] [--only FAMILY,...] [--out DIR]``; ``python -m benchmarks sweep`` runs the
range sweep (``benchmarks/sweep.py``). ``--quick`` runs small inputs with two
repeats (a smoke run used by the test suite; its timings mean nothing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ._harness import Case, run_case

HERE = Path(__file__).resolve().parent


def _family_modules(only: set[str] | None):
    import benchmarks.cases as cases_pkg

    for info in sorted(pkgutil.iter_modules(cases_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or (only and info.name not in only):
            continue
        yield info.name, importlib.import_module(f"benchmarks.cases.{info.name}")


def _startup_rows(repeats: int) -> list[dict]:
    """`import seglab` and `seglab --help` wall times in fresh interpreters (lazy-import goals 0.3 s / 0.5 s)."""
    rows = []
    for label, argv in (("import seglab", [sys.executable, "-c", "import seglab"]),
                        ("seglab --help", [sys.executable, "-m", "seglab", "--help"]),
                        ("python -c pass (floor)", [sys.executable, "-c", "pass"])):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            seconds.append(time.perf_counter() - start)
        rows.append({"what": label, "seconds": statistics.median(seconds)})
    return rows


def _overhead_case(quick: bool) -> list[Case]:
    """seglab.segment vs the direct call it wraps, on 512x512: the cost of validation, registry and result."""
    import numpy as np
    import skimage.data
    import skimage.filters

    import seglab

    image = skimage.data.camera()

    def direct():
        return image > skimage.filters.threshold_li(image)

    def ours():
        return seglab.segment(image, "li").mask

    return [Case("segment() overhead (li)", "camera 512x512 uint8", ours, {"skimage": direct},
                 agreement=lambda a, b: ("equal", float(np.mean(a == b))), repeats=3 if quick else 20,
                 note="seglab layer = validation + registry + pipeline + result object")]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sweep"]:  # the range sweep has its own options (benchmarks/sweep.py)
        from .sweep import main as sweep_main

        return sweep_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, 2 repeats (smoke run)")
    parser.add_argument("--only", default="", help="comma-separated family modules (threshold,edges,...)")
    parser.add_argument("--out", default=str(HERE), help="folder for RESULTS.md and results.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of families not run now from the existing results.json")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    rows: list[dict] = []
    failures: list[str] = []
    families = list(_family_modules(only))
    if not only or "overhead" in only:
        families.append(("overhead", None))
    for name, module in families:
        try:
            cases = _overhead_case(args.quick) if module is None else module.cases(args.quick)
        except Exception as exc:  # a broken family must not hide the others' numbers
            failures.append(f"{name}: could not build cases: {type(exc).__name__}: {exc}")
            continue
        for case in cases:
            if args.quick:
                case.repeats = min(case.repeats, 2)
            print(f"[{name}] {case.method} on {case.input_name} ...", file=sys.stderr, flush=True)
            try:
                row = run_case(case)
            except Exception as exc:
                failures.append(f"{name}/{case.method} on {case.input_name}: {type(exc).__name__}: {exc}")
                continue
            row["family"] = name
            rows.append(row)
    startup = _startup_rows(3 if args.quick else 7)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge and (out / "results.json").exists():
        previous = json.loads((out / "results.json").read_text())
        rerun = {name for name, _ in families}
        kept = [row for row in previous["rows"] if row["family"] not in rerun]
        rows = sorted(kept + rows, key=lambda row: row["family"])
        failures = [f for f in previous.get("failures", []) if f.split(":")[0].split("/")[0] not in rerun] + failures
    meta = {"python": platform.python_version(), "machine": platform.machine(), "quick": args.quick,
            "cpus": __import__("os").cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M")}
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows, "startup": startup,
                                                  "failures": failures}, indent=2))
    (out / "RESULTS.md").write_text(render(rows, startup, failures, meta))
    print(str(out / "RESULTS.md"))
    return 1 if failures and not rows else 0


def _f(value, digits=3):
    if value is None:
        return ""
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def render(rows, startup, failures, meta) -> str:
    lines = [
        "# Benchmarks: seglab vs the library call a user would write",
        "",
        f"Run: {meta['date']}, Python {meta['python']}, {meta['cpus']} CPUs, quick={meta['quick']}. "
        "Median of the stated repeats in one process; `ratio` = seglab time / peer time (< 1: seglab is faster); "
        "`floor` = one read+write pass over the same bytes (np.copy into a new array); peak = extra RSS of one run "
        "above the process's RSS before it (MiB). Agreement compares seglab's output with that peer's.",
        "",
        "| family | method | input | seglab s | peak MiB | peer | peer s | peer MiB | ratio | agreement | x floor | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        peers = row["peers"] or {"-": {}}
        for i, (peer, entry) in enumerate(peers.items()):
            agreement = entry.get("agreement")
            agree = f"{agreement['kind']} {agreement['value']:.6g}" if agreement else ""
            first = i == 0
            lines.append(
                f"| {row['family'] if first else ''} | {row['method'] if first else ''} | {row['input'] if first else ''} "
                f"| {_f(row['seglab_s']) if first else ''} | {_f(row['seglab_peak_mb']) if first else ''} | {peer} "
                f"| {_f(entry.get('seconds'))} | {_f(entry.get('peak_mb'))} | {_f(entry.get('ratio'))} | {agree} "
                f"| {_f(row.get('floor_ratio')) if first else ''} | {row['note'] if first else ''} |"
            )
    lines += ["", "## Start-up (fresh interpreter, median)", "", "| what | seconds |", "|---|---|"]
    lines += [f"| {r['what']} | {r['seconds']:.3f} |" for r in startup]
    if failures:
        lines += ["", "## Cases that failed to run", ""] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
