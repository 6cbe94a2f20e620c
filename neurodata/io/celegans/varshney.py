"""The WormAtlas NeuronConnect table (Varshney et al. 2011)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError
from ._common import head
from .connectome import ConnectomeReader, register_connectome

__all__ = ["VarshneyReader", "varshney_edges"]


def varshney_edges(path: Path) -> dict[str, list[tuple[str, str, float]]]:
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"could not be read as CSV ({exc})", path=path) from exc
    need = ["Neuron 1", "Neuron 2", "Type", "Nbr"]
    if not set(need) <= set(table.columns):
        raise FormatError(f"has columns {list(table.columns)}; expected {need} (WormAtlas "
                          "NeuronConnect table)", path=path)
    nbr = pd.to_numeric(table["Nbr"], errors="coerce")
    if nbr.isna().any():
        row = int(np.flatnonzero(nbr.isna())[0]) + 2
        raise FormatError(f"non-numeric Nbr on line {row}; expected synapse counts", path=path)
    typ = table["Type"].astype(str).str.strip()
    unknown = sorted(set(typ) - {"S", "Sp", "R", "Rp", "EJ", "NMJ"})
    if unknown:
        raise FormatError(f"unknown connection type(s) {unknown}; expected S, Sp, R, Rp, EJ, NMJ",
                          path=path)
    # S/Sp rows are the synapses a neuron sends; R/Rp rows list the same synapses from
    # the receiving side, so counting them too would double every synapse.
    sends = typ.isin(["S", "Sp"]).to_numpy()
    gaps = (typ == "EJ").to_numpy()
    a, b = table["Neuron 1"].astype(str), table["Neuron 2"].astype(str)
    return {"chemical": list(zip(a[sends], b[sends], nbr[sends], strict=True)),
            "electrical": list(zip(a[gaps], b[gaps], nbr[gaps], strict=True))}


def _sniff_varshney(path: Path) -> bool:
    first = head(path, 512).splitlines()[0] if head(path, 512) else ""
    return "Neuron 1" in first and "Neuron 2" in first and "Type" in first


class VarshneyReader(ConnectomeReader):
    """WormAtlas NeuronConnect (CSV) files (see :func:`neurodata.io.load_connectome`)."""

    name = "WormAtlas NeuronConnect (CSV)"
    extensions = (".csv",)
    library = "pandas.read_csv"
    keeps = "S+Sp chemical counts (directed), EJ gap junctions (symmetric); NMJ skipped"
    file_type = "varshney_csv"

    def sniff(self, path: Path) -> bool:
        return _sniff_varshney(path)

    def edges(self, path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
        return varshney_edges(path)


register_connectome(VarshneyReader())
