"""neurodata: one lazy, validated HDF5 format for neural recordings of every modality.

>>> import neurodata as nd
>>> rec = nd.load(nd.sample_path("eegmmidb_s001r04"))   # EDF → Recording (lazy)
>>> eeg = rec.timeseries["eeg"]
>>> eeg.slice(10.0, 12.0).shape                          # 2 s at 160 Hz, 64 channels
(320, 64)
"""

from . import binning, celegans_names, datasets, errors
from .batch import convert_many
from .binning import bin_events, bin_spikes, bin_timeseries
from .channels import CHANNEL_TYPES, make_channels
from .connectivity import Connectivity
from .dataset import Dataset, load_dataset
from .errors import (
    FormatError,
    MissingFileError,
    NeurodataError,
    SliceError,
    ValidationError,
    VersionError,
    WriteError,
)
from .events import Events
from .homogenize import homogenize
from .io import (
    attach_connectome,
    load,
    load_connectome,
    read_nifti,
    read_nwb,
    supported_formats,
    to_nifti,
)
from .log import set_log_level, use_log_level
from .mne_bridge import from_mne
from .provenance import NEUROLOOM_VERSION as __version__
from .recording import Recording, open_recording
from .samples import list_samples, load_sample, sample_path
from .spikes import SpikeTrains
from .timeseries import TimeSeries
from .validate import ValidationReport, validate

open = open_recording  # noqa: A001  (``nd.open(path)`` is the documented entry point)

_TORCH_NAMES = ("WindowDataset", "SpikeWindowDataset")


def __getattr__(name: str):
    # torch is imported only when a torch Dataset is asked for (DESIGN: torch stays in
    # neurodata.torch_data), so ``import neurodata`` stays light.
    if name in _TORCH_NAMES:
        from . import torch_data

        return getattr(torch_data, name)
    raise AttributeError(f"module 'neurodata' has no attribute {name!r}")

__all__ = [
    "Recording", "TimeSeries", "SpikeTrains", "Events", "Connectivity", "make_channels",
    "CHANNEL_TYPES", "load", "open", "open_recording", "validate", "ValidationReport",
    "convert_many", "load_dataset", "Dataset", "homogenize", "datasets", "WindowDataset",
    "SpikeWindowDataset", "read_nifti", "read_nwb", "to_nifti", "binning", "celegans_names",
    "bin_spikes", "bin_events", "bin_timeseries", "load_connectome", "attach_connectome",
    "from_mne", "supported_formats", "sample_path", "list_samples", "load_sample",
    "set_log_level", "use_log_level", "errors", "NeurodataError", "MissingFileError",
    "FormatError", "VersionError", "ValidationError", "SliceError", "WriteError",
    "__version__",
]
