"""Source-format readers.  :func:`load` picks one by extension (or content).

Every public module in this package registers its readers with
:func:`register_reader` when imported; modules are discovered, so adding a format
means adding a file.  Reader modules import their heavy libraries (nibabel, pynwb,
...) inside the reading functions so that ``import neurodata`` stays fast.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from ._registry import ReaderSpec, find_reader, load, register_reader, supported_formats
from .mne_formats import read_bdf, read_edf, read_fif
from .nifti import read_fmri_events, read_nifti, timeseries_to_nifti, to_nifti
from .nwb import read_nwb

for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["load", "supported_formats", "find_reader", "register_reader", "ReaderSpec",
           "read_edf", "read_bdf", "read_fif", "read_nifti", "to_nifti", "timeseries_to_nifti",
           "read_fmri_events", "read_nwb"]
