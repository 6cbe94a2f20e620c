"""Source-format readers.  :func:`load` picks one by extension (or content).

Every public module in this package registers its readers when imported; modules are
discovered, so adding a format means adding a file (one module per format family).
A reader subclasses :class:`Reader` (the base does path checks, error wrapping,
provenance and the skipped-content list) and registers an instance with
:func:`register` (every reader of this package does); a plain function that other code
registers with :func:`register_reader` gets the same base around it (``FunctionReader``).
:func:`check_reader` is the contract every registered reader passes (see
``docs/loaders_readers.md``).  Reader modules import their heavy libraries
(nibabel, pynwb, ...) inside the reading functions so that ``import neurodata`` stays
fast.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from ._base import FunctionReader, Reader, register
from ._registry import ReaderSpec, find_reader, load, register_reader, supported_formats
from .arrays import read_array
from .celegans import (
    attach_connectome,
    load_connectome,
    read_celegans_traces,
    read_connectome,
)
from .mne_formats import read_bdf, read_edf, read_fif
from .nifti import read_fmri_events, read_nifti, timeseries_to_nifti, to_nifti
from .nwb import read_nwb
from .position_tracking import read_linear_track, read_position_tracking
from .rsa_images import read_rsa_images
from .spike_arrays import read_spike_csv, read_spike_mat, read_spike_npz
from .suite2p import dff_from_suite2p, read_suite2p
from .trial_mat import read_trial_calcium

for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")

from .conformance import ConformanceError, check_reader  # noqa: E402 - after the readers

__all__ = ["load", "supported_formats", "find_reader", "register_reader", "ReaderSpec",
           "Reader", "FunctionReader", "register", "check_reader", "ConformanceError",
           "read_edf", "read_bdf", "read_fif", "read_nifti", "to_nifti", "timeseries_to_nifti",
           "read_fmri_events", "read_nwb", "read_suite2p", "dff_from_suite2p",
           "read_celegans_traces", "read_connectome", "load_connectome", "attach_connectome",
           "read_spike_npz", "read_spike_csv", "read_spike_mat", "read_position_tracking",
           "read_linear_track", "read_array", "read_trial_calcium", "read_rsa_images"]
