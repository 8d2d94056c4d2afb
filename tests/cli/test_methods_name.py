"""`seglab methods NAME` explains one entry; the catalogue fits 80 columns; messages end sentences."""

from __future__ import annotations

import pytest

import seglab
from seglab.cli.main import main


def test_methods_name_shows_meaning_range_default_and_typical(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["methods", "sauvola"]) == 0
    out = capsys.readouterr().out
    assert "sauvola  (method, family threshold, output mask)" in out
    row = next(line for line in out.splitlines() if line.startswith("window_size"))
    assert "odd window size" in row and "an integer in [3, 10001], odd" in row and "15" in row and "3 to 101" in row
    assert "example: seglab segment IMAGE --method sauvola --param window_size=15 --out OUT" in out


def test_methods_name_says_how_to_give_inputs(capsys):
    assert main(["methods", "random_walker"]) == 0
    out = capsys.readouterr().out
    assert "needs seeds: --seeds LABELS.png" in out and '"polyline": [[row, col], ...], "width": 3' in out


def test_unknown_name_is_one_line_with_a_suggestion(capsys):
    assert main(["methods", "otsuu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["seglab: error: no method or step named 'otsuu'. Did you mean 'otsu'? `seglab methods` lists them"]


def test_catalogue_lines_fit_80_columns_with_full_names(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    names = {line.split()[0] for line in lines[1:]}
    assert {spec.name for spec in seglab.all_specs()} <= names


def test_pipeline_file_format_is_in_the_help(capsys):
    assert main(["methods", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Pipeline file (YAML or JSON)" in out
    assert "\n      - name: median\n        params: {size: 3}\n" in out  # kept as written, not re-wrapped


def test_unknown_parameter_message_ends_its_sentence():
    with pytest.raises(seglab.SeglabError, match=r"its parameters are threshold, invert\. Did you mean 'threshold'\?"):
        seglab.get_method("manual").param("treshold")


def test_segment_help_states_the_seeds_and_pipeline_formats(capsys):
    assert main(["segment", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert '{"seeds": [{"class": 1, "circle": [row, col, radius]}' in out
    assert "{pre: [{name, params}], method: {name, params}, post: [...]}" in out
