"""Self-contained HTML reports (tables + embedded PNG figures)."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from neurodata.atomic import atomic_path

__all__ = ["ReportSection", "figure_to_png", "write_html_report"]


@dataclass
class ReportSection:
    """One section: a title, optional paragraphs, tables and figures (PNG bytes)."""

    title: str
    text: Sequence[str] = ()
    tables: Sequence[pd.DataFrame] = ()
    figures: Sequence[bytes] = field(default_factory=list)


def figure_to_png(fig, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3} img{max-width:100%;border:1px solid #eee} .meta{color:#666}
"""


def write_html_report(path: str | os.PathLike, title: str,
                      sections: Sequence[ReportSection], *, overwrite: bool = True) -> Path:
    """Write a single-file HTML report atomically; returns its path."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='meta'>generated {_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}"
             "</p>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        parts += [f"<p>{html.escape(t)}</p>" for t in sec.text]
        parts += [t.to_html(index=False, border=0, na_rep="") for t in sec.tables]
        parts += [f"<img alt='{html.escape(sec.title)}' src='data:image/png;base64,"
                  f"{base64.b64encode(png).decode()}'/>" for png in sec.figures]
    parts.append("</body></html>")
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text("\n".join(parts), encoding="utf-8")
    return Path(path).absolute()
