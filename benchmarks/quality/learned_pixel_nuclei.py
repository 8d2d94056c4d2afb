"""Pixel classifier on the nuclei (GOWT1 + HeLa): trained from the truths of each fold's training images, scored
on its held-out images, beside the U-Net (benchmarks/quality/learned_unet.py, same folds).

Two ways to turn pixel classes into objects:

* ``2-class + components``: object / background (``labels_from_truth``), connected components of the mask;
* ``3-class + watershed``: the U-Net's own instance target (interior / two-pixel boundary / background,
  ``seglab.deep._data.instance_target``) as three classes, then the U-Net's seeded watershed
  (``labels_from_probabilities``, threshold 0.5, seed threshold 0.5, no minimum size), so that the two learned
  methods differ only in the pixel model.

Every image is first mapped by its own 1st / 99.8th percentiles to [0, 1] (HeLa is uint16 with an offset,
GOWT1 uint8; the U-Net normalises the same way). Forest: the defaults (50 trees, depth 16, 49 features at 7
scales, a balanced seeded 100,000-pixel subset). ::

    python -m benchmarks.quality.learned_pixel_nuclei --out /tmp/pixel_nuclei
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from .learned_unet import DATA, NUCLEI_FOLDS, _nuclei_pairs


def fold(k: int, log) -> dict:
    from scipy import ndimage as ndi

    import seglab
    from seglab.deep._data import instance_target, labels_from_probabilities, normalize, percentile_range
    from seglab.learn import clear_feature_cache, fit_pixel_classifier, labels_from_truth
    from seglab.metrics.instance import instance_scores

    pairs = _nuclei_pairs()
    test = NUCLEI_FOLDS[k]
    train = [key for key in pairs if key not in test]

    def load(key):
        image, truth = seglab.read(pairs[key][0]), seglab.read(pairs[key][1])
        return normalize(image, percentile_range(image)), truth

    clear_feature_cache()
    data = {key: load(key) for key in train + test}
    out: dict = {"fold": k, "test": test, "train": train}
    for variant in ("2-class + components", "3-class + watershed"):
        if variant.startswith("2"):
            labels = [labels_from_truth(data[key][1]) for key in train]
        else:
            labels = [instance_target(data[key][1]).astype(np.int32) + 1 for key in train]
        start = time.perf_counter()
        model = fit_pixel_classifier([data[key][0] for key in train], labels, seed=0)
        train_seconds = time.perf_counter() - start
        rows, predict_seconds = [], 0.0
        for key in test:
            image, truth = data[key]
            start = time.perf_counter()
            proba = np.moveaxis(model.predict_proba(image), -1, 0)
            if variant.startswith("2"):
                pred = ndi.label(proba[1] > 0.5)[0]
            else:
                pred = labels_from_probabilities(proba[1], 1.0 - proba[0], threshold=0.5, seed_threshold=0.5,
                                                 min_size=0)
            predict_seconds += time.perf_counter() - start
            scores = instance_scores(truth, pred)
            rows.append({"image": key, **{m: scores[m] for m in ("ap50", "ap75", "map", "pq", "n_true", "n_pred")}})
            log(f"fold {k} {variant} {key}: AP50 {scores['ap50']:.3f} AP75 {scores['ap75']:.3f} "
                f"mAP {scores['map']:.3f} PQ {scores['pq']:.3f}")
        out[variant] = {"rows": rows, "train_seconds": train_seconds, "predict_seconds": predict_seconds,
                        "mean": {m: float(np.mean([r[m] for r in rows])) for m in ("ap50", "ap75", "map", "pq")}}
    out["load_after"] = list(os.getloadavg())
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/pixel_nuclei")
    parser.add_argument("--fold", type=int, choices=(1, 2, 3), required=True)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = fold(args.fold, lambda text: print(text, flush=True))
    (out / f"fold{args.fold}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
