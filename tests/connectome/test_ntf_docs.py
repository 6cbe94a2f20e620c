"""The runnable example in docs/connectome_ntf.md keeps running."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectome_ntf.md"


def test_docs_example_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert code, "no python example in the docs"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile("\n".join(code), str(DOC), "exec"), namespace)  # noqa: S102
    assert namespace["factor_match_score"](namespace["planted"], namespace["cp"]) >= 0.9
    assert (tmp_path / "connectome_results" / "cp.npz").exists()
