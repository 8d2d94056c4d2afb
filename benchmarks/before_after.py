"""Every registered method through ``seglab.segment``, timed in two source trees in one run.

Usage::

    git worktree add /tmp/seglab-before <commit>
    python -m benchmarks.before_after --before /tmp/seglab-before/src [--repeats 5] [--rounds 3]

Each round starts one fresh interpreter per tree (``PYTHONPATH`` = that tree's ``src``), alternating
before/after, and times every method the *before* tree has (same name, its defaults, the same
seeded 512 x 512 input and user inputs) with ``time.perf_counter`` around ``seglab.segment``: the
median of `repeats` runs after one warm-up. The per-method figure is the minimum over rounds (the
machine is shared: the minimum is the least disturbed run). Results go to
``benchmarks/BEFORE_AFTER.md`` with the ratio after / before; above 1.10 is flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_SRC = HERE.parent / "src"

WORKER = r'''
import json, statistics, sys, time, warnings
import numpy as np
import seglab
import skimage.data

warnings.simplefilter("ignore")
repeats = int(sys.argv[1])
only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 and sys.argv[2] else None
gray = skimage.data.camera()
color = skimage.data.astronaut()[:512, :512]
rows, cols = np.indices(gray.shape)
seeds = np.zeros(gray.shape, np.int32)
seeds[20:40, 20:40] = 1
seeds[300:320, 200:220] = 2
circle = np.stack([256 + 120 * np.sin(np.linspace(0, 2 * np.pi, 200)),
                   256 + 120 * np.cos(np.linspace(0, 2 * np.pi, 200))], axis=1)
INPUTS = {"seeds": seeds, "markers": seeds, "contour": circle, "rect": (100, 100, 300, 300)}
out = {}
for spec in seglab.all_specs():
    if spec.kind != "method" or "model" in spec.param_names or 2 not in spec.dims:
        continue
    if only is not None and spec.name not in only:
        continue
    image = color if spec.channels == "color" else gray
    inputs = {k: INPUTS[k] for k in spec.inputs if k in INPUTS}
    if len(inputs) != len(spec.inputs):
        continue
    try:
        seglab.segment(image, spec.name, **inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            seglab.segment(image, spec.name, **inputs)
            times.append(time.perf_counter() - start)
        out[spec.name] = statistics.median(times)
    except Exception as exc:  # a method the tree cannot run at its defaults is reported, not fatal
        out[spec.name] = repr(exc)[:120]
print(json.dumps(out))
'''


def run_tree(src: Path, repeats: int, only: str = "") -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run([sys.executable, "-c", WORKER, str(repeats), only], env=env, capture_output=True,
                          text=True, check=True, cwd="/")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="src folder of the earlier tree")
    parser.add_argument("--after", type=Path, default=REPO_SRC, help="src folder of the later tree (default: this one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated method names (default: all)")
    parser.add_argument("--output", type=Path, default=HERE / "BEFORE_AFTER.md", help="report file")
    parser.add_argument("--label", default="", help="what 'before' and 'after' are (commits), for the report")
    args = parser.parse_args(argv)
    before: dict[str, list] = {}
    after: dict[str, list] = {}
    for round_index in range(args.rounds):
        for tree, store in ((args.before, before), (args.after, after)):
            for name, value in run_tree(tree, args.repeats, args.only).items():
                store.setdefault(name, []).append(value)
        print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)
    lines = [
        "# Every method before and after, in one run",
        "",
        f"`python -m benchmarks.before_after --before {args.before} --after {args.after}` ({args.label}); "
        f"seglab.segment at defaults on 512 x 512 (camera; astronaut for colour methods), median of "
        f"{args.repeats} warm runs, minimum over {args.rounds} alternating rounds in fresh interpreters. "
        "The machine's 2 cores were shared with other work: ratios near 1 are noise.",
        "",
        "| method | before ms | after ms | after / before |",
        "|---|---:|---:|---:|",
    ]
    slower = []
    for name in sorted(before):
        b = [v for v in before[name] if isinstance(v, float)]
        a = [v for v in after.get(name, []) if isinstance(v, float)]
        if not b or not a:
            lines.append(f"| {name} | {min(b) * 1e3 if b else 'error'} | "
                         f"{min(a) * 1e3 if a else (after.get(name) or ['absent'])[0]} | - |")
            continue
        ratio = min(a) / min(b)
        flag = " **slower**" if ratio > 1.10 else ""
        if ratio > 1.10:
            slower.append(name)
        lines.append(f"| {name} | {min(b) * 1e3:.2f} | {min(a) * 1e3:.2f} | {ratio:.2f}{flag} |")
    lines += ["", f"Slower by more than 10 %: {', '.join(slower) if slower else 'none'}."]
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
