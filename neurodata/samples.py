"""Small real recordings bundled with neuroloom, registered by name.

They let the demo, the notebooks and the examples run on a fresh machine with no
download.  Every file is redistributed under its own permissive licence (see
``neurodata/sample_data/README.md``); cite the sources when you use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import FormatError, MissingFileError

__all__ = ["SAMPLES", "sample_path", "list_samples", "load_sample"]

SAMPLE_DIR = Path(__file__).parent / "sample_data"


@dataclass(frozen=True)
class Sample:
    """A bundled file: where it is, what it is, and under which licence."""

    name: str
    relpath: str
    sha256: str
    modality: str
    description: str
    license: str
    source: str
    citation: str
    options: dict[str, Any] = field(default_factory=dict)


def _seeg_options() -> dict[str, Any]:
    table = pd.read_csv(SAMPLE_DIR / "seeg" / "sample_seeg_electrodes.tsv", sep="\t")
    types = {n: "seeg" for n in table["name"]}
    types.update({f"DC0{i}": "misc" for i in range(1, 9)})
    types.update({"EKG1": "ecg", "EKG2": "ecg"})
    return {"channel_types": types}


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        Sample(
            "eegmmidb_s001r04", "eegmmidb/S001R04.edf",
            "3d161f88e1c00632585287d2ce584c2bc0f08862438eb255ea8723e00fac693d",
            "eeg",
            "PhysioNet EEG Motor Movement/Imagery, subject 1 run 4 (motor imagery, left/right "
            "fist): 64 EEG channels, 160 Hz, 125 s, events T0 rest / T1 left / T2 right.",
            "Open Data Commons Attribution License v1.0",
            "https://physionet.org/content/eegmmidb/1.0.0/S001/S001R04.edf",
            "Schalk G. et al. (2004) BCI2000: a general-purpose brain-computer interface "
            "system. IEEE TBME 51(6):1034-1043; Goldberger A. et al. (2000) PhysioNet. "
            "Circulation 101(23):e215-e220.",
            {"subject": {"id": "S001", "species": "Homo sapiens"},
             "session": {"task": "motor imagery (left/right fist)"}},
        ),
        Sample(
            "mne_sample_audvis_sss", "mne_sample/sample_audvis_trunc_raw_sss.fif",
            "4bae370b8b640b39c4e99782f46d66fe539bd5571413c439072f329aff7552fb",
            "meg",
            "MNE 'sample' auditory/visual dataset, 1 s, Maxwell-filtered Neuromag FIF: 204 grad, "
            "102 mag, 60 EEG, 1 EOG, 9 stim channels at 300.3 Hz.",
            "BSD-3-Clause (MNE-Python testing data)",
            "https://github.com/mne-tools/mne-testing-data (SSS/sample_audvis_trunc_raw_sss.fif)",
            "Gramfort A. et al. (2013) MEG and EEG data analysis with MNE-Python. Front. "
            "Neurosci. 7:267.",
            {"subject": {"id": "sample", "species": "Homo sapiens"},
             "session": {"task": "auditory/visual stimulation"}},
        ),
        Sample(
            "seeg_epilepsy", "seeg/sample_seeg.edf",
            "c732f0a1b15bfba9ac73d990eb1ef75bf47fb0e32e8b04b059ce009dfc4fcc8c",
            "seeg",
            "Stereo-EEG of an epilepsy patient (MNE misc data): 88 depth contacts + 8 DC + "
            "2 EKG channels, 1000 Hz, 20 s, 3 annotations.  The EDF labels every contact "
            "'EEG'; load_sample applies the sEEG/ECG/misc types.",
            "BSD-3-Clause (MNE-Python misc data)",
            "https://github.com/mne-tools/mne-misc-data (seeg/sample_seeg.edf)",
            "Gramfort A. et al. (2013) MEG and EEG data analysis with MNE-Python. Front. "
            "Neurosci. 7:267.",
        ),
        Sample(
            "celegans_atanas2023", "celegans_atanas2023/time_trace.json",
            "c7ed6136f1635b43e37c9e466b18c6780268b8a0a9fd89d8d56c552d32fcccc6",
            "calcium",
            "C. elegans whole-brain GCaMP (NeuroPAL dataset 2022-08-02-01): 98 identified "
            "neurons, z-scored traces, 1600 frames at ~1.67 Hz (0-962 s); column names in "
            "neurons.json beside it.",
            "CC BY 3.0 US (wormwideweb.org)",
            "https://github.com/BenThrelfall/the_worm_machine (rust/processed_data/"
            "time_trace.json, neurons.json), from wormwideweb.org",
            "Atanas A.A., Kim J. et al. (2023) Brain-wide representations of behavior "
            "spanning multiple timescales and states in C. elegans. Cell 186:4134-4151.",
        ),
        Sample(
            "celegans_atanas2023_neurons", "celegans_atanas2023/neurons.json",
            "030dbe4ab83c6b74bd5309881b485265aeb495dcf75d846d64199f28511131d7",
            "calcium",
            "Neuron names of celegans_atanas2023 (the first 98 label its columns).",
            "CC BY 3.0 US (wormwideweb.org)",
            "https://github.com/BenThrelfall/the_worm_machine (rust/processed_data/neurons.json)",
            "Atanas, Kim et al. (2023) Cell 186:4134-4151.",
        ),
        Sample(
            "nelpy_linear_track", "nelpy_linear_track",
            "",
            "spikes",
            "Rat hippocampal tetrode recording on a linear track (nelpy example data): "
            "31 units, 28829 spikes, 4397-6365 s, and the animal's position (Trodes "
            "videoPositionTracking, x/y in px).",
            "MIT (nelpy/example-data)",
            "https://github.com/nelpy/example-data (linear-track/)",
            "Ackermann E., Chu J., Dutta S., Kemere C. nelpy: neuroelectrophysiology object "
            "model and data analysis in Python (example data).",
            {"subject": {"species": "Rattus norvegicus"}},
        ),
        Sample(
            "nelpy_linear_track_spikes", "nelpy_linear_track/spikes.mat",
            "615b05a9228a5eaea7f99d5fc5b11848a4d94fc154104612410c887875b65bc7",
            "spikes",
            "spikes.mat of nelpy_linear_track (MATLAB struct: tetrodes → units → time, s).",
            "MIT (nelpy/example-data)",
            "https://github.com/nelpy/example-data (linear-track/spikes.mat)",
            "nelpy example data.",
        ),
        Sample(
            "nelpy_linear_track_position", "nelpy_linear_track/trajectory.videoPositionTracking",
            "10a883302c50e26d5f659ac4ee08d8901f7881c71f6800cd56d999a620b31cb5",
            "behavior",
            "Position file of nelpy_linear_track (header + packed uint32 time, uint16 x/y).",
            "MIT (nelpy/example-data)",
            "https://github.com/nelpy/example-data (linear-track/trajectory.videoPositionTracking)",
            "nelpy example data.",
        ),
        Sample(
            "haxby2001_slice", "haxby2001_slice/bold.nii.gz",
            "cbbd4d07803caaa9f77381af24e790cf77058664a128bd514a4c1668eefb92d7",
            "fmri",
            "Haxby 2001 subject 1 (PyMVPA example): posterior half of one axial slice, "
            "40x20x1 voxels (530 in mask.nii.gz beside it), 1452 volumes, TR 2.5 s, 12 runs "
            "x 8 categories; per-volume labels in attributes_literal.txt ('label run').",
            "CC BY-SA 3.0 (Haxby et al. 2001 data, via PyMVPA)",
            "https://github.com/PyMVPA/PyMVPA (mvpa2/data/haxby2001 example subset)",
            "Haxby J.V. et al. (2001) Distributed and overlapping representations of faces "
            "and objects in ventral temporal cortex. Science 293:2425-2430.",
            {"subject": {"id": "subj1", "species": "Homo sapiens"},
             "session": {"task": "category one-back (8 object categories)"}},
        ),
        Sample(
            "seeg_epilepsy_electrodes", "seeg/sample_seeg_electrodes.tsv",
            "81a0b3fca168cb926b929c020bbfc808705300e06e84cf79f2b9da05ac64ea28",
            "seeg",
            "Contact coordinates (MNI, mm) of seeg_epilepsy: columns name, x, y, z.",
            "BSD-3-Clause (MNE-Python misc data)",
            "https://github.com/mne-tools/mne-misc-data (seeg/sample_seeg_electrodes.tsv)",
            "Gramfort A. et al. (2013) Front. Neurosci. 7:267.",
        ),
    ]
}


def sample_path(name: str, *, check: bool = False) -> Path:
    """Path of a bundled sample file.

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLES` (see :func:`list_samples`).
    check : bool, default=False
        Verify the file's sha256 against the registry.

    Examples
    --------
    >>> import neurodata as nd
    >>> nd.sample_path("eegmmidb_s001r04").name
    'S001R04.edf'
    """
    if name not in SAMPLES:
        raise MissingFileError(f"no bundled sample named {name!r}; available: "
                               f"{sorted(SAMPLES)}")
    sample = SAMPLES[name]
    path = SAMPLE_DIR / sample.relpath
    if not path.exists():
        raise MissingFileError("bundled sample file is missing from the installation; "
                               "reinstall neuroloom", path=path)
    if check and sample.sha256:  # folders are checked file by file through their parts
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sample.sha256:
            raise FormatError(f"sha256 {digest} does not match the registry ({sample.sha256}); "
                              "the file was modified", path=path)
    return path


def list_samples() -> pd.DataFrame:
    """Table of bundled samples (name, modality, licence, description)."""
    return pd.DataFrame([{"name": s.name, "file": s.relpath, "modality": s.modality,
                          "license": s.license, "description": s.description}
                         for s in SAMPLES.values()])


def load_sample(name: str, **kwargs: Any):
    """Load a bundled recording with the options it needs (e.g. sEEG channel types).

    For ``seeg_epilepsy`` the contact positions from the electrodes table are added
    (MNI, converted from mm to m, coordinate frame ``mni_tal``).
    """
    from .io import load

    options = dict(SAMPLES[name].options) if name in SAMPLES else {}
    if name == "seeg_epilepsy":
        options.update(_seeg_options())
        options["subject"] = {"species": "Homo sapiens"}
        options.update(kwargs)
        rec = load(sample_path(name), **options)
        table = pd.read_csv(sample_path("seeg_epilepsy_electrodes"), sep="\t")
        ch = rec.timeseries["seeg"].channels
        pos = table.set_index("name").loc[ch["name"], ["x", "y", "z"]].to_numpy() / 1000.0
        ch.loc[:, ["x", "y", "z"]] = pos.astype(np.float64)
        ch["coord_frame"] = "mni_tal"
        params = {"file": SAMPLES["seeg_epilepsy_electrodes"].relpath, "unit": "mm",
                  "coord_frame": "mni_tal"}
        rec.provenance["steps"].append({"name": "electrode_positions", "parameters": params})
        return rec
    options.update(kwargs)
    return load(sample_path(name), **options)
