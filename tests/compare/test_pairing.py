"""Pairing images with truth files by stem."""

from pathlib import Path

import pytest

from seglab._core.errors import ParameterError
from seglab.compare import pair_files


def names(pairs):
    return [(Path(i).name, Path(t).name) for _, i, t in pairs]


def test_cell_tracking_challenge_names_pair_by_number():
    pairs, li, lt = pair_files(["t01.tif", "t21.tif", "t02.tif"], ["man_seg02.tif", "man_seg01.tif", "man_seg21.tif"])
    assert names(pairs) == [("t01.tif", "man_seg01.tif"), ("t21.tif", "man_seg21.tif"), ("t02.tif", "man_seg02.tif")]
    assert li == [] and lt == []


def test_exact_stems_and_prefixes_and_suffixes():
    assert names(pair_files(["a/3.png", "a/10.png"], ["b/10.png", "b/3.png"])[0]) == [("3.png", "3.png"),
                                                                                      ("10.png", "10.png")]
    assert names(pair_files(["dna-0.png", "dna-26.png"], ["0.png", "26.png"])[0]) == [("dna-0.png", "0.png"),
                                                                                      ("dna-26.png", "26.png")]
    assert names(pair_files(["img_7.png", "img_8.png"], ["img_7_gt.png", "img_8_gt.png"])[0]) == [
        ("img_7.png", "img_7_gt.png"), ("img_8.png", "img_8_gt.png")]


def test_unpaired_files_are_returned():
    pairs, lonely_images, lonely_truths = pair_files(["t01.tif", "t02.tif", "t05.tif"], ["man_seg01.tif", "man_seg02.tif", "man_seg09.tif"])
    assert len(pairs) == 2
    assert [p.name for p in lonely_images] == ["t05.tif"] and [p.name for p in lonely_truths] == ["man_seg09.tif"]


def test_pair_regex_sets_the_key():
    pairs, _, _ = pair_files(["scan_A_raw.png", "scan_B_raw.png"], ["B-mask.png", "A-mask.png"],
                             pair_regex=r"(?:scan_)?([AB])")
    assert names(pairs) == [("scan_A_raw.png", "A-mask.png"), ("scan_B_raw.png", "B-mask.png")]


def test_bad_regex_and_duplicate_keys_are_refused():
    with pytest.raises(ParameterError, match="not a valid regular expression"):
        pair_files(["a.png"], ["a.png"], pair_regex="(")
    with pytest.raises(ParameterError, match="both pair under the key '1'"):
        pair_files(["t1.png", "t01.png"], ["m1.png", "m2.png"])
