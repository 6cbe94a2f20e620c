"""The code blocks of docs/connectome_hmmglm.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectome_hmmglm.md"


def test_doc_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:  # the second block reuses the first one's data
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    accuracy = float(re.search(r"state accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.9
