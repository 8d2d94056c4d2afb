"""The model folder: round trip, and every way a folder can be unsafe or damaged is refused with ModelError."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from seglab._core.errors import SeglabError
from seglab.learn import ModelError, hash_arrays, hash_files, load_model, save_model
from seglab.learn._artifact import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE


def _arrays():
    gen = np.random.default_rng(0)
    return {"w": gen.normal(size=(3, 4)).astype(np.float32), "idx": np.arange(5, dtype=np.int64),
            "flag": np.array([True, False])}


def _save(tmp_path, **kwargs):
    return save_model(tmp_path / "model", kind=kwargs.pop("kind", "pixel_classifier"), arrays=_arrays(),
                      config=kwargs.pop("config", {"classes": [1, 2], "score": np.float64(0.9)}))


def test_round_trip_is_exact_and_config_is_complete(tmp_path):
    folder = _save(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    arrays, config = load_model(folder, kind="pixel_classifier")
    for name, array in _arrays().items():
        assert arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(arrays[name], array)
    assert config["kind"] == "pixel_classifier"
    assert config["format_version"] == FORMAT_VERSION
    assert config["classes"] == [1, 2] and config["score"] == 0.9
    assert config["seglab_version"] and "numpy" in config["libraries"] and "safetensors" in config["libraries"]
    assert config["created"].endswith("+00:00")
    assert len(config["weights"]["sha256"]) == 64
    # no temporary folder is left beside the model
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_saving_into_an_existing_folder_keeps_other_files(tmp_path):
    folder = _save(tmp_path)
    (folder / "checkpoint.safetensors").write_bytes(b"keep me")
    save_model(folder, kind="unet", arrays={"w": np.ones(2)}, config={})
    arrays, config = load_model(folder, kind="unet")
    assert config["kind"] == "unet" and arrays["w"].tolist() == [1.0, 1.0]
    assert (folder / "checkpoint.safetensors").read_bytes() == b"keep me"


def test_kind_mismatch_is_refused(tmp_path):
    folder = _save(tmp_path)
    with pytest.raises(ModelError, match=r"is a 'pixel_classifier' model; expected a 'unet' model"):
        load_model(folder, kind="unet")


def test_pickle_disguised_as_weights_is_refused_without_running_it(tmp_path):
    folder = _save(tmp_path)
    # A pickle that would create a file when loaded: refusing it must leave no trace.
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(str(marker)))
    (folder / WEIGHTS_FILE).write_bytes(payload)
    with pytest.raises(ModelError, match=r"is a Python pickle .* refuses it because loading it could run arbitrary"):
        load_model(folder)
    assert not marker.exists()


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_joblib_zip_disguised_as_weights_is_refused(tmp_path):
    folder = _save(tmp_path)
    (folder / WEIGHTS_FILE).write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ModelError, match=r"is a zip archive .*not safetensors"):
        load_model(folder)


def test_tampered_weights_are_refused(tmp_path):
    folder = _save(tmp_path)
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"SHA-256 does not match"):
        load_model(folder)


def test_missing_or_renamed_weights_are_refused_and_pickles_named(tmp_path):
    folder = _save(tmp_path)
    (folder / WEIGHTS_FILE).rename(folder / "model.pkl")
    with pytest.raises(ModelError, match=r"has no weights.safetensors .*found model.pkl: seglab never loads pickle"):
        load_model(folder)


def test_garbage_weights_are_refused(tmp_path):
    folder = _save(tmp_path)
    (folder / WEIGHTS_FILE).write_bytes(b"hello world, not a model")
    with pytest.raises(ModelError, match=r"is not a safetensors file"):
        load_model(folder)


def test_unknown_format_version_and_foreign_config_are_refused(tmp_path):
    folder = _save(tmp_path)
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["format_version"] = FORMAT_VERSION + 1
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"format version 2 is not supported.*newer seglab"):
        load_model(folder)
    (folder / CONFIG_FILE).write_text(json.dumps({"hello": 1}))
    with pytest.raises(ModelError, match=r"is not a seglab model config"):
        load_model(folder)
    (folder / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelError, match=r"is not valid JSON"):
        load_model(folder)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(ModelError, match=r"does not exist; train one with `seglab train"):
        load_model(tmp_path / "nope")
    bogus = tmp_path / "model.joblib"
    bogus.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelError, match=r"is a file; a model is a folder.*never loads pickle, joblib"):
        load_model(bogus)
    assert isinstance(ModelError("x"), SeglabError) and isinstance(ModelError("x"), ValueError)


def test_save_refuses_reserved_keys_and_bad_arrays(tmp_path):
    with pytest.raises(ModelError, match=r"reserved key\(s\) 'kind'"):
        save_model(tmp_path / "m", kind="x", arrays={"w": np.ones(1)}, config={"kind": "y"})
    with pytest.raises(ModelError, match=r"array 'o' has dtype object"):
        save_model(tmp_path / "m", kind="x", arrays={"o": np.array([None])}, config={})
    with pytest.raises(ModelError, match=r"must be a non-empty dict"):
        save_model(tmp_path / "m", kind="x", arrays={}, config={})
    assert not (tmp_path / "m").exists()


def test_hashes_tell_data_apart(tmp_path):
    a = np.arange(6, dtype=np.uint8)
    assert hash_arrays([a]) == hash_arrays([a.copy()])
    assert hash_arrays([a]) != hash_arrays([a.reshape(2, 3)])
    assert hash_arrays({"x": a}) != hash_arrays({"y": a})
    (tmp_path / "a.png").write_bytes(b"abc")
    assert hash_files([tmp_path / "a.png"]) == [
        {"file": "a.png", "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]
