"""*C. elegans* whole-brain calcium traces and structural connectomes.

Every neuron name is mapped onto the 302 canonical hermaphrodite names of
:mod:`neurodata.celegans_names`, so that traces and connectomes from different labs
line up.

Readers
-------
- :func:`read_celegans_traces`: whole-brain GCaMP traces stored as JSON,
  ``[[time_s, [v_1, ..., v_N]], ...]`` with the column names in a sibling
  ``neurons.json`` (the layout of the WormWideWeb-derived subset of Atanas, Kim et al.
  2023).  Unidentified neurons are kept, named ``unk_000``, ... with label
  ``"unidentified"``.
- :func:`load_connectome` / :func:`read_connectome`: structural connectomes from
  NemaNode-style JSON edge lists (``{pre, post, syn, typ}``), the WormAtlas
  ``NeuronConnect`` table (Varshney et al. 2011) or the Cook et al. (2019) SI 5
  adjacency-matrix workbook, as :class:`~neurodata.Connectivity` named ``chemical``
  (directed, pre → post) and ``electrical`` (gap junctions, symmetric).
- :func:`attach_connectome`: a copy of a recording with connectomes added.

References
----------
Atanas AA, Kim J, et al. (2023) Brain-wide representations of behavior spanning
multiple timescales and states in *C. elegans*. Cell 186:4134-4151.
Varshney LR, Chen BL, Paniagua E, Hall DH, Chklovskii DB (2011) Structural properties
of the *Caenorhabditis elegans* neuronal network. PLoS Comput Biol 7:e1001066.
Cook SJ, Jarrell TA, et al. (2019) Whole-animal connectomes of both *Caenorhabditis
elegans* sexes. Nature 571:63-71.
Witvliet D, et al. (2021) Connectomes across development reveal principles of brain
maturation. Nature 596:257-261 (NemaNode edge-list format).
"""

from .connectome import (
    attach_connectome,
    connectome_from_edges,
    load_connectome,
    read_connectome,
)
from .traces import read_celegans_traces

# the three connectome formats register after the traces, as before the split
from . import cook2019, nemanode, varshney  # noqa: E402,F401,I001  isort: skip

__all__ = [
    "read_celegans_traces", "load_connectome", "read_connectome", "attach_connectome",
    "connectome_from_edges",
]
