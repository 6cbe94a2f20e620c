"""neurodata: one lazy, validated HDF5 format for neural recordings of every modality.

>>> import neurodata as nd
>>> rec = nd.load(nd.sample_path("eegmmidb_s001r04"))   # EDF → Recording (lazy)
>>> eeg = rec.timeseries["eeg"]
>>> eeg.slice(10.0, 12.0).shape                          # 2 s at 160 Hz, 64 channels
(320, 64)

Names are imported on first use (PEP 562), so ``import neurodata`` costs milliseconds and
``neuroloom --help`` starts fast; ``from neurodata import X`` and ``nd.X`` work as usual.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types

# public name -> (submodule, attribute in it; None: the submodule itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "binning": ("binning", None), "celegans_names": ("celegans_names", None),
    "datasets": ("datasets", None), "errors": ("errors", None),
    "convert_many": ("batch", "convert_many"),
    "bin_events": ("binning", "bin_events"), "bin_spikes": ("binning", "bin_spikes"),
    "bin_timeseries": ("binning", "bin_timeseries"),
    "CHANNEL_TYPES": ("channels", "CHANNEL_TYPES"), "make_channels": ("channels", "make_channels"),
    "Connectivity": ("connectivity", "Connectivity"),
    "Dataset": ("dataset", "Dataset"), "load_dataset": ("dataset", "load_dataset"),
    "FormatError": ("errors", "FormatError"), "MissingFileError": ("errors", "MissingFileError"),
    "NeurodataError": ("errors", "NeurodataError"), "SliceError": ("errors", "SliceError"),
    "ValidationError": ("errors", "ValidationError"), "VersionError": ("errors", "VersionError"),
    "WriteError": ("errors", "WriteError"),
    "Events": ("events", "Events"),
    "homogenize": ("homogenize", "homogenize"),
    "attach_connectome": ("io", "attach_connectome"), "load": ("io", "load"),
    "load_connectome": ("io", "load_connectome"), "read_nifti": ("io", "read_nifti"),
    "read_nwb": ("io", "read_nwb"), "supported_formats": ("io", "supported_formats"),
    "to_nifti": ("io", "to_nifti"),
    "set_log_level": ("log", "set_log_level"), "use_log_level": ("log", "use_log_level"),
    "from_mne": ("mne_bridge", "from_mne"),
    "__version__": ("provenance", "NEUROLOOM_VERSION"),
    "Recording": ("recording", "Recording"), "open_recording": ("recording", "open_recording"),
    "open": ("recording", "open_recording"),  # ``nd.open(path)`` is the documented entry point
    "list_samples": ("samples", "list_samples"), "load_sample": ("samples", "load_sample"),
    "sample_path": ("samples", "sample_path"),
    "SpikeTrains": ("spikes", "SpikeTrains"), "TimeSeries": ("timeseries", "TimeSeries"),
    "ValidationReport": ("validate", "ValidationReport"), "validate": ("validate", "validate"),
    "open_any": ("opening", "open_any"), "read_any": ("opening", "read_any"),
    "results": ("results", None),
    "BinnedActivity": ("counts", "BinnedActivity"), "check_counts": ("counts", "check_counts"),
    "load_counts": ("counts", "load_counts"), "behavior_per_bin": ("counts", "behavior_per_bin"),
    "load_behavior_block": ("counts", "load_behavior_block"),
    "AnimalTraces": ("traces", "AnimalTraces"), "load_traces": ("traces", "load_traces"),
    # torch is imported only when a torch Dataset is asked for (DESIGN: torch stays in
    # neurodata.torch_data)
    "WindowDataset": ("torch_data", "WindowDataset"),
    "SpikeWindowDataset": ("torch_data", "SpikeWindowDataset"),
}


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'neurodata' has no attribute {name!r}") from None
    mod = _importlib.import_module(f"{__name__}.{module}")
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(_types.ModuleType):
    """Keeps ``nd.validate``/``nd.homogenize`` the functions when their submodule loads.

    Importing a submodule binds it on its package; with eager imports the function
    bound afterwards won, so the lazy package must refuse that rebinding itself.
    """

    def __setattr__(self, name: str, value) -> None:
        target = _LAZY.get(name)
        if isinstance(value, _types.ModuleType) and target and target[1] is not None:
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package

__all__ = [
    "Recording", "TimeSeries", "SpikeTrains", "Events", "Connectivity", "make_channels",
    "CHANNEL_TYPES", "load", "open", "open_recording", "validate", "ValidationReport",
    "convert_many", "load_dataset", "Dataset", "homogenize", "datasets", "WindowDataset",
    "SpikeWindowDataset", "read_nifti", "read_nwb", "to_nifti", "binning", "celegans_names",
    "bin_spikes", "bin_events", "bin_timeseries", "load_connectome", "attach_connectome",
    "from_mne", "supported_formats", "sample_path", "list_samples", "load_sample",
    "set_log_level", "use_log_level", "errors", "NeurodataError", "MissingFileError",
    "FormatError", "VersionError", "ValidationError", "SliceError", "WriteError",
    "__version__", "open_any", "read_any", "results", "BinnedActivity", "check_counts",
    "load_counts", "behavior_per_bin", "load_behavior_block", "AnimalTraces", "load_traces",
]
