"""Shared channel vocabularies and name normalisation for homogenization.

EEG names follow the 10-20 / 10-10 systems (Jasper 1958; Chatrian et al. 1985;
Oostenveld & Praamstra 2001, Clin. Neurophysiol. 112:713).  Vendor spellings are
normalised: case, trailing dots ("Fc5." in PhysioNet EDF files), "EEG " prefixes,
reference suffixes ("-REF", "-LE", "-A1A2") and the old temporal names (T3/T4/T5/T6 →
T7/T8/P7/P8).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["EEG_10_20", "EEG_10_10", "EEG_ALIASES", "normalize_eeg_name", "vocabulary"]

EEG_10_20: tuple[str, ...] = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3",
    "Pz", "P4", "P8", "O1", "O2",
)

EEG_10_10: tuple[str, ...] = (
    "Fp1", "Fpz", "Fp2", "AF9", "AF7", "AF5", "AF3", "AF1", "AFz", "AF2", "AF4", "AF6", "AF8",
    "AF10", "F9", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "F10", "FT9", "FT7",
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "FT8", "FT10", "T9", "T7", "C5", "C3",
    "C1", "Cz", "C2", "C4", "C6", "T8", "T10", "TP9", "TP7", "CP5", "CP3", "CP1", "CPz", "CP2",
    "CP4", "CP6", "TP8", "TP10", "P9", "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8",
    "P10", "PO9", "PO7", "PO5", "PO3", "PO1", "POz", "PO2", "PO4", "PO6", "PO8", "PO10", "O1",
    "Oz", "O2", "O9", "Iz", "O10",
)

#: Old 10-20 temporal names → their 10-10 equivalents.
EEG_ALIASES: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

_CANON = {n.upper(): n for n in EEG_10_10}
_PREFIX = re.compile(r"^(EEG[\s_-]*)", re.IGNORECASE)
_SUFFIX = re.compile(r"[-_](REF|LE|RE|AVG|AR|A1A2|A1|A2|M1|M2|CZ)$", re.IGNORECASE)


def normalize_eeg_name(name: str) -> str | None:
    """Canonical 10-10 spelling of an EEG channel name, or None if it is not one.

    Examples
    --------
    >>> [normalize_eeg_name(n) for n in ["Fc5.", "EEG FP1-REF", "t3", "ECG"]]
    ['FC5', 'Fp1', 'T7', None]
    """
    s = name.strip().rstrip(".").strip()
    s = _PREFIX.sub("", s)
    s = _SUFFIX.sub("", s).strip()
    s = EEG_ALIASES.get(s.upper(), s)
    return _CANON.get(s.upper())


def vocabulary(name: str | Iterable[str]) -> tuple[list[str], str]:
    """Resolve a vocabulary spec to (names, kind) where kind selects the normaliser.

    ``"10-20"``, ``"10-10"``, ``"celegans"`` (the 302 hermaphrodite neurons, when
    :mod:`neurodata.celegans_names` is available) or an explicit list of names.
    """
    if isinstance(name, str):
        key = name.lower()
        if key in ("10-20", "1020"):
            return list(EEG_10_20), "eeg"
        if key in ("10-10", "1010"):
            return list(EEG_10_10), "eeg"
        if key in ("celegans", "c.elegans", "worm"):
            from . import celegans_names  # provided by the C. elegans loader module

            return list(celegans_names.NEURONS_302), "celegans"
        raise ValueError(f"unknown vocabulary {name!r}; use '10-20', '10-10', 'celegans' or a "
                         "list of channel names")
    return [str(n) for n in name], "exact"
