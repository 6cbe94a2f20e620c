"""Reader for 4-D NIfTI fMRI runs (nibabel), with masks, atlases, events and cleaning.

A BOLD run is a 4-D image ``(x, y, z, t)``.  We keep either one channel per voxel of a
brain mask (modality ``"bold"``, channel type ``"voxel"``, with the affine, the volume
shape and each channel's voxel index, so :func:`to_nifti` rebuilds the image), or one
channel per region of an atlas (channel type ``"bold_roi"``, the region names as channel
names).  Voxel values are nibabel's scaled values (``scl_slope``/``scl_inter`` applied)
in float32, the same numbers nilearn's ``NiftiMasker`` returns.  Region signals are the
mean over the region's voxels (a label image, as nilearn's ``NiftiLabelsMasker``) or the
least-squares fit of probabilistic maps (a 4-D atlas, as ``NiftiMapsMasker``).

Nothing is resampled: a mask or atlas must already be on the run's voxel grid.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..channels import make_channels
from ..errors import FormatError, MissingFileError, ValidationError
from ..log import logger, verbose, warn
from ..recording import Recording
from ..timeseries import TimeSeries
from ._base import Reader, register
from ._lazy import LazyRows
from .fmri_events import events_from_volume_labels, read_fmri_events, read_tsv_table

__all__ = ["read_nifti", "to_nifti", "timeseries_to_nifti", "read_fmri_events",
           "events_from_volume_labels", "NiftiReader"]

#: NIfTI sform/qform codes → the coordinate frame they name.
_XFORM_FRAMES = {0: "unknown", 1: "scanner", 2: "aligned", 3: "talairach", 4: "mni", 5: "template"}
#: Seconds per unit of pixdim[4] for the NIfTI time units nibabel reports.
_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
#: Millimetres → metres (the channel table's positions are in metres).
_MM = 1e-3


# ---------------------------------------------------------------------------- images
def _load_image(path: Path, what: str, *, keep_open: bool = False):
    """The nibabel image (header parsed, data left in the file).

    ``keep_open`` keeps one file handle for the image's lifetime: for a ``.nii.gz`` the
    gzip stream then continues from the last read instead of decompressing from the
    start at every slice (see :class:`NiftiReader`).
    """
    import nibabel as nib

    if not path.exists():
        raise MissingFileError(f"no such {what} file; check the path", path=path)
    try:
        img = nib.load(str(path), keep_file_open=True) if keep_open else nib.load(str(path))
    except Exception as exc:  # nibabel raises several unrelated types for bad files
        raise FormatError(f"could not be read as a NIfTI {what} by nibabel "
                          f"({type(exc).__name__}: {exc}); expected a .nii or .nii.gz image",
                          path=path) from exc
    _check_declared_size(img, path)
    return img


def _check_gzip_length(img: Any, path: Path) -> None:
    """A ``.nii.gz`` must hold all the bytes its header declares, checked without reading it.

    The gzip trailer stores the uncompressed length (mod 2**32): when it equals header +
    declared voxel data the file is complete.  Otherwise (a truncated copy, or a file of
    several gzip members whose trailer counts only the last) the stream is decompressed
    once in 1 MiB pieces, in constant memory, to find where it ends.
    """
    import gzip
    import zlib

    expected = int(getattr(img.dataobj, "offset", 0) or 0) + int(
        np.prod(img.shape, dtype=np.float64)) * img.get_data_dtype().itemsize
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        isize = int.from_bytes(fh.read(4), "little")
    if isize == expected % 2**32:
        return
    n = 0
    try:
        with gzip.open(path, "rb") as gz:
            while chunk := gz.read(1 << 20):
                n += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"could not decompress the gzip stream after {n} bytes "
                          f"({type(exc).__name__}: {exc}); the header declares {expected} "
                          "bytes - the file is truncated or corrupt", path=path) from exc
    if n < expected:
        raise FormatError(f"truncated image: the header declares {tuple(img.shape)} "
                          f"({expected} bytes with the header) but the file decompresses to "
                          f"{n} bytes", path=path)


#: deflate cannot compress better than about 1032:1, so a .nii.gz declaring more data
#: than this many times its size is corrupt (and would be allocated before failing).
_MAX_GZIP_RATIO = 1032


def _check_declared_size(img: Any, path: Path) -> None:
    """The header's data size must fit the file (before anything is allocated)."""
    shape = tuple(int(n) for n in img.shape)
    if any(n < 0 for n in shape):
        raise FormatError(f"the header declares a negative dimension {shape}", path=path)
    declared = int(np.prod(shape, dtype=np.float64)) * img.get_data_dtype().itemsize
    offset = int(getattr(img.dataobj, "offset", 0) or 0)
    size = path.stat().st_size
    if path.name.lower().endswith(".gz"):
        if declared > _MAX_GZIP_RATIO * size + (1 << 20):
            raise FormatError(f"the header declares {declared / 2**20:.0f} MiB of voxel data "
                              f"{shape}, more than {size} compressed bytes can hold; the header "
                              "is corrupt", path=path)
    elif offset + declared > size:
        raise FormatError(f"truncated image: the header declares {shape} "
                          f"({offset + declared} bytes with the header) but the file has "
                          f"{size} bytes", path=path)


def _as_image(obj: Any, what: str):
    """A nibabel image from a path or an image object; returns (image, path or None)."""
    if hasattr(obj, "affine") and hasattr(obj, "shape") and hasattr(obj, "dataobj"):
        return obj, None
    p = Path(obj)
    return _load_image(p, what), p


def _same_grid(img, bold, what: str, path: Path | None, bold_path: Path) -> None:
    """Raise unless ``img`` is on the run's voxel grid (shape and affine)."""
    shape3 = tuple(bold.shape[:3])
    if tuple(img.shape[:3]) != shape3:
        raise FormatError(
            f"{what} has shape {tuple(img.shape)}; expected the voxel grid of the BOLD run "
            f"{bold_path.name}, {shape3} (resample it onto the run first, e.g. with "
            "nilearn.image.resample_to_img(..., interpolation='nearest'))",
            path=path or bold_path)
    if not np.allclose(img.affine, bold.affine, atol=1e-4):
        raise FormatError(
            f"{what} affine {np.round(img.affine, 4).tolist()} differs from the affine of the "
            f"BOLD run {bold_path.name}, {np.round(bold.affine, 4).tolist()}: the images are "
            "not on the same voxel grid; resample it onto the run first", path=path or bold_path)


def _coord_frame(img) -> str:
    code = int(img.header.get("sform_code", 0)) if hasattr(img.header, "get") else 0
    if code == 0:
        code = int(img.header.get("qform_code", 0)) if hasattr(img.header, "get") else 0
    return _XFORM_FRAMES.get(code, "unknown")


# ---------------------------------------------------------------------------- TR
def _sidecar_json(path: Path) -> Path | None:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.lower().endswith(ext):
            side = path.with_name(name[: -len(ext)] + ".json")
            return side if side.exists() else None
    return None


def _header_tr(img, path: Path) -> float | None:
    """TR in seconds from pixdim[4] and the xyzt time unit, or None when absent."""
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not np.isfinite(zooms[3]) or zooms[3] <= 0:
        return None
    value = float(zooms[3])
    try:
        unit = img.header.get_xyzt_units()[1]
    except (AttributeError, IndexError):
        unit = "unknown"
    if unit in _TIME_UNITS:
        return value * _TIME_UNITS[unit]
    warn(f"{path}: the NIfTI header gives pixdim[4] = {value} with time unit {unit!r}; "
         "taking it as seconds (pass tr= to override)")
    return value


def _resolve_tr(img, path: Path, tr: float | None) -> tuple[float, str]:
    """The TR in seconds and where it came from."""
    header = _header_tr(img, path)
    side = _sidecar_json(path)
    side_tr = None
    if side is not None:
        try:
            meta = json.loads(side.read_text())
        except (OSError, ValueError) as exc:
            raise FormatError(f"could not be parsed as JSON ({exc}); expected a BIDS sidecar "
                              "with RepetitionTime", path=side) from exc
        if isinstance(meta, dict) and meta.get("RepetitionTime") is not None:
            side_tr = float(meta["RepetitionTime"])
    if tr is not None:
        tr = float(tr)
        if not (np.isfinite(tr) and tr > 0):
            raise ValidationError(f"tr must be a positive number of seconds; got {tr!r}")
        for found, where in ((side_tr, f"sidecar {side}"), (header, "NIfTI header")):
            if found is not None and not np.isclose(found, tr, rtol=1e-4):
                warn(f"{path}: tr={tr} s overrides the {where} value {found} s")
        return tr, "argument"
    if side_tr is not None:
        if header is not None and not np.isclose(header, side_tr, rtol=1e-4):
            warn(f"{path}: the sidecar RepetitionTime {side_tr} s differs from the header's "
                 f"{header} s; using the sidecar (BIDS makes it authoritative)")
        return side_tr, f"sidecar {side.name}"
    if header is not None:
        return header, "header pixdim[4]"
    raise FormatError("has no repetition time: pixdim[4] is 0 and there is no JSON sidecar "
                      "with RepetitionTime; pass tr= in seconds", path=path)


# ---------------------------------------------------------------------------- atlases
def _atlas_names(atlas_labels: Any, values: np.ndarray, path_hint: Path | None) -> list[str]:
    """Region names for the non-zero atlas ``values`` (sorted)."""
    if atlas_labels is None:
        return [f"roi{int(v):03d}" for v in values]
    if isinstance(atlas_labels, os.PathLike) or (
            isinstance(atlas_labels, str) and Path(atlas_labels).exists()):
        p = Path(atlas_labels)
        table = read_tsv_table(p)
        cols = {c.lower(): c for c in table.columns}
        if {"index", "name"} <= set(cols):
            atlas_labels = dict(zip(table[cols["index"]].astype(int), table[cols["name"]],
                                    strict=True))
        else:
            # A headerless "value name" list, one region per line.
            lines = [ln.split(None, 1) for ln in p.read_text().splitlines() if ln.strip()]
            try:
                atlas_labels = {int(a): b.strip() for a, b in lines}
            except ValueError as exc:
                raise FormatError("expected a lookup table with columns index and name, or "
                                  "lines 'value name'", path=p) from exc
    if isinstance(atlas_labels, Mapping):
        missing = [int(v) for v in values if int(v) not in {int(k) for k in atlas_labels}]
        if missing:
            raise ValidationError(f"atlas_labels has no name for atlas value(s) {missing[:10]}; "
                                  "give one name per non-zero value", path=path_hint)
        lookup = {int(k): str(v) for k, v in atlas_labels.items()}
        return [lookup[int(v)] for v in values]
    names = [str(x) for x in atlas_labels]
    if len(names) == len(values) + 1:
        names = names[1:]  # nilearn's convention: the first name is the background
    if len(names) != len(values):
        raise ValidationError(f"atlas_labels has {len(names)} names; the atlas has "
                              f"{len(values)} regions (non-zero values {values[:10].tolist()}...)",
                              path=path_hint)
    return names


# ---------------------------------------------------------------------------- cleaning
def _load_confounds(confounds: Any, n_volumes: int) -> tuple[np.ndarray, Any]:
    if isinstance(confounds, str | os.PathLike):
        p = Path(confounds)
        if not p.exists():
            raise MissingFileError("no such confounds file; check the path", path=p)
        if p.suffix.lower() in (".tsv", ".csv"):
            table = pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",",
                                na_values=["n/a"])
            # fMRIPrep's derivative columns start with NaN; nilearn's loader fills with 0 too.
            arr = table.apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(float)
            desc: Any = {"file": str(p), "columns": list(table.columns)}
        else:
            arr = np.loadtxt(p, ndmin=2)
            desc = {"file": str(p), "columns": arr.shape[1]}
        where: Any = p
    else:
        arr = np.asarray(confounds, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        desc, where = {"array_shape": list(arr.shape)}, None
    if arr.ndim != 2 or arr.shape[0] != n_volumes:
        raise ValidationError(f"confounds have shape {arr.shape}; expected ({n_volumes}, "
                              "n_confounds), one row per volume", path=where)
    return arr, desc


# ---------------------------------------------------------------------------- reader
class NiftiReader(Reader):
    """4-D NIfTI BOLD runs (see :func:`read_nifti`).

    Laziness: voxel signals (no atlas, no cleaning) stay in the file until sliced.  A
    ``.nii`` is memory-mapped, so a read of volumes ``[a, b)`` costs only those volumes.
    A ``.nii.gz`` cannot seek: nibabel's array proxy decompresses the stream up to the
    end of the slice and keeps only the slice.  The image keeps one file handle open,
    so reads in increasing order (saving, converting, a sliding window) continue where
    the last one ended and cost one decompression of the file in all; a read *before*
    the last one restarts from the beginning, so random access costs up to one
    decompression per read (nibabel uses ``indexed_gzip`` when it is installed, which
    makes such reads seek).  Memory stays that of the slice in both cases.  Loading
    checks that the file holds every byte the header declares (the gzip trailer's
    length; a full streaming pass only when that does not match), so a truncated run
    fails at load, not at the first read.
    """

    name = "NIfTI"
    extensions = (".nii", ".nii.gz")
    modality = "fMRI (BOLD)"
    library = "nibabel / nilearn.signal"
    keeps = ("4-D run → voxel series (mask; affine, grid shape and voxel indices for writing "
             "back) or atlas ROI series; TR from sidecar/header; events TSV or per-volume "
             "label files; optional confound regression, detrending, standardization "
             "(recorded in provenance)")
    loader = "neurodata.io.read_nifti"
    packages = ("nibabel",)
    lazy = True

    def read_header(self, path: Path, *, tr: float | None = None,
                    **options: Any) -> dict[str, Any]:
        """The image (data left in the file), its TR and where the TR came from."""
        gz = path.name.lower().endswith(".gz")
        img = _load_image(path, "BOLD run", keep_open=gz)
        if len(img.shape) != 4:
            raise FormatError(f"is a {len(img.shape)}-D image of shape {tuple(img.shape)}; "
                              "expected a 4-D BOLD run (x, y, z, volumes) - a 3-D image is a "
                              "single volume or a mask; pass it as mask= instead", path=path)
        if gz:
            _check_gzip_length(img, path)
        tr_s, tr_from = _resolve_tr(img, path, tr)
        return {"image": img, "tr": tr_s, "tr_source": tr_from,
                "sidecar": _sidecar_json(path)}

    def read(self, path: Path, *, mask: Any = None, atlas: Any = None,
             atlas_labels: Any = None, tr: float | None = None,
             events: str | os.PathLike | None = None, confounds: Any = None,
             detrend: bool = False, standardize: bool | str = False,
             high_pass: float | None = None, low_pass: float | None = None, runs: Any = None,
             subject: Mapping[str, Any] | None = None,
             session: Mapping[str, Any] | None = None, name: str = "bold") -> Recording:
        if atlas is None and atlas_labels is not None:
            raise ValidationError("atlas_labels names the regions of atlas=, which was not "
                                  "given")
        return self.read_data(path, self.read_header(path, tr=tr), mask=mask, atlas=atlas,
                              atlas_labels=atlas_labels, tr=tr, events=events,
                              confounds=confounds, detrend=detrend, standardize=standardize,
                              high_pass=high_pass, low_pass=low_pass, runs=runs,
                              subject=subject, session=session, name=name)

    def read_data(self, path: Path, header: dict[str, Any], *, mask: Any = None,
                  atlas: Any = None, atlas_labels: Any = None, tr: float | None = None,
                  events: str | os.PathLike | None = None, confounds: Any = None,
                  detrend: bool = False, standardize: bool | str = False,
                  high_pass: float | None = None, low_pass: float | None = None,
                  runs: Any = None, subject: Mapping[str, Any] | None = None,
                  session: Mapping[str, Any] | None = None, name: str = "bold") -> Recording:
        p = path
        img, tr_s, tr_from, side = (header[k] for k in ("image", "tr", "tr_source", "sidecar"))
        n_vol = int(img.shape[3])
        sources: list[Path] = [p]
        if side is not None:
            sources.append(side)

        mask_bool = None
        if mask is not None:
            mask_img, mask_path = _as_image(mask, "mask")
            shape = tuple(mask_img.shape)
            if len(shape) != 3 and not (len(shape) == 4 and shape[3] == 1):
                raise FormatError(f"mask has shape {shape}; expected a 3-D image like the "
                                  f"run's grid {tuple(img.shape[:3])}", path=mask_path or p)
            _same_grid(mask_img, img, "mask", mask_path, p)
            mask_bool = np.asanyarray(mask_img.dataobj).reshape(img.shape[:3]) != 0
            if not mask_bool.any():
                raise ValidationError("mask has no non-zero voxel; expected a brain mask",
                                      path=mask_path or p)
            if mask_path is not None:
                sources.append(mask_path)

        atlas_img = atlas_path = None
        if atlas is not None:
            atlas_img, atlas_path = _as_image(atlas, "atlas")
            if len(atlas_img.shape) not in (3, 4):
                raise FormatError(f"atlas has shape {tuple(atlas_img.shape)}; expected a 3-D "
                                  "label image or a 4-D stack of probabilistic maps",
                                  path=atlas_path or p)
            _same_grid(atlas_img, img, "atlas", atlas_path, p)
            if atlas_path is not None:
                sources.append(atlas_path)
            if isinstance(atlas_labels, str | os.PathLike) and Path(atlas_labels).exists():
                sources.append(Path(atlas_labels))

        # Events first: a bad events file must fail before the (larger) data are read.
        ev = None
        if events is not None:
            ev = read_fmri_events(events, n_volumes=n_vol, tr=tr_s)
            sources.append(Path(events))
        conf_arr = conf_desc = None
        if confounds is not None:
            conf_arr, conf_desc = _load_confounds(confounds, n_vol)
            if isinstance(confounds, str | os.PathLike):
                sources.append(Path(confounds))
        if runs is not None:
            runs = np.asarray(runs)
            if runs.shape != (n_vol,):
                raise ValidationError(f"runs has shape {runs.shape}; expected ({n_vol},), one run "
                                      "index per volume", path=p)

        cleaning = confounds is not None or detrend or standardize or high_pass or low_pass
        # Voxel signals are read volume block by volume block when sliced or saved (.nii:
        # memory-mapped; .nii.gz: decompressed up to the block, see NiftiReader).  Atlas
        # signals and cleaning need every volume, so they read the run whole.
        lazy = atlas_img is None and not cleaning and img.in_memory is False
        data4 = None if lazy else np.asanyarray(img.dataobj)  # scaled when scl_slope is set
        affine = np.asarray(img.affine, dtype=np.float64)
        frame = _coord_frame(img)
        attrs: dict[str, Any] = {"source": "nifti", "tr_s": tr_s, "tr_source": tr_from,
                                 "n_volumes": n_vol, "source_dtype": str(img.get_data_dtype()),
                                 "volume_shape": list(img.shape[:3]), "coord_frame": frame}
        if atlas_img is None:
            keep = mask_bool if mask_bool is not None else np.ones(img.shape[:3], bool)
            ijk = np.argwhere(keep)  # C order, the order nilearn's NiftiMasker uses
            if lazy:
                data = _lazy_voxels(img, keep, ijk.shape[0])
            else:
                data = np.asarray(data4[keep], dtype=np.float32).T  # (T, V)
            xyz = (affine[:3, :3] @ ijk.T + affine[:3, 3:4]).T * _MM
            channels = make_channels([f"v_{i}_{j}_{k}" for i, j, k in ijk], types="voxel",
                                     units="a.u.", positions=xyz, coord_frame=frame)
            kind = "voxels"
            grid = {"affine": affine, "volume_shape": img.shape[:3], "voxel_ijk": ijk}
        else:
            data, channels, roi_attrs = _atlas_signals(data4, atlas_img, atlas_labels, mask_bool,
                                                       affine, frame, atlas_path or p)
            attrs.update(roi_attrs)
            kind = "regions"
            grid = {}
        logger.info("%s: %d volumes, TR %g s (%s), %d %s", p, n_vol, tr_s, tr_from,
                    data.shape[1], kind)

        steps = []
        if cleaning:
            from nilearn import signal

            clean_params = {"detrend": bool(detrend), "standardize": standardize,
                            "high_pass": high_pass, "low_pass": low_pass, "t_r": tr_s,
                            "confounds": conf_desc, "runs": runs is not None}
            # nilearn 0.14 deprecates booleans for standardize; map them to its new spellings.
            std = {False: None, True: "zscore_sample"}.get(standardize, standardize) \
                if isinstance(standardize, bool) else standardize
            data = signal.clean(data, runs=runs, detrend=bool(detrend), standardize=std,
                                confounds=conf_arr, high_pass=high_pass, low_pass=low_pass,
                                t_r=tr_s,
                                filter="butterworth" if (high_pass or low_pass) else False,
                                ).astype(np.float32)
            steps.append({"name": "nilearn.signal.clean", "parameters": clean_params})
            attrs["cleaned"] = clean_params
            logger.info("%s: cleaned with nilearn.signal.clean %s", p, clean_params)

        ts = TimeSeries(data, rate=1.0 / tr_s, channels=channels, modality="bold", name=name,
                        attrs=attrs, **grid)
        params = {"mask": str(mask) if isinstance(mask, str | os.PathLike)
                  else mask is not None,
                  "atlas": str(atlas) if isinstance(atlas, str | os.PathLike)
                  else atlas is not None,
                  "tr": tr, "events": None if events is None else str(events),
                  "detrend": detrend, "standardize": standardize, "high_pass": high_pass,
                  "low_pass": low_pass}
        stem = p.name[:-7] if p.name.lower().endswith(".nii.gz") else p.stem
        return self.recording([ts], path=p, sources=sources, events=ev, subject=subject,
                              session={"id": stem, **dict(session or {})}, parameters=params,
                              steps=steps,
                              packages=("nibabel", "nilearn") if steps else ("nibabel",))


_READER = register(NiftiReader())


@verbose
def read_nifti(
    path: str | os.PathLike,
    *,
    mask: Any = None,
    atlas: Any = None,
    atlas_labels: Any = None,
    tr: float | None = None,
    events: str | os.PathLike | None = None,
    confounds: Any = None,
    detrend: bool = False,
    standardize: bool | str = False,
    high_pass: float | None = None,
    low_pass: float | None = None,
    runs: Any = None,
    subject: Mapping[str, Any] | None = None,
    session: Mapping[str, Any] | None = None,
    name: str = "bold",
    verbose: bool | str | None = None,
) -> Recording:
    """Read a 4-D NIfTI BOLD run into a :class:`~neurodata.Recording`.

    Parameters
    ----------
    path : path-like
        A 4-D ``.nii`` or ``.nii.gz`` image of shape ``(x, y, z, n_volumes)``.
    mask : path-like or nibabel image or None
        3-D brain mask on the run's grid; non-zero voxels are kept.  ``None`` keeps every
        voxel (so :func:`to_nifti` returns the whole image).
    atlas : path-like or nibabel image or None
        Region definition on the run's grid: a 3-D label image (integer per voxel, 0 =
        background; region signal = mean over its voxels, as nilearn's
        ``NiftiLabelsMasker(strategy="mean")``) or a 4-D image of probabilistic maps
        (one per region; signals = least-squares fit of the maps to each volume, as
        ``NiftiMapsMasker``).  With ``mask``, only voxels inside the mask count.
    atlas_labels : mapping or sequence of str or path-like or None
        Region names: ``{value: name}``, names in order of the sorted non-zero values
        (for label images; a leading background name is dropped) or of the maps, or a
        lookup file (TSV with ``index`` and ``name`` columns, or ``value name`` lines).
        ``None`` names regions ``roi001``, ``roi002``, ... by value.
    tr : float or None
        Repetition time in seconds.  ``None`` takes it from a JSON sidecar beside the
        image (``RepetitionTime``), else from the header (``pixdim[4]`` in its
        ``xyzt_units`` time unit: ms and µs are converted to s).
    events : path-like or None
        A BIDS events TSV or a per-volume label file, see :func:`read_fmri_events`.
    confounds : path-like or array of shape (n_volumes, n_confounds) or None
        Nuisance regressors removed with ``nilearn.signal.clean`` (TSV/CSV: every column
        is used, NaN → 0).
    detrend : bool, default=False
        Remove a linear trend (``nilearn.signal.clean``).
    standardize : bool or str, default=False
        Passed to ``nilearn.signal.clean`` (``"zscore_sample"``, ``"psc"``, ``False``).
    high_pass, low_pass : float or None
        Butterworth filter cut-offs in Hz (``nilearn.signal.clean``).
    runs : array of shape (n_volumes,) or None
        Run index of each volume when several runs are concatenated; cleaning is then done
        per run.
    subject, session : mapping or None
        Metadata for the recording (``session`` defaults to ``{"id": <file stem>}``).
    name : str, default="bold"
        Name of the block.
    verbose : bool or str or None
        Logging level for this call.

    Returns
    -------
    Recording
        One block ``name`` of shape ``(n_volumes, n_channels)``, float32, unit ``a.u.``,
        rate ``1 / TR`` Hz, t0 = 0.  Voxel channels are named ``v_<i>_<j>_<k>``, type
        ``voxel``, with positions (voxel centres, metres) in the frame of the sform;
        the block carries ``affine``, ``volume_shape`` and ``voxel_ijk``.  Region
        channels are named after the regions, type ``bold_roi``, with columns
        ``roi_value`` and ``n_voxels``.  Cleaning steps are recorded in provenance
        ``steps``.

    Raises
    ------
    FormatError
        Not a 4-D image; a mask or atlas on another grid (both shapes are named); no TR.
    ValidationError
        Events outside the run, a label file with the wrong number of lines, confounds
        with the wrong number of rows.

    Examples
    --------
    >>> from neurodata.io.nifti import read_nifti
    >>> rec = read_nifti("bold.nii.gz", mask="mask.nii.gz",
    ...                  events="attributes_literal.txt")  # doctest: +SKIP
    >>> rec.timeseries["bold"].shape  # doctest: +SKIP
    (1452, 530)
    """
    return _READER(path, mask=mask, atlas=atlas, atlas_labels=atlas_labels, tr=tr,
                   events=events, confounds=confounds, detrend=detrend,
                   standardize=standardize, high_pass=high_pass, low_pass=low_pass, runs=runs,
                   subject=subject, session=session, name=name)


def _lazy_voxels(img: Any, keep: np.ndarray, n_vox: int) -> LazyRows:
    """(n_volumes, n_voxels) view reading volumes ``[a, b)`` from the image on demand."""
    proxy = img.dataobj
    full = bool(keep.all())

    def read(start: int, stop: int) -> np.ndarray:
        vols = np.asarray(proxy[..., start:stop], dtype=np.float32)
        flat = vols.reshape(-1, stop - start) if full else vols[keep]
        return flat.T

    return LazyRows(None, read=read, shape=(int(img.shape[3]), n_vox), owner=img,
                    path=img.get_filename())


def _atlas_signals(data4, atlas_img, atlas_labels, mask_bool, affine, frame, where):
    """Region signals ``(T, R)`` and their channel table."""
    atlas = np.asanyarray(atlas_img.dataobj)
    if atlas.ndim == 4 and atlas.shape[3] == 1:
        atlas = atlas[..., 0]
    inside = mask_bool if mask_bool is not None else np.ones(atlas.shape[:3], bool)
    if atlas.ndim == 3:
        if not np.all(np.isfinite(atlas)) or not np.all(np.mod(atlas, 1) == 0):
            raise FormatError("3-D atlas holds non-integer or NaN values; expected a label "
                              "image (one integer region value per voxel, 0 = background)",
                              path=where)
        lab = np.rint(atlas).astype(np.int64)
        values = np.unique(lab[lab != 0])
        names = _atlas_names(atlas_labels, values, where)
        series, counts, centres = [], [], []
        kept_names, kept_values = [], []
        for v, nm in zip(values, names, strict=True):
            sel = (lab == v) & inside
            if not sel.any():
                warn(f"{where}: region {nm!r} (value {int(v)}) has no voxel inside the mask; "
                     "it is dropped")
                continue
            vox = np.asarray(data4[sel], dtype=np.float64)  # (n_vox, T)
            series.append(vox.mean(axis=0))
            counts.append(int(sel.sum()))
            centres.append(np.argwhere(sel).mean(axis=0))
            kept_names.append(nm)
            kept_values.append(int(v))
        if not series:
            raise ValidationError("no atlas region has a voxel inside the mask", path=where)
        data = np.stack(series, axis=1).astype(np.float32)
        strategy = "label mean"
    else:
        maps = np.asarray(atlas, dtype=np.float64)
        n_maps = maps.shape[3]
        values = np.arange(1, n_maps + 1)
        names = _atlas_names(atlas_labels, values, where)
        design = maps[inside]  # (V, K)
        vox = np.asarray(data4[inside], dtype=np.float64)  # (V, T)
        coef, *_ = np.linalg.lstsq(design, vox, rcond=None)
        data = coef.T.astype(np.float32)
        counts = [int((design[:, k] != 0).sum()) for k in range(n_maps)]
        ijk = np.argwhere(inside)
        centres = [(ijk * np.abs(design[:, k:k + 1])).sum(0) / max(np.abs(design[:, k]).sum(),
                                                                   1e-12) for k in range(n_maps)]
        kept_names, kept_values = names, values.tolist()
        strategy = "maps least squares"
    centres = np.asarray(centres, dtype=np.float64)
    xyz = (affine[:3, :3] @ centres.T + affine[:3, 3:4]).T * _MM
    channels = make_channels(kept_names, types="bold_roi", units="a.u.", positions=xyz,
                             coord_frame=frame, labels=kept_names, roi_value=kept_values,
                             n_voxels=counts)
    return data, channels, {"atlas_strategy": strategy}


# ---------------------------------------------------------------------------- writing back
def timeseries_to_nifti(ts: TimeSeries, *, fill: float = 0.0, dtype: Any = np.float32):
    """Rebuild a 4-D NIfTI image from a voxel :class:`~neurodata.TimeSeries`.

    Parameters
    ----------
    ts : TimeSeries
        A block with ``affine``, ``volume_shape`` and ``voxel_ijk`` (as read by
        :func:`read_nifti` without an atlas), shape ``(n_volumes, n_voxels)``.
    fill : float, default=0.0
        Value of voxels that are not channels (outside the mask).
    dtype : numpy dtype, default=float32
        Data type of the image.

    Returns
    -------
    nibabel.Nifti1Image of shape volume_shape + (n_volumes,)
        With the block's affine (as sform and qform) and pixdim[4] = 1 / rate seconds.

    Raises
    ------
    ValidationError
        The block has no voxel grid (an atlas/ROI block or a non-fMRI block), or is
        irregularly sampled.

    Examples
    --------
    >>> img = timeseries_to_nifti(rec.timeseries["bold"])  # doctest: +SKIP
    >>> img.to_filename("bold_masked.nii.gz")  # doctest: +SKIP
    """
    import nibabel as nib

    if ts.voxel_ijk is None or ts.affine is None or ts.volume_shape is None:
        raise ValidationError(
            f"block {ts.name!r} has no voxel grid (affine, volume_shape, voxel_ijk); only voxel "
            "blocks read from NIfTI without an atlas can be written back to NIfTI",
            path=ts._path)
    if ts.rate is None:
        raise ValidationError(f"block {ts.name!r} is irregularly sampled; a NIfTI run needs a "
                              "constant TR", path=ts._path)
    values = np.asarray(ts.slice_samples(0, ts.n_times))
    vol = np.full(tuple(ts.volume_shape) + (ts.n_times,), fill, dtype=dtype)
    i, j, k = ts.voxel_ijk.T
    vol[i, j, k, :] = values.T.astype(dtype)
    img = nib.Nifti1Image(vol, ts.affine)
    img.header.set_xyzt_units("mm", "sec")
    zooms = list(img.header.get_zooms()[:3]) + [1.0 / ts.rate]
    img.header.set_zooms(zooms)
    img.header.set_sform(ts.affine, code=1)
    img.header.set_qform(ts.affine, code=1)
    return img


#: Short alias of :func:`timeseries_to_nifti`.
to_nifti = timeseries_to_nifti
