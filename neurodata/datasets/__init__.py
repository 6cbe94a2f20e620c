"""Public datasets users download themselves, verified by checksum.

>>> from neurodata.datasets import list_datasets, fetch
>>> names = list_datasets()["name"].tolist()          # what is registered
>>> "mne_sample" in names
True
>>> ds = fetch("eegmmidb_s001", files="S001/S001R04.edf")   # doctest: +SKIP
>>> ds.files, ds.citation                                  # doctest: +SKIP

Files go to :func:`get_data_home` (``$NEURODATA_DATA`` or ``~/neurodata_data``).
The command line does the same: ``neuroloom fetch --list``, ``neuroloom fetch NAME``.
"""

from .errors import DownloadError, UnknownDatasetError, UnverifiedDownloadError
from .fetch import DATA_HOME_ENV, FetchedDataset, fetch, get_data_home
from .registry import DATASETS, RemoteDataset, RemoteFile, list_datasets, register_dataset

__all__ = [
    "fetch", "get_data_home", "list_datasets", "register_dataset", "DATASETS",
    "RemoteDataset", "RemoteFile", "FetchedDataset", "DATA_HOME_ENV", "DownloadError",
    "UnknownDatasetError", "UnverifiedDownloadError",
]
