"""The demo job on the bundled real recordings."""

from __future__ import annotations

import neurodata as nd
from pipelines.demo import DEMO_SAMPLES, run_demo


def test_demo_converts_validates_and_reports(tmp_path):
    result = run_demo(tmp_path)
    assert [p.name for p in result.files] == [f"{n}.h5" for n in DEMO_SAMPLES]
    for path in result.files:
        assert nd.validate(path).ok
    html = result.report.read_text()
    assert html.count("<img") >= len(DEMO_SAMPLES) + 1  # + the connectome figures
    summary = (result.analyses["connectome"] / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 3  # header + 3 components
    assert "Dynamic functional connectome" in html
    assert "homogeneous Poisson" in html and "HMM-GLM (3 states" in html
    assert "eegmmidb_s001r04" in html and "T0: 15" not in html  # counts printed as a dict
    table = result.table
    eeg = table[(table.recording == "eegmmidb_s001r04") & (table.block == "eeg")].iloc[0]
    assert (eeg.channels, eeg.rate_hz, eeg.duration_s, eeg.events) == (64, 160.0, 125.0, 30)
    seeg = table[(table.recording == "seeg_epilepsy") & (table.block == "seeg")].iloc[0]
    assert seeg.channels == 88
    # re-running replaces the outputs in place
    again = run_demo(tmp_path)
    assert again.table.equals(table)
