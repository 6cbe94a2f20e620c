"""Sphinx configuration of the neuroloom documentation site (``make docs``).

Sphinx + pydata-sphinx-theme + MyST-NB: the guides are Markdown pages already read on
GitHub (MyST renders them unchanged), the notebooks are executed at build time so their
figures appear (stored without outputs in git), and the API reference comes from the
numpydoc docstrings with autodoc - the scientific-Python stack's own toolchain (NumPy,
SciPy, MNE and scikit-learn document themselves this way), all of it offline.

``NEUROLOOM_DOCS_EXECUTE=off`` skips notebook execution (the docs test does; nbmake runs
the notebooks in ``make test``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurodata.provenance import NEUROLOOM_VERSION  # noqa: E402

project = "neuroloom"
author = "the neuroloom developers"
copyright = "the neuroloom developers"  # noqa: A001
release = version = NEUROLOOM_VERSION

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "notebooks/README*"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# MyST: GitHub-style heading anchors, so README/guide links like (#speed-of-window-reads)
# resolve; ```{directive} fences and :::-fences.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "dollarmath"]

# MyST-NB: execute notebooks that have no outputs (they are stored without).
nb_execution_mode = os.environ.get("NEUROLOOM_DOCS_EXECUTE", "auto")
nb_execution_timeout = 1800
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# autodoc + numpydoc
autodoc_default_options = {
    "members": True, "undoc-members": False, "show-inheritance": False,
    # scikit-learn's generated metadata-routing setters point into sklearn's own docs
    "exclude-members": "set_fit_request, set_score_request, set_predict_request, "
                       "set_transform_request, set_partial_fit_request, set_split_request, "
                       "set_inverse_transform_request, set_output",
}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections state the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False  # no intersphinx offline

html_theme = "pydata_sphinx_theme"
html_title = f"neuroloom {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_depth": 3,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
html_show_sourcelink = False



_SHAPE = re.compile(r"shape \(([^()]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[,)\s]|$)")


def _escape_shape_attributes(app, what, name, obj, options, lines) -> None:
    """``of shape (n_iter_,)`` names a fitted attribute; in RST a word ending in ``_`` is a
    link target, so escape it before numpydoc renders the docstring."""
    for i, line in enumerate(lines):
        lines[i] = _SHAPE.sub(lambda m: "shape (" + _TRAILING_UNDERSCORE.sub(r"\1\\_", m[1])
                              + ")", line)


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _escape_shape_attributes, priority=100)
    # ```mermaid diagrams (GitHub renders them) are shown as their source: no JS offline
    from pygments.lexers.special import TextLexer
    from sphinx.highlighting import lexers

    lexers["mermaid"] = TextLexer()
