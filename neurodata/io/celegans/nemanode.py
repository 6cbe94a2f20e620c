"""NemaNode-style JSON edge lists ``{pre, post, syn, typ}`` (Witvliet et al. 2021)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError
from ._common import head, read_json
from .connectome import ConnectomeReader, register_connectome

__all__ = ["NemaNodeReader", "nemanode_edges"]


def nemanode_edges(path: Path) -> dict[str, list[tuple[str, str, float]]]:
    doc = read_json(path)
    expected = "a JSON list of {pre, post, syn, typ} edges (NemaNode format)"
    if not isinstance(doc, list):
        raise FormatError(f"expected {expected}; found {type(doc).__name__}", path=path)
    out: dict[str, list] = {"chemical": [], "electrical": []}
    for k, e in enumerate(doc):
        if not isinstance(e, dict) or not {"pre", "post", "syn", "typ"} <= set(e):
            raise FormatError(f"edge {k} is {str(e)[:80]!r}; expected {expected}", path=path)
        typ = {0: "chemical", 2: "electrical"}.get(e["typ"])
        if typ is None:
            raise FormatError(f"edge {k} has typ={e['typ']!r}; expected 0 (chemical) or 2 "
                              "(electrical)", path=path)
        syn = e["syn"] if isinstance(e["syn"], list) else [e["syn"]]
        out[typ].append((e["pre"], e["post"], float(np.sum(syn))))
    return out


def _sniff_nemanode(path: Path) -> bool:
    text = head(path)
    return all(f'"{k}"' in text for k in ("pre", "post", "typ"))


class NemaNodeReader(ConnectomeReader):
    """NemaNode connectome (JSON) files (see :func:`neurodata.io.load_connectome`)."""

    name = "NemaNode connectome (JSON)"
    extensions = (".json",)
    library = "json"
    keeps = ("chemical (directed) and gap-junction (symmetric) synapse counts over the 302 "
             "canonical neurons")
    file_type = "nemanode_json"

    def sniff(self, path: Path) -> bool:
        return _sniff_nemanode(path)

    def edges(self, path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
        return nemanode_edges(path)


register_connectome(NemaNodeReader())
