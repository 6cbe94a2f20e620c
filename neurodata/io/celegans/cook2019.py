"""The Cook et al. (2019) SI 5 adjacency-matrix workbook (hermaphrodite and male)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ...errors import FormatError
from .connectome import ConnectomeReader, register_connectome

__all__ = ["Cook2019Reader", "cook_xlsx_edges"]


def _matrix_edges(rows: list[tuple], path: Path, sheet: str) -> list[tuple[str, str, float]]:
    """Edges from a sheet whose row/column labels are embedded near its top-left corner."""
    head = rows[:10]
    width = max((len(r) for r in rows), default=0)

    def is_label(v: Any) -> bool:
        return isinstance(v, str) and v.strip() != ""

    label_row = max(range(len(head)), key=lambda r: sum(is_label(v) for v in rows[r]))
    label_col = max(range(min(10, width)),
                    key=lambda c: sum(is_label(r[c]) for r in rows if c < len(r)))
    cols = {c: str(v).strip() for c, v in enumerate(rows[label_row])
            if c > label_col and is_label(v)}
    edges = []
    for r in rows[label_row + 1:]:
        if label_col >= len(r) or not is_label(r[label_col]):
            continue
        pre = str(r[label_col]).strip()
        for c, post in cols.items():
            v = r[c] if c < len(r) else None
            if v is None or v == "":
                continue
            if not isinstance(v, int | float):
                raise FormatError(f"sheet {sheet!r}: cell ({pre}, {post}) holds {v!r}; expected "
                                  "a number", path=path)
            if v:
                edges.append((pre, post, float(v)))
    if not cols or not edges:
        raise FormatError(f"sheet {sheet!r}: found no labelled adjacency matrix", path=path)
    return edges


def cook_xlsx_edges(path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FormatError(f"could not be read as an Excel workbook ({exc})", path=path) from exc
    try:
        wanted = {"chemical": f"{sex} chemical", "electrical": f"{sex} gap jn symmetric"}
        missing = [s for s in wanted.values() if s not in wb.sheetnames]
        if missing:
            raise FormatError(f"lacks sheet(s) {missing}; found {wb.sheetnames} - expected the "
                              "Cook et al. 2019 SI 5 adjacency-matrix workbook", path=path)
        return {kind: _matrix_edges(list(wb[s].iter_rows(values_only=True)), path, s)
                for kind, s in wanted.items()}
    finally:
        wb.close()


def _sniff_cook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            book = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError):
        return False
    return "chemical" in book and "gap jn" in book


class Cook2019Reader(ConnectomeReader):
    """Cook et al. (2019) SI 5 workbooks (see :func:`neurodata.io.load_connectome`)."""

    name = "Cook 2019 SI5 (XLSX)"
    extensions = (".xlsx",)
    library = "openpyxl"
    keeps = ("hermaphrodite (or male) chemical and symmetric gap-junction matrices "
             "(EM serial sections)")
    packages = ("openpyxl",)
    file_type = "cook_xlsx"

    def sniff(self, path: Path) -> bool:
        return _sniff_cook(path)

    def edges(self, path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
        return cook_xlsx_edges(path, sex)


register_connectome(Cook2019Reader())
