"""Source-format readers.  :func:`load` picks one by extension."""

from . import mne_formats as _mne_formats  # noqa: F401  (registers EDF, BDF, FIF)
from ._registry import ReaderSpec, find_reader, load, register_reader, supported_formats
from .mne_formats import read_bdf, read_edf, read_fif

__all__ = ["load", "supported_formats", "find_reader", "register_reader", "ReaderSpec",
           "read_edf", "read_bdf", "read_fif"]
