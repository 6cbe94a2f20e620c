"""The Examples sections of the NTF / community modules run as doctests."""

from __future__ import annotations

import doctest
import importlib
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

MODULES = [
    "connectome.affinity",
    "connectome.ntf.decomposition",
    "connectome.ntf.result",
    "connectome.communities",
    "connectome.sbm",
    "connectome.rank_selection",
    "connectome.simulate_communities",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {name}"
    assert result.attempted > 0
