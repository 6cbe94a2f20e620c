"""The 302 neurons of the adult *C. elegans* hermaphrodite and a name normaliser.

Whole-brain imaging papers, connectome tables and NeuroPAL annotations spell the same
cell differently (``DA1`` / ``DA01``, ``avfl`` / ``AVFL``, ``AVAL `` with a stray
space).  Recordings and connectomes are only comparable once every name is mapped
onto one vocabulary, :data:`NEURONS_302`.

Canonical spelling
------------------
- Upper case, left/right/dorsal/ventral suffixes as in WormAtlas (``AVAL``, ``IL1DR``,
  ``SMDVL``, ``RMEV``).
- Ventral-cord motor neurons of the numbered classes (AS, DA, DB, DD, VA, VB, VC, VD)
  are zero-padded to two digits (``DA01``, ``VB11``), the spelling of Cook et al.
  (2019) and of the WormWideWeb / NemaNode cell table; ``DA1`` is accepted as input.

The list was written from the WormAtlas neuron catalogue (White et al. 1986) and is
checked in the tests against the cell table shipped with the WormWideWeb connectomes
(``connectome_neurons.csv``: cells typed sensory / interneuron / motorneuron / neuron in
the shared, hermaphrodite-specific and pharyngeal categories) and against every neuron
name of the Cook 2019 and White 1986 edge lists.

References
----------
White JG, Southgate E, Thomson JN, Brenner S (1986) The structure of the nervous system
of the nematode *Caenorhabditis elegans*. Phil Trans R Soc B 314:1-340.
Cook SJ, Jarrell TA, et al. (2019) Whole-animal connectomes of both *Caenorhabditis
elegans* sexes. Nature 571:63-71.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "NEURONS_302", "PHARYNGEAL_NEURONS", "SEX_SPECIFIC_NEURONS", "normalize_neuron_name",
    "is_neuron", "map_neuron_names",
]


def _numbered(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(1, n + 1)]


def _lr(*classes: str) -> list[str]:
    return [c + side for c in classes for side in ("L", "R")]


# The 20 neurons of the pharyngeal nervous system.
PHARYNGEAL_NEURONS: tuple[str, ...] = (
    "I1L", "I1R", "I2L", "I2R", "I3", "I4", "I5", "I6", "M1", "M2L", "M2R", "M3L", "M3R",
    "M4", "M5", "MCL", "MCR", "MI", "NSML", "NSMR",
)

# Neurons present in the hermaphrodite only (egg-laying circuit).
SEX_SPECIFIC_NEURONS: tuple[str, ...] = ("HSNL", "HSNR", *_numbered("VC", 6))

_SOMATIC: list[str] = [
    # amphid, labial and other head sensory neurons
    *_lr("ADE", "ADF", "ADL", "AFD", "ASE", "ASG", "ASH", "ASI", "ASJ", "ASK", "AWA", "AWB",
         "AWC", "BAG", "FLP", "URB", "URX"),
    "AQR", "PQR",
    "CEPDL", "CEPDR", "CEPVL", "CEPVR",
    "IL1DL", "IL1DR", "IL1L", "IL1R", "IL1VL", "IL1VR",
    "IL2DL", "IL2DR", "IL2L", "IL2R", "IL2VL", "IL2VR",
    "OLLL", "OLLR", "OLQDL", "OLQDR", "OLQVL", "OLQVR",
    "URADL", "URADR", "URAVL", "URAVR",
    "URYDL", "URYDR", "URYVL", "URYVR",
    # body and tail sensory neurons
    *_lr("ALM", "ALN", "PDE", "PHA", "PHB", "PHC", "PLM", "PLN", "PVD", "SDQ"),
    "AVM", "PVM",
    # head interneurons
    *_lr("ADA", "AIA", "AIB", "AIM", "AIN", "AIY", "AIZ", "AUA", "AVA", "AVB", "AVD", "AVE",
         "AVF", "AVH", "AVJ", "AVK", "RIA", "RIB", "RIC", "RIF", "RIG", "RIM", "RIP", "RIV",
         "BDU"),
    "ALA", "AVG", "AVL", "RIH", "RIR", "RIS", "RID",
    # tail and ventral-cord interneurons
    *_lr("LUA", "PVC", "PVN", "PVP", "PVQ", "PVW", "CAN"),
    "DVA", "DVB", "DVC", "PDA", "PDB", "PVR", "PVT",
    # head motor neurons
    "RMDDL", "RMDDR", "RMDL", "RMDR", "RMDVL", "RMDVR",
    "RMED", "RMEL", "RMER", "RMEV",
    *_lr("RMF", "RMG", "RMH"),
    "SAADL", "SAADR", "SAAVL", "SAAVR", "SABD", "SABVL", "SABVR",
    "SIADL", "SIADR", "SIAVL", "SIAVR", "SIBDL", "SIBDR", "SIBVL", "SIBVR",
    "SMBDL", "SMBDR", "SMBVL", "SMBVR", "SMDDL", "SMDDR", "SMDVL", "SMDVR",
    # ventral-cord motor neurons
    *_numbered("AS", 11), *_numbered("DA", 9), *_numbered("DB", 7), *_numbered("DD", 6),
    *_numbered("VA", 12), *_numbered("VB", 11), *_numbered("VD", 13),
]

#: The 302 neurons of the adult hermaphrodite, sorted alphabetically.
NEURONS_302: tuple[str, ...] = tuple(sorted({*_SOMATIC, *PHARYNGEAL_NEURONS,
                                             *SEX_SPECIFIC_NEURONS}))

_NEURON_SET = frozenset(NEURONS_302)
_NUMBERED = re.compile(r"^(AS|DA|DB|DD|VA|VB|VC|VD)0*(\d{1,2})$")


def normalize_neuron_name(name: object) -> str | None:
    """Map one spelling of a neuron name onto :data:`NEURONS_302`.

    Parameters
    ----------
    name : str
        A neuron name as found in a file (any case, surrounding spaces, ventral-cord
        numbers with or without zero padding).

    Returns
    -------
    str or None
        The canonical name, or ``None`` when the name is not one of the 302
        hermaphrodite neurons (a muscle, a glial cell, a male neuron, an unidentified
        ROI, an ambiguous NeuroPAL label such as ``"AVAL?"``).

    Examples
    --------
    >>> from neurodata.celegans_names import normalize_neuron_name
    >>> normalize_neuron_name("da1"), normalize_neuron_name(" AVAL"), normalize_neuron_name("hyp")
    ('DA01', 'AVAL', None)
    """
    if not isinstance(name, str):
        return None
    key = name.strip().upper()
    m = _NUMBERED.match(key)
    if m:
        key = f"{m.group(1)}{int(m.group(2)):02d}"
    return key if key in _NEURON_SET else None


def is_neuron(name: object) -> bool:
    """Whether ``name`` spells one of the 302 hermaphrodite neurons."""
    return normalize_neuron_name(name) is not None


def map_neuron_names(names: Iterable[object]) -> list[str | None]:
    """:func:`normalize_neuron_name` over many names (``None`` where not a neuron)."""
    return [normalize_neuron_name(n) for n in names]
