"""Report building blocks on synthetic ground truth: rounding, spectral checks, the HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.report import ReportSection, fmt, round_table, write_html_report
from pipelines.report_recordings import psd_checks


def test_fmt_rounds_to_significant_digits_and_never_prints_reprs():
    assert fmt(0.123456) == 0.123 and fmt(12345.678) == 12346 and fmt(7) == 7
    assert fmt(float("nan")) == "" and fmt([1.23456, 2]) == "1.23, 2"
    table = round_table(pd.DataFrame({"x": [0.0988, 1.96], "n": [1, 2]}))
    assert table["x"].tolist() == ["0.0988", "1.96"]  # no padding to 4 decimals


def test_psd_checks_find_a_planted_line_and_a_bad_channel():
    """Synthetic: 8 channels of 1/f-ish noise at 250 Hz, 50 Hz hum everywhere, channel 3
    ten times louder, channel 5 flat."""
    rng = np.random.default_rng(0)
    rate, n = 250.0, 250 * 30
    t = np.arange(n) / rate
    x = np.cumsum(rng.standard_normal((n, 8)), axis=0) * 1e-7
    x -= x.mean(axis=0)
    x += rng.standard_normal((n, 8)) * 2e-6 + 5e-6 * np.sin(2 * np.pi * 50 * t)[:, None]
    x[:, 3] *= 10
    x[:, 5] = 0.0
    names = [f"E{i}" for i in range(8)]
    out = psd_checks(x, rate, names, line_noise=(50.0, 60.0))
    assert out["line"][50.0] > 10 and abs(out["line"][60.0]) < 3
    flagged = {name for name, _ in out["bad"]}
    assert flagged == {"E3", "E5"}
    assert out["psd"].shape == (8, len(out["freqs"]))


def test_html_report_has_contents_reading_and_embedded_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipelines.report import figure_to_png

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    secs = [ReportSection("Scores", tables=[pd.DataFrame({"auc": [0.91234]})],
                          figures=[(figure_to_png(fig), "a line")],
                          reading="Higher is better.", links=[("data", "data.csv")]),
            ReportSection("Scores", text=["again"], level=3)]
    html = write_html_report(tmp_path / "r.html", "t", secs).read_text()
    assert "href='#scores'" in html and "href='#scores-2'" in html
    assert "0.912" in html and "0.91234" not in html
    assert "data:image/png;base64," in html and "How to read this:" in html
    assert "<figcaption>a line</figcaption>" in html and "href='data.csv'" in html


def test_brain_decoding_section_reads_chance_p_and_nilearn(tmp_path):
    """Synthetic metrics.json (planted numbers, 4 captions, 2 runs) in the layout
    `neuroloom decode eval` writes; no figures present, so none are embedded."""
    import json

    from pipelines.report_analyses import brain_decoding_sections

    out = tmp_path / "decode"
    out.mkdir()
    metrics = {"top1": 0.75, "chance": 0.25, "p_value": 1 / 11, "null_mean": 0.26,
               "null_p95": 0.4, "n_permutations": 10, "caption_similarity": 0.9,
               "categories": ["a", "b", "c", "d"], "n_blocks": 8, "n_voxels": 50,
               "layout": "slice", "embedding_space": {"name": "minilm-l6-v2", "dim": 384},
               "top1_per_run": {"0": 0.5, "1": 1.0},
               "nilearn_accuracy": 0.625, "nilearn_per_run": {"1": 0.75, "0": 0.5},
               "topk_curve": {"1": 0.75, "2": 0.875, "3": 1.0, "4": 1.0},
               "topk_vs_n": {"2": 0.9, "3": 0.8, "4": 0.75}}
    (out / "metrics.json").write_text(json.dumps(metrics))
    (sec,) = brain_decoding_sections(tmp_path, {"main": "decode"})
    text = " ".join(sec.text)
    assert "top-1 75.0 % against chance 25.0 %, permutation p = 0.0909" in text
    assert "smallest possible p 0.0909" in text and "Decoder" in text and "62.5 %" in text
    summary, curve, vs_n, per_run = sec.tables
    assert summary.loc[0, "chance (1/4)"] == "25.0 %"
    assert curve["chance (k/N)"].tolist() == [0.25, 0.5, 0.75, 1.0]
    assert vs_n["chance (1/N)"].round(3).tolist() == [0.5, 0.333, 0.25]
    assert per_run["nilearn Decoder"].tolist() == [0.5, 0.75]  # matched by run, not order
    assert sec.figures == [] and "1/4 = 25.0 %" in sec.reading
