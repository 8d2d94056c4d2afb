"""Pair image files with ground-truth files by file stem.

The rule (documented for ``seglab compare`` and ``seglab tune``):

1. With ``pair_regex``, each stem's key is the regex's first group (or the
   whole match when the pattern has no group), found with :func:`re.search`;
   a stem the regex does not match is reported as unpaired.
2. Otherwise, if every image stem equals a truth stem, stems are paired as
   they are (``3.png`` <-> ``3.png``, ``100007.jpg`` <-> ``100007.mat``).
3. Otherwise each stem is normalised: the prefix and suffix shared by *all*
   stems of its own group (images, or truths) are removed — cut back so they
   never split a run of digits — and a key made only of digits is compared as
   a number. So ``t01.tif`` <-> ``man_seg01.tif`` (Cell Tracking Challenge),
   ``dna-3.png`` <-> ``3.png`` and ``img_7.png`` <-> ``img_7_gt.png`` pair up. A side with a
   single file has nothing shared to strip: its key is the last number in its stem.

4. One image and one truth always pair, whatever their stems (the KESM tile:
   ``grayscale.png`` <-> ``groundtruth.png``).

Files on either side without a partner are returned, not dropped silently.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from seglab._core.errors import ParameterError

__all__ = ["pair_files", "expand_paths", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".npy", ".mat", ".gif", ".webp")


def expand_paths(items: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders (their image files, sorted) and glob patterns into a list of files."""
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    out: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text))
            if not matches:
                raise ParameterError(f"the pattern {text!r} matches no file")
            out.extend(matches)
        elif path.exists():
            out.append(path)
        else:
            raise ParameterError(f"{text!r} does not exist; give image files, folders or glob patterns")
    return out


def _digit_safe_prefix(stems: Sequence[str]) -> str:
    prefix = os.path.commonprefix(list(stems))
    # Never cut inside a number: 't01', 't02' share 't0', but the key must keep '01'.
    while prefix and prefix[-1].isdigit():
        prefix = prefix[:-1]
    return prefix


def _digit_safe_suffix(stems: Sequence[str]) -> str:
    suffix = os.path.commonprefix([s[::-1] for s in stems])[::-1]
    while suffix and suffix[0].isdigit():
        suffix = suffix[1:]
    return suffix


def _normalised_keys(stems: Sequence[str]) -> list[str]:
    if len(stems) < 2:
        # A lone file has no shared prefix to strip: its key is its last number, if it has one.
        numbers = [re.findall(r"\d+", stem) for stem in stems]
        return [str(int(n[-1])) if n else stem.lower() for n, stem in zip(numbers, stems)]
    else:
        prefix, suffix = _digit_safe_prefix(stems), _digit_safe_suffix(stems)
    keys = []
    for stem in stems:
        key = stem[len(prefix):]
        if suffix and len(key) > len(suffix):
            key = key[: len(key) - len(suffix)]
        key = key.strip("_-. ") or stem
        keys.append(str(int(key)) if key.isdigit() else key.lower())
    return keys


def _regex_keys(stems: Sequence[str], pattern: re.Pattern) -> list[str | None]:
    keys: list[str | None] = []
    for stem in stems:
        match = pattern.search(stem)
        if match is None:
            keys.append(None)
            continue
        key = match.group(1) if pattern.groups else match.group(0)
        keys.append(str(int(key)) if key.isdigit() else key)
    return keys


def pair_files(images: Sequence[Path | str], truths: Sequence[Path | str], *,
               pair_regex: str | None = None) -> tuple[list[tuple[str, Path, Path]], list[Path], list[Path]]:
    """Pair image files with truth files by stem (see the module docstring for the rule).

    Parameters
    ----------
    images, truths : sequence of path
        Image files and ground-truth files.
    pair_regex : str, optional
        A regular expression; its first group (or whole match) is the pairing key.

    Returns
    -------
    pairs : list of (key, image_path, truth_path)
        In image order.
    unpaired_images, unpaired_truths : list of Path
        Files without a partner.

    Raises
    ------
    ParameterError
        Two files of one side map to the same key, or `pair_regex` is invalid.

    Examples
    --------
    >>> pairs, _, _ = pair_files(["img/t01.tif", "img/t21.tif"], ["gt/man_seg21.tif", "gt/man_seg01.tif"])
    >>> [(k, Path(i).name, Path(t).name) for k, i, t in pairs]
    [('1', 't01.tif', 'man_seg01.tif'), ('21', 't21.tif', 'man_seg21.tif')]
    """
    image_paths = [Path(p) for p in images]
    truth_paths = [Path(p) for p in truths]
    image_stems = [p.stem for p in image_paths]
    truth_stems = [p.stem for p in truth_paths]
    if pair_regex is None and len(image_paths) == 1 and len(truth_paths) == 1:
        # One of each: nothing to tell apart, so they belong together.
        return [(image_stems[0], image_paths[0], truth_paths[0])], [], []
    if pair_regex is not None:
        try:
            pattern = re.compile(pair_regex)
        except re.error as exc:
            raise ParameterError(f"--pair-regex {pair_regex!r} is not a valid regular expression: {exc}") from None
        image_keys, truth_keys = _regex_keys(image_stems, pattern), _regex_keys(truth_stems, pattern)
    elif set(image_stems) <= set(truth_stems):
        image_keys, truth_keys = list(image_stems), list(truth_stems)
    else:
        image_keys, truth_keys = _normalised_keys(image_stems), _normalised_keys(truth_stems)
    for side, paths, keys in (("image", image_paths, image_keys), ("truth", truth_paths, truth_keys)):
        seen: dict[str, Path] = {}
        for path, key in zip(paths, keys):
            if key is None:
                continue
            if key in seen:
                raise ParameterError(
                    f"{side} files {seen[key].name!r} and {path.name!r} both pair under the key {key!r}; "
                    "rename them or pass --pair-regex with a group that tells them apart"
                )
            seen[key] = path
    truth_by_key = {k: p for k, p in zip(truth_keys, truth_paths) if k is not None}
    pairs, unpaired_images = [], []
    used = set()
    for key, path in zip(image_keys, image_paths):
        if key is not None and key in truth_by_key:
            pairs.append((key, path, truth_by_key[key]))
            used.add(key)
        else:
            unpaired_images.append(path)
    unpaired_truths = [p for k, p in zip(truth_keys, truth_paths) if k is None or k not in used]
    return pairs, unpaired_images, unpaired_truths
