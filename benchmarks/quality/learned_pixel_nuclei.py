"""Pixel classifier on the nuclei (GOWT1 + HeLa): trained from the truths of each fold's training images, scored
on its held-out images, beside the U-Net (benchmarks/quality/learned_unet.py, same folds).

Two ways to turn pixel classes into objects:

* ``2-class + components``: object / background (``labels_from_truth``), connected components of the mask;
* ``3-class + watershed``: the U-Net's own instance target (interior / two-pixel boundary / background,
  ``seglab.deep._data.instance_target``) as three classes, then the U-Net's seeded watershed
  (``labels_from_probabilities``), so that the two learned methods differ only in the pixel model.

The threshold, seed threshold and minimum object size are chosen on the fold's training images (pixel classes
are noisy pixel by pixel: without a minimum size every fold gives thousands of specks and AP@0.5 < 0.05).

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

    def objects(variant, proba, threshold, seed_threshold, min_size):
        if variant.startswith("2"):
            return labels_from_probabilities(proba[1], proba[1], threshold=threshold, seed_threshold=threshold,
                                             min_size=min_size)  # connected components of the mask
        return labels_from_probabilities(proba[1], 1.0 - proba[0], threshold=threshold,
                                         seed_threshold=seed_threshold, min_size=min_size)

    for variant in ("2-class + components", "3-class + watershed"):
        if variant.startswith("2"):
            labels = [labels_from_truth(data[key][1]) for key in train]
        else:
            labels = [instance_target(data[key][1]).astype(np.int32) + 1 for key in train]
        start = time.perf_counter()
        model = fit_pixel_classifier([data[key][0] for key in train], labels, seed=0)
        train_seconds = time.perf_counter() - start
        # post-processing chosen on the fold's training images (as the U-Net's --tune-on training): pixel
        # classes are noisy per pixel, so the minimum object size matters most
        train_proba = [np.moveaxis(model.predict_proba(data[key][0]), -1, 0) for key in train]
        best = {"ap50": -1.0}
        for threshold in (0.3, 0.5, 0.7):
            for seed_threshold in ((0.5,) if variant.startswith("2") else (0.3, 0.5, 0.7)):
                for min_size in (0, 50, 100, 200, 300):
                    ap = float(np.mean([instance_scores(data[key][1], objects(variant, p, threshold, seed_threshold,
                                                                              min_size))["ap50"]
                                        for key, p in zip(train, train_proba)]))
                    if ap > best["ap50"]:
                        best = {"ap50": ap, "threshold": threshold, "seed_threshold": seed_threshold,
                                "min_size": min_size}
        log(f"fold {k} {variant}: post-processing on the training images {best}")
        rows, predict_seconds = [], 0.0
        for key in test:
            image, truth = data[key]
            start = time.perf_counter()
            proba = np.moveaxis(model.predict_proba(image), -1, 0)
            pred = objects(variant, proba, best["threshold"], best["seed_threshold"], best["min_size"])
            predict_seconds += time.perf_counter() - start
            scores = instance_scores(truth, pred)
            rows.append({"image": key, **{m: scores[m] for m in ("ap50", "ap75", "map", "pq", "n_true", "n_pred")}})
            log(f"fold {k} {variant} {key}: AP50 {scores['ap50']:.3f} AP75 {scores['ap75']:.3f} "
                f"mAP {scores['map']:.3f} PQ {scores['pq']:.3f}")
        out[variant] = {"rows": rows, "train_seconds": train_seconds, "predict_seconds": predict_seconds,
                        "post": best,
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
