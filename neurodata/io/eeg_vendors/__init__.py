"""EEG/iEEG vendor formats read through MNE, one module each: BrainVision, EEGLAB,
Nihon Kohden, Persyst, FieldTrip.

Each reader checks the companion files a format needs before MNE opens it, so a
missing ``.eeg`` / ``.fdt`` / ``.dat`` gives one clear error naming the file that is
missing, and records every file it read in provenance.
"""

from .brainvision import read_brainvision
from .eeglab import read_eeglab
from .fieldtrip import read_fieldtrip
from .nihon import read_nihon
from .persyst import read_persyst

__all__ = ["read_brainvision", "read_eeglab", "read_nihon", "read_persyst", "read_fieldtrip"]
