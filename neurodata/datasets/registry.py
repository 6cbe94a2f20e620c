"""Public datasets that users download themselves: where, which checksum, what licence.

Each :class:`RemoteDataset` lists its files as :class:`RemoteFile` entries, each with
the URL it is served from and the checksum that :func:`neurodata.datasets.fetch`
verifies.  Checksums come from a source we can name (the comment beside each entry);
where none could be obtained without downloading the file, ``sha256`` is ``None`` and
``fetch`` refuses to download it unless the caller passes ``known_hash=`` or
``allow_unverified=True``.  A checksum is never guessed.

Nothing here is downloaded at import time, and tests never touch these URLs: they
serve small files from a loopback HTTP server and pass ``base_url=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = ["RemoteFile", "RemoteDataset", "DATASETS", "list_datasets", "register_dataset"]


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file of a dataset.

    Parameters
    ----------
    path : str
        Where the file goes inside the dataset folder (POSIX, relative), e.g.
        ``"S001/S001R04.edf"``.  With ``fetch(base_url=...)`` the file is fetched from
        ``base_url + path``.
    url : str or None
        Full URL, when it is not ``dataset.base_url + path`` (e.g. an API endpoint).
    sha256 : str or None
        Hex SHA-256 of the file, or ``None`` when unknown.
    md5 : str or None
        Hex MD5, used only when the provider publishes no SHA-256 (weaker).
    size : int or None
        Size in bytes, when known.
    unpack : bool, default=False
        Extract the archive (``.tar``, ``.tar.gz``, ``.zip``) into the dataset folder
        after verification and delete it.
    """

    path: str
    url: str | None = None
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    unpack: bool = False

    @property
    def known_hash(self) -> str | None:
        """The checksum in pooch notation (``"sha256:..."``, ``"md5:..."``) or None."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


@dataclass(frozen=True)
class RemoteDataset:
    """A registered public dataset.

    Parameters
    ----------
    name : str
        Registry key (``neuroloom fetch NAME``); also the folder name under the data home.
    description : str
        What the files hold (modality, subjects, size).
    files : tuple of RemoteFile
    base_url : str
        Prefix of ``file.path`` for files without their own ``url``.
    version : str
        The dataset version the URLs and checksums refer to.
    license : str
        Licence of the data, as the provider states it.
    citation : str
        What to cite when using the data.
    homepage : str
        Human-readable landing page.
    modality : str
        Main modality ("eeg", "meg", "bold", "calcium", "spikes", ...).
    hash_source : str
        Where the checksums come from (or why there are none).
    """

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    base_url: str = ""
    version: str = ""
    license: str = ""
    citation: str = ""
    homepage: str = ""
    modality: str = ""
    hash_source: str = ""

    def url_for(self, file: RemoteFile, base_url: str | None = None) -> str:
        """The URL ``file`` is fetched from (``base_url`` replaces every location)."""
        if base_url is not None:
            return base_url.rstrip("/") + "/" + file.path
        if file.url is not None:
            return file.url
        return self.base_url.rstrip("/") + "/" + file.path

    @property
    def size(self) -> int | None:
        """Total bytes, or None when any file's size is unknown."""
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else int(sum(sizes))

    @property
    def verified(self) -> str:
        """"all", "some" or "none": how many files have a registered checksum."""
        n = sum(f.known_hash is not None for f in self.files)
        return "all" if n == len(self.files) else ("none" if n == 0 else "some")


# ----------------------------------------------------------------------------- entries
# SHA-256 of every EEGMMIDB S001 run, from MNE-Python's mne/data/eegbci_checksums.txt
# (MNE 1.13); R04, R08 and R12 also match ../shared/data/MANIFEST.md, whose copies are
# byte-identical to PhysioNet's.
_EEGMMIDB_S001 = {
    1: "4743b736131a7e147c150e8b37711029b6cda5e356c4b3e8261a03cdcaaf8b0c",
    2: "31a95e0a880e6c3d89960d9d62c144f24cc4e9f5d7e93c7f864ef61cd49e847e",
    3: "3427c8d01bff1380bc9ab9f27a35ece2af5dfadf3e291bbc05eb66e4dadbfe2e",
    4: "3d161f88e1c00632585287d2ce584c2bc0f08862438eb255ea8723e00fac693d",
    5: "8828f4b97931100af136cebf27838248b82f69cf359f7e6c3146a1970a8fb8d9",
    6: "5369364f2c4e81ca141679d6dd2ba6ece61c7eb53d7fae31241b308876e1b6b3",
    7: "6320a941815eb7a0bc632e32c07c88b6e2281a0e2f177e8f49e2d0a16231145c",
    8: "358fb5189220725141968ae285fbe9e3f36210b834ffba71d940af308e3aca68",
    9: "1b642457807be572c31e8bb56a936cbdb554507d66e25e242c9bd1b0c557c53c",
    10: "20de1c7746c2349d16bda5e9f1b0ac7b7ad1581102a2e30dd2ac422696f62fb1",
    11: "d5296b9232b0ad88b7022155cbcde618df44d4b0db046ce3bec54f8f8644207a",
    12: "2b281c9b687b4c4176e83251d74743721f2d6ebd76656a972a3b9c44d9d88cd5",
    13: "dde646236a13d846ca68ee71440f1fd38d818bc50a2f4804a29bcf0f773ad167",
    14: "2110c48e3106898e3dbca47e39b330637afd3d3b8bc2da3ba1e44f4ac1118137",
}
# Sizes verified in ../shared/data/MANIFEST.md (the other runs' sizes are not known here).
_EEGMMIDB_SIZES = {4: 2596896, 8: 2596896, 12: 2596896}

_PYMVPA_COMMIT = "20f0335f98bbb59a0e11bc0b7a469edf8681a9a1"
_WWW_DATA_COMMIT = "0422546192ef58d0de4740a0aa91fd38de22da2e"

_HAXBY_CITATION = (
    "Haxby J.V. et al. (2001) Distributed and overlapping representations of faces and "
    "objects in ventral temporal cortex. Science 293(5539):2425-2430."
)
_ATANAS_CITATION = (
    "Atanas A.A., Kim J. et al. (2023) Brain-wide representations of behavior spanning "
    "multiple timescales and states in C. elegans. Cell 186(19):4134-4151."
)

_ENTRIES: list[RemoteDataset] = [
    RemoteDataset(
        name="mne_sample",
        description=(
            "MNE-Python 'sample' dataset: one subject's auditory/visual MEG+EEG (Neuromag "
            "Vectorview, 306 MEG + 60 EEG channels), FreeSurfer anatomy and forward models; "
            "one tar.gz archive of a few GB, extracted into MNE-sample-data/."
        ),
        files=(RemoteFile("MNE-sample-data-processed.tar.gz",
                          url="https://osf.io/download/86qa2?version=6",
                          md5="e8f30c4516abdc12a0c08e6bae57409c", unpack=True),),
        version="6 (OSF file version)",
        license="BSD-3-Clause (distributed by the MNE-Python project)",
        citation=("Gramfort A. et al. (2013) MEG and EEG data analysis with MNE-Python. "
                  "Front. Neurosci. 7:267."),
        homepage="https://mne.tools/stable/documentation/datasets.html#sample",
        modality="meg",
        hash_source=("MD5 from MNE-Python's mne/datasets/config.py (MNE_DATASETS['sample']); "
                     "the provider publishes no SHA-256"),
    ),
    RemoteDataset(
        name="eegmmidb_s001",
        description=(
            "PhysioNet EEG Motor Movement/Imagery Dataset, subject S001: 14 EDF+ runs, "
            "64 EEG channels at 160 Hz (R01/R02 1-min baselines; R03-R14 2-min motor "
            "execution/imagery runs with T0/T1/T2 annotations; R04, R08, R12 are left/right "
            "fist imagery).  Fetch single runs with files=['S001/S001R04.edf']."
        ),
        files=tuple(RemoteFile(f"S001/S001R{r:02d}.edf", sha256=h, size=_EEGMMIDB_SIZES.get(r))
                    for r, h in _EEGMMIDB_S001.items()),
        base_url="https://physionet.org/files/eegmmidb/1.0.0/",
        version="1.0.0",
        license="Open Data Commons Attribution License v1.0",
        citation=("Schalk G. et al. (2004) BCI2000: a general-purpose brain-computer "
                  "interface system. IEEE TBME 51(6):1034-1043; Goldberger A. et al. (2000) "
                  "PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220."),
        homepage="https://physionet.org/content/eegmmidb/1.0.0/",
        modality="eeg",
        hash_source=("SHA-256 from MNE-Python's mne/data/eegbci_checksums.txt; R04/R08/R12 "
                     "cross-checked against ../shared/data/MANIFEST.md"),
    ),
    RemoteDataset(
        name="haxby2001_subj1",
        description=(
            "Haxby et al. 2001 face/object fMRI, subject 1 as curated by PyMVPA: 4D BOLD "
            "(12 runs, TR 2.5 s), anatomy, ventral-temporal and face/house masks, per-volume "
            "labels (labels.txt); one tar.gz of roughly 300 MB, extracted into subj1/."
        ),
        files=(RemoteFile("subj1-2010.01.14.tar.gz", unpack=True),),
        base_url="http://data.pymvpa.org/datasets/haxby2001/",
        version="2010.01.14",
        license="CC BY-SA 3.0 (per the PyMVPA data documentation)",
        citation=_HAXBY_CITATION,
        homepage="http://www.pymvpa.org/datadb/haxby2001.html",
        modality="bold",
        hash_source=("none registered: the server publishes an MD5SUMS file, which we have "
                     "not been able to read offline; pass known_hash= from it"),
    ),
    RemoteDataset(
        name="haxby2001_pymvpa_slice",
        description=(
            "Haxby 2001 subject 1 reduced to part of one axial slice (PyMVPA tutorial data): "
            "bold.nii.gz 40x20x1x1452 (TR 2.5 s, 12 runs), mask.nii.gz (530 voxels), "
            "per-volume labels attributes.txt / attributes_literal.txt; about 1.3 MB."
        ),
        files=(
            RemoteFile("bold.nii.gz", size=1311329, sha256=(
                "cbbd4d07803caaa9f77381af24e790cf77058664a128bd514a4c1668eefb92d7")),
            RemoteFile("mask.nii.gz", size=197, sha256=(
                "8d879d35aaeee3afddfb69a7e1b8dd2b3be446671452d7e841dc6588845f2877")),
            RemoteFile("attributes.txt", size=6050, sha256=(
                "a252fa822cd1cec9e1192b139d7b5e35a5615dbe75598f73d4cf1b803aae62b0")),
            RemoteFile("attributes_literal.txt", size=12026, sha256=(
                "7769f235e93d3157ef7bd1102abfaf3bc058ad9ca28e89dc60b8e47f473207c3")),
        ),
        base_url=f"https://raw.githubusercontent.com/PyMVPA/PyMVPA/{_PYMVPA_COMMIT}/mvpa2/data/",
        version=f"PyMVPA commit {_PYMVPA_COMMIT[:12]}",
        license="CC BY-SA 3.0 (Haxby 2001 data, per the PyMVPA data documentation)",
        citation=_HAXBY_CITATION,
        homepage="https://github.com/PyMVPA/PyMVPA/tree/master/mvpa2/data",
        modality="bold",
        hash_source="SHA-256 and sizes from ../shared/data/MANIFEST.md (same commit)",
    ),
    RemoteDataset(
        name="wormwideweb_2022-08-02-01",
        description=(
            "C. elegans whole-brain GCaMP recording 2022-08-02-01 from the Flavell lab "
            "(Atanas & Kim et al. 2023) as served by WormWideWeb: one JSON with neural traces, "
            "NeuroPAL neuron identities and behaviour (velocity, head curvature, pumping)."
        ),
        files=(RemoteFile("2022-08-02-01.json"),),
        base_url="https://www.wormwideweb.org/data/",
        version="as served by wormwideweb.org (unversioned)",
        license="not stated by WormWideWeb; cite the paper (Zenodo 10.5281/zenodo.8150514)",
        citation=_ATANAS_CITATION,
        homepage="https://www.wormwideweb.org/dataset.html",
        modality="calcium",
        hash_source="none registered: the site publishes no checksums",
    ),
    RemoteDataset(
        name="celegans_connectome_wormwideweb",
        description=(
            "C. elegans hermaphrodite connectomes as JSON edge lists (Cook et al. 2019, "
            "White et al. 1986) with the neuron table, from flavell-lab/WormWideWeb-data."
        ),
        files=(
            RemoteFile("connectome/connectome_datasets.json", size=7452, sha256=(
                "e51fcb60c1068ebf55de94aa7ed210536d23ad1cd3d53af67bed7b9eb158fde0")),
            RemoteFile("connectome/connectome_neurons.csv", size=22230, sha256=(
                "151f9bd538922fb9c6abd03372b8a9b597224f1027d5584d33624389edf56b1b")),
            RemoteFile("connectome/connectome/cook_jarrell_2019_h.json", size=370277, sha256=(
                "ad5443f058c2b04b54836f259e342bfae516e44944ab3280775e6f07111ff875")),
            RemoteFile("connectome/connectome/white_1986_whole.json", size=180565, sha256=(
                "6c580e54c0a4e83c050071900748f3caa5978e92708c535fee5580c8fa3ea824")),
        ),
        base_url=("https://raw.githubusercontent.com/flavell-lab/WormWideWeb-data/"
                  f"{_WWW_DATA_COMMIT}/"),
        version=f"WormWideWeb-data commit {_WWW_DATA_COMMIT[:12]}",
        license="no licence file in the repository; attribution required (Cook et al. 2019)",
        citation=("Cook S.J. et al. (2019) Whole-animal connectomes of both Caenorhabditis "
                  "elegans sexes. Nature 571:63-71; White J.G. et al. (1986) Phil. Trans. R. "
                  "Soc. Lond. B 314:1-340."),
        homepage="https://github.com/flavell-lab/WormWideWeb-data",
        modality="connectivity",
        hash_source="SHA-256 and sizes from ../shared/data/MANIFEST.md (same commit)",
    ),
    RemoteDataset(
        name="openneuro_ds002718_sub-002",
        description=(
            "OpenNeuro ds002718 (face recognition EEG, Wakeman & Henson data in EEGLAB "
            "format, BIDS): the dataset description, participants table and subject sub-002's "
            "EEG (.set, about 220 MB) with its events."
        ),
        files=(
            RemoteFile("dataset_description.json"),
            RemoteFile("participants.tsv"),
            RemoteFile("sub-002/eeg/sub-002_task-FaceRecognition_eeg.set"),
            RemoteFile("sub-002/eeg/sub-002_task-FaceRecognition_events.tsv"),
        ),
        base_url="https://s3.amazonaws.com/openneuro.org/ds002718/",
        version="latest snapshot in the OpenNeuro S3 bucket (1.0.x)",
        license="CC0 (OpenNeuro default)",
        citation=("Wakeman D.G., Henson R.N. (2015) A multi-subject, multi-modal human "
                  "neuroimaging dataset. Sci. Data 2:150001; OpenNeuro ds002718."),
        homepage="https://openneuro.org/datasets/ds002718",
        modality="eeg",
        hash_source=("none registered: OpenNeuro's S3 bucket publishes no SHA-256 (its git "
                     "annex keys do; pass known_hash= from there)"),
    ),
    RemoteDataset(
        name="dandi_000004_asset",
        description=(
            "DANDI:000004 (human medial-temporal-lobe single neurons during a declarative "
            "memory task, NWB): the example asset 9d9f379d-9fd1-4872-8c49-3891dfb693ab "
            "named in the DANDI handbook, one NWB file."
        ),
        files=(RemoteFile(
            "000004/9d9f379d-9fd1-4872-8c49-3891dfb693ab.nwb",
            url=("https://api.dandiarchive.org/api/assets/"
                 "9d9f379d-9fd1-4872-8c49-3891dfb693ab/download/")),),
        version="draft",
        license="CC-BY-4.0",
        citation=("Chandravadia N. et al. (2020) A NWB-based dataset and processing pipeline of "
                  "human single-neuron activity during a declarative memory task. Sci. Data "
                  "7:78."),
        homepage="https://dandiarchive.org/dandiset/000004",
        modality="spikes",
        hash_source=("none registered: DANDI lists each asset's SHA-256 in its metadata "
                     "(https://api.dandiarchive.org/api/assets/<id>/); pass it as known_hash="),
    ),
]

#: Name → dataset, the registry that :func:`neurodata.datasets.fetch` reads.
DATASETS: dict[str, RemoteDataset] = {d.name: d for d in _ENTRIES}


def register_dataset(dataset: RemoteDataset, *, overwrite: bool = False) -> None:
    """Add ``dataset`` to :data:`DATASETS` (e.g. a lab's own mirror).

    Raises
    ------
    ValueError
        If the name is taken and ``overwrite`` is False.
    """
    if dataset.name in DATASETS and not overwrite:
        raise ValueError(f"a dataset named {dataset.name!r} is already registered; "
                         "pass overwrite=True to replace it")
    DATASETS[dataset.name] = dataset


def list_datasets(registry: Mapping[str, RemoteDataset] | None = None) -> pd.DataFrame:
    """The registered datasets as a table.

    Returns
    -------
    pandas.DataFrame
        Columns name, modality, n_files, size (bytes or None), verified ("all", "some",
        "none": files with a registered checksum), version, license, description.

    Examples
    --------
    >>> from neurodata.datasets import list_datasets
    >>> "eegmmidb_s001" in set(list_datasets()["name"])
    True
    """
    reg = DATASETS if registry is None else registry
    rows = [{"name": d.name, "modality": d.modality, "n_files": len(d.files), "size": d.size,
             "verified": d.verified, "version": d.version, "license": d.license,
             "description": d.description} for d in reg.values()]
    table = pd.DataFrame(rows, columns=["name", "modality", "n_files", "size", "verified",
                                        "version", "license", "description"])
    table["size"] = table["size"].astype("Int64")  # unknown sizes stay <NA>, not NaN floats
    return table
