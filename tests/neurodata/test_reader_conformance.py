"""Every registered reader passes :func:`neurodata.io.check_reader` on a sample.

Samples are bundled files (``neurodata/sample_data``), real files from ../shared/data
(skipped in a clone without them) or small synthetic files the test writes; a reader
registered without a sample here fails ``test_every_reader_has_a_sample``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import neurodata as nd
from neurodata.errors import FormatError
from neurodata.io import check_reader, supported_formats
from neurodata.io.conformance import ConformanceError

from .test_eeg_vendors import LAY
from .test_mne_loaders import write_bdf


def _bdf(tmp: Path) -> Path:
    sig = np.random.default_rng(0).standard_normal((2, 512)) * 50.0
    return write_bdf(tmp / "rec.bdf", sig, 256, ["Cz", "Pz"])


def _persyst(tmp: Path) -> Path:
    (np.random.default_rng(0).standard_normal((512, 3)) * 100).astype("<i2").tofile(
        tmp / "rec.dat")
    (tmp / "rec.lay").write_text(LAY)
    return tmp / "rec.lay"


def _fieldtrip(tmp: Path) -> Path:
    x = np.random.default_rng(1).standard_normal((2, 500))
    data = {"label": np.array(["C3", "C4"], dtype=object), "fsample": 250.0,
            "trial": np.array([x], dtype=object),
            "time": np.array([np.arange(500) / 250.0], dtype=object)}
    scipy.io.savemat(tmp / "ft.mat", {"data": data})
    return tmp / "ft.mat"


def _spike_npz(tmp: Path) -> Path:
    np.savez(tmp / "s.npz", times=[0.1, 0.5, 0.7], unit_ids=[0, 1, 0])
    return tmp / "s.npz"


def _spike_csv(tmp: Path) -> Path:
    (tmp / "s.csv").write_text("time,unit\n0.1,a\n0.4,b\n0.9,a\n")
    return tmp / "s.csv"


def _spike_mat(tmp: Path) -> Path:
    scipy.io.savemat(tmp / "s.mat", {"times": [0.1, 0.2, 0.8], "unit_ids": [1, 2, 1]})
    return tmp / "s.mat"


def _nwb(tmp: Path) -> Path:
    from .test_nwb import build_ophys_behavior

    build_ophys_behavior(tmp / "ophys.nwb")
    return tmp / "ophys.nwb"


def _nifti(tmp: Path) -> Path:
    import nibabel as nib

    data = np.random.default_rng(2).standard_normal((4, 4, 3, 20)).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 2.0
    nib.save(img, tmp / "bold.nii")
    return tmp / "bold.nii"


def _cook_xlsx(tmp: Path) -> Path:
    """A small workbook in the Cook et al. 2019 SI 5 layout (the real one takes ~10 s)."""
    import openpyxl

    wb = openpyxl.Workbook()
    names = ["AVAL", "AVAR", "AVBL", "RIML"]
    for k, sheet in enumerate(["hermaphrodite chemical", "hermaphrodite gap jn symmetric"]):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = sheet
        ws.append([None, None] + names)
        for i, pre in enumerate(names):
            ws.append([None, pre] + [float((i + j + k) % 3) for j in range(len(names))])
    wb.save(tmp / "cook_small.xlsx")
    return tmp / "cook_small.xlsx"


def _array_npy(tmp: Path) -> Path:
    np.save(tmp / "activity.npy", np.random.default_rng(3).standard_normal((100, 4)))
    return tmp / "activity.npy"


def _shared(rel: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        from ..conftest import shared_path

        return shared_path(rel)
    return build


def _bundled(name: str) -> Callable[[Path], Path]:
    return lambda tmp: nd.sample_path(name)


SEEG_TYPES = {"channel_types": {"EKG1": "ecg"}}
SAMPLES: dict[str, tuple[Callable[[Path], Path], dict]] = {
    "EDF": (_bundled("eegmmidb_s001r04"), {}),
    "BDF": (_bdf, {}),
    "FIF": (_bundled("mne_sample_audvis_sss"), {}),
    "NIfTI": (_nifti, {}),
    "NWB": (_nwb, {}),
    "spike times (NPZ)": (_spike_npz, {}),
    "spike times (CSV)": (_spike_csv, {}),
    "spike times (MAT)": (_spike_mat, {}),
    "Trodes position": (_shared("spikes/nelpy_linear-track/trajectory.videoPositionTracking"),
                        {}),
    "nelpy linear track": (_bundled("nelpy_linear_track"), {}),
    "suite2p": (_shared("calcium/suite2p/plane0"), {}),
    "BIDS": (_shared("bids/mne_bids_tiny_bids/sub-01/ses-eeg/eeg/"
                     "sub-01_ses-eeg_task-rest_eeg.vhdr"), {}),
    "BrainVision": (_shared("eeg_meg/brainvision/test.vhdr"), {}),
    "BrainVision data": (_shared("eeg_meg/brainvision/test.eeg"), {}),
    "EEGLAB": (_shared("eeg_meg/eeglab/test_raw.set"), {}),
    "Persyst": (_persyst, {}),
    "FieldTrip": (_fieldtrip, {}),
    "C. elegans traces (JSON)": (_bundled("celegans_atanas2023"), {}),
    "NemaNode connectome (JSON)": (_shared("calcium/celegans_connectome/"
                                           "cook_jarrell_2019_h.json"), {}),
    "WormAtlas NeuronConnect (CSV)": (_shared("calcium/celegans_connectome/"
                                              "varshney2011_NeuronConnect.csv"), {}),
    "Cook 2019 SI5 (XLSX)": (_cook_xlsx, {}),
    "trial calcium (MAT D/TE)": (_shared("calcium/park2024_v1_gratings/"
                                         "230803_mrcuts24_fov1_grat-000_data.mat"), {}),
    "92-image RSA set (MAT)": (_shared("image_evoked/kriegeskorte2008_92images/"
                                       "Kriegeskorte_Neuron2008_supplementalData.mat"), {}),
    "array": (_array_npy, {"rate": 100.0}),
}
# Readers without a conformance sample, and why (each is a documented gap).
NO_SAMPLE = {
    "Nihon Kohden": "no Nihon Kohden file is redistributable in the test data; MNE parses it",
}
NOT_RECORDINGS = {"BIDS dataset"}  # a folder of recordings: refuses with a FormatError


def test_every_reader_has_a_sample():
    """Synthetic: the registry and this table agree."""
    names = set(supported_formats()["format"])
    assert names - set(SAMPLES) - set(NO_SAMPLE) - NOT_RECORDINGS == set()


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_reader_conformance(fmt, tmp_path):
    """Each reader on its sample (real, bundled or synthetic, see SAMPLES)."""
    if fmt not in set(supported_formats()["format"]):
        pytest.skip(f"{fmt} not registered")
    build, options = SAMPLES[fmt]
    sample = build(tmp_path)
    out = check_reader(fmt, sample, options=options, tmp_dir=tmp_path / "check")
    assert out["format"] == fmt


def test_bids_root_is_refused_naming_the_folder(shared):
    """Real data: a BIDS root is not one recording."""
    root = shared("bids/mne_bids_tiny_bids")
    with pytest.raises(FormatError, match="mne_bids_tiny_bids.*BIDS dataset with 1"):
        nd.load(root)


def test_check_reader_catches_a_reader_that_breaks_the_contract(tmp_path):
    """Synthetic: a reader without provenance sources fails the check, naming it."""
    from neurodata.io import Reader, register
    from neurodata.io._registry import _READERS

    class Careless(Reader):
        name = "careless test format"
        extensions = (".careless",)
        loader = "tests.careless"

        def read(self, path, **options):
            ts = nd.TimeSeries(np.zeros((10, 1), np.float32), rate=1.0)
            return self.recording([ts], path=path, sources=[])

    register(Careless())
    try:
        sample = tmp_path / "x.careless"
        sample.write_text("x")
        with pytest.raises(ConformanceError, match="careless test format.*provenance"):
            check_reader("careless test format", sample)
    finally:
        _READERS[:] = [s for s in _READERS if s.name != "careless test format"]


def test_function_reader_gets_the_base_contract(tmp_path):
    """Synthetic: a plain function registered as a reader gets path checks, error
    wrapping into FormatError naming the file, and the skipped list."""
    from neurodata.io import ReaderSpec, register_reader
    from neurodata.io._registry import _READERS

    def read_json_trace(path, **_):
        values = json.loads(Path(path).read_text())["values"]  # KeyError on bad input
        ts = nd.TimeSeries(np.asarray(values, np.float32)[:, None], rate=1.0)
        return nd.Recording([ts], provenance=nd.provenance.make_provenance(
            sources=[path], loader="tests.read_json_trace"))

    register_reader(ReaderSpec("json trace test", (".jtrace",), "misc", read_json_trace,
                               "json", "values"))
    try:
        good = tmp_path / "a.jtrace"
        good.write_text('{"values": [1, 2, 3]}')
        assert nd.load(good).provenance["skipped"] == []
        bad = tmp_path / "b.jtrace"
        bad.write_text('{"other": 1}')
        with pytest.raises(FormatError, match=r"b\.jtrace: could not be read as json trace "
                                              r"test \(KeyError"):
            nd.load(bad)
        check_reader("json trace test", good)
    finally:
        _READERS[:] = [s for s in _READERS if s.name != "json trace test"]


def test_docs_reader_example_runs(capsys):
    """Synthetic: the python block of docs/loaders_readers.md runs and prints what it says."""
    import re

    doc = (Path(__file__).parents[2] / "docs" / "loaders_readers.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    exec(compile(block, "docs/loaders_readers.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == ["['misc']", "['left', 'right']"]


def test_every_registered_reader_is_a_reader_subclass():
    """Synthetic: the package's own readers are Reader subclasses, none wrapped as a plain
    function (FunctionReader is only for functions other code registers)."""
    from neurodata.io import FunctionReader, Reader
    from neurodata.io._registry import _READERS

    wrapped = [s.name for s in _READERS if isinstance(s.reader, FunctionReader)
               or not isinstance(s.reader, Reader)]
    assert wrapped == []
    assert {s.name for s in _READERS} >= {"NIfTI", "spike times (NPZ)", "Trodes position",
                                          "nelpy linear track", "C. elegans traces (JSON)",
                                          "Cook 2019 SI5 (XLSX)"}
