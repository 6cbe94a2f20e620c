"""Self-contained HTML reports: sections with a reading guide, tables, figures and links.

One file, no external resources: figures are embedded PNG data URIs, the style sheet is
inline, and a table of contents links every section.  Numbers in tables are rounded
(:func:`round_table`); objects are never printed as reprs.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodata.atomic import atomic_path

__all__ = ["ReportSection", "figure_to_png", "write_html_report", "round_table", "fmt"]


@dataclass
class ReportSection:
    """One section of a report.

    Attributes
    ----------
    title : str
    text : sequence of str
        Paragraphs (plain text, escaped).
    tables : sequence of DataFrame
        Shown rounded, without the index.
    figures : sequence of bytes or (bytes, caption)
        PNG images, embedded.
    reading : str
        One plain sentence on how to read the section's numbers.
    links : sequence of (label, href)
        Links to output files (relative to the report).
    level : int
        2 for a top-level section, 3 for a subsection (indented in the contents).
    """

    title: str
    text: Sequence[str] = ()
    tables: Sequence[pd.DataFrame] = ()
    figures: Sequence[Any] = field(default_factory=list)
    reading: str = ""
    links: Sequence[tuple[str, str]] = ()
    level: int = 2


def figure_to_png(fig, dpi: int = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def fmt(value: Any, digits: int = 3) -> Any:
    """A number rounded to ``digits`` significant digits (ints and text unchanged)."""
    if isinstance(value, bool | np.bool_) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return "" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if v == 0:
            return 0
        mag = math.floor(math.log10(abs(v)))
        out = round(v, max(digits - 1 - mag, 0))
        return int(out) if mag >= digits - 1 else out
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(fmt(v, digits)) for v in value)
    return value


def round_table(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A copy with every number rounded and every list joined, for display."""
    out = df.copy()
    for col in out.columns:
        # as text, so the table does not pad every number to the column's widest precision
        out[col] = [v if isinstance(v, str) else ("" if v is None else str(fmt(v, digits)))
                    for v in out[col]]
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1150px;margin:2em auto;
color:#222;line-height:1.4;padding:0 1em}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
h3{margin-top:1.5em;color:#333}
table{border-collapse:collapse;font-size:13px;margin:0.6em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} img{max-width:100%;border:1px solid #eee;margin:0.4em 0;display:block}
.meta{color:#666} .reading{background:#f4f8ff;border-left:4px solid #5b8def;padding:0.4em 0.8em}
nav ul{columns:2;font-size:14px} nav li.l3{margin-left:1.2em;font-size:13px}
figcaption{color:#555;font-size:13px} .links{font-size:13px;columns:2}
"""


def _slug(title: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "section"
    slug, i = base, 1
    while slug in used:
        i += 1
        slug = f"{base}-{i}"
    used.add(slug)
    return slug


def write_html_report(path: str | os.PathLike, title: str,
                      sections: Sequence[ReportSection], *, overwrite: bool = True,
                      subtitle: str = "") -> Path:
    """Write a single-file HTML report atomically; returns its path.

    Parameters
    ----------
    path : path-like
        The ``.html`` file.
    title : str
    sections : sequence of ReportSection
    overwrite : bool, default=True
    subtitle : str
        A line under the title (e.g. what the report covers).

    Examples
    --------
    >>> import pandas as pd
    >>> sec = ReportSection("Scores", tables=[pd.DataFrame({"auc": [0.91234]})],
    ...                     reading="Higher is better; 0.5 is chance.")
    >>> write_html_report("/tmp/r.html", "demo", [sec]).name
    'r.html'
    """
    used: set[str] = set()
    slugs = [_slug(s.title, used) for s in sections]
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='meta'>{html.escape(subtitle)} Generated {now}.</p>"]
    toc = "".join(f"<li class='l{s.level}'><a href='#{slug}'>{html.escape(s.title)}</a></li>"
                  for s, slug in zip(sections, slugs, strict=True))
    parts.append(f"<nav><h2 id='contents'>Contents</h2><ul>{toc}</ul></nav>")
    for sec, slug in zip(sections, slugs, strict=True):
        h = f"h{sec.level}"
        parts.append(f"<section><{h} id='{slug}'>{html.escape(sec.title)}</{h}>")
        if sec.reading:
            parts.append(f"<p class='reading'><b>How to read this:</b> "
                         f"{html.escape(sec.reading)}</p>")
        parts += [f"<p>{html.escape(t)}</p>" for t in sec.text]
        parts += [round_table(t).to_html(index=False, border=0, na_rep="", escape=True)
                  for t in sec.tables]
        for fig in sec.figures:
            png, caption = fig if isinstance(fig, tuple) else (fig, "")
            alt = html.escape(caption or sec.title)
            img = (f"<img alt='{alt}' src='data:image/png;base64,"
                   f"{base64.b64encode(png).decode()}'/>")
            parts.append(f"<figure>{img}<figcaption>{html.escape(caption)}</figcaption>"
                         "</figure>" if caption else img)
        if sec.links:
            items = "".join(f"<li><a href='{html.escape(href)}'>{html.escape(label)}</a></li>"
                            for label, href in sec.links)
            parts.append(f"<ul class='links'>{items}</ul>")
        parts.append("</section>")
    parts.append("</body></html>")
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text("\n".join(parts), encoding="utf-8")
    return Path(path).absolute()
