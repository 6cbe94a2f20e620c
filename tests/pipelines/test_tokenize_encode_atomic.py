"""``neuroloom tokenize encode`` writes its .npz through neurodata.atomic (synthetic spikes).

A failed encode (here ``np.savez`` raising halfway, simulated) leaves an existing output
byte for byte and no temporary file; without ``--overwrite`` an existing output is refused.
"""

from __future__ import annotations

import numpy as np

import neurodata as nd


def _tokenized(tmp_path, capsys):
    from pipelines.cli import main

    spikes = nd.SpikeTrains.from_unit_times({"a": [0.012, 0.5, 1.2], "b": [0.3, 0.31]},
                                            t_start=0.0, t_stop=2.0)
    h5 = nd.Recording(spikes=[spikes], subject={"id": "r1", "species": "rat"},
                      session={"id": "1"}).save(tmp_path / "units.h5")
    tok = tmp_path / "tok.json"
    assert main(["tokenize", "train", str(h5), "--kind", "spike", "-o", str(tok),
                 "--window", "0.1", "--past-window", "0.2", "--dt", "0.01"]) == 0
    capsys.readouterr()
    return h5, tok


def test_failed_encode_leaves_the_existing_output(tmp_path, capsys, monkeypatch):
    from pipelines.cli import main

    h5, tok = _tokenized(tmp_path, capsys)
    out = tmp_path / "tokens.npz"
    out.write_bytes(b"an earlier output")
    real_savez = np.savez

    def failing_savez(file, **arrays):
        real_savez(file, **{k: arrays[k] for k in list(arrays)[:2]})  # half written
        raise OSError(28, "No space left on device (simulated)")

    with monkeypatch.context() as m:
        m.setattr(np, "savez", failing_savez)
        assert main(["tokenize", "encode", str(h5), "-t", str(tok), "-o", str(out),
                     "--overwrite"]) != 0
    assert out.read_bytes() == b"an earlier output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok.json", "tokens.npz",
                                                           "units.h5"]
    code = main(["tokenize", "encode", str(h5), "-t", str(tok), "-o", str(out)])
    assert code == 1 and "already exists" in capsys.readouterr().err
    assert main(["tokenize", "encode", str(h5), "-t", str(tok), "-o", str(out),
                 "--overwrite"]) == 0
    with np.load(out) as z:
        assert int(z["lengths"].sum()) == 5 + 2 * 21  # 5 spikes, SOS/EOS per window
