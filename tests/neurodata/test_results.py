"""neurodata.results: run folders, config hashes, provenance, figures (synthetic files)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurodata.errors import MissingFileError, ValidationError
from neurodata.results import (
    check_output_folder,
    config_hash,
    file_hashes,
    input_record,
    load_yaml_mapping,
    result_header,
    run_folder,
    save_figure,
    stable_json,
    write_csv,
    write_json,
)


def test_config_hash_is_stable_and_order_free():
    a = {"x": np.float64(0.5), "y": [1, 2], "z": None}
    b = {"z": None, "y": (1, 2), "x": 0.5}
    assert stable_json(a) == stable_json(b)
    assert config_hash(a) == config_hash(b)
    assert len(config_hash(a)) == 64 and config_hash(a, length=12) == config_hash(a)[:12]
    assert config_hash({"x": 0.6}) != config_hash({"x": 0.5})


def test_run_folder_is_atomic(tmp_path):
    out = tmp_path / "res"
    with run_folder(out) as tmp:
        write_json(tmp / "a.json", {"v": float("nan"), "arr": np.arange(3)})
    assert json.loads((out / "a.json").read_text()) == {"v": None, "arr": [0, 1, 2]}
    with pytest.raises(RuntimeError), run_folder(out) as tmp:
        (tmp / "b.txt").write_text("partial")
        raise RuntimeError("crash")
    # the earlier result survives, the staged folder is gone
    assert sorted(p.name for p in out.iterdir()) == ["a.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["res"]
    with pytest.raises(ValidationError, match="--overwrite"):
        check_output_folder(out)
    with pytest.raises(ValidationError), run_folder(out, overwrite=False):
        pass


def test_header_records_inputs_and_hash(tmp_path):
    f = tmp_path / "in.bin"
    f.write_bytes(b"abc")
    rec = input_record(f, role="recording")
    assert rec["size"] == 3 and rec["role"] == "recording"
    assert rec["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    head = result_header(format="x", command="neuroloom x", config={"a": 1}, inputs=[rec],
                         packages=("numpy",))
    assert head["config_hash"] == config_hash({"config": {"a": 1}, "inputs": [rec["sha256"]]})
    assert set(head["software"]) == {"neuroloom", "numpy"}
    with pytest.raises(MissingFileError):
        input_record(tmp_path / "missing")


def test_figure_csv_and_yaml(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    p = save_figure(fig, tmp_path / "figures" / "f.png")
    assert p.read_bytes()[:4] == b"\x89PNG" and not plt.get_fignums()
    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2]}))
    assert (tmp_path / "t.csv").read_text() == "a\n1\n2\n"
    assert set(file_hashes(tmp_path, ["t.csv"])) == {"t.csv"}
    (tmp_path / "c.yaml").write_text("a: 1\n")
    assert load_yaml_mapping(tmp_path / "c.yaml") == {"a": 1}
    (tmp_path / "l.yaml").write_text("- 1\n")
    with pytest.raises(ValidationError, match="mapping"):
        load_yaml_mapping(tmp_path / "l.yaml")
