"""Reader for suite2p output folders (one imaging plane: ``plane0/``).

suite2p (Pachitariu et al. 2017, https://github.com/MouseLand/suite2p) writes, per
plane, numpy files of shape ``(n_rois, n_frames)``: ``F.npy`` (ROI fluorescence),
``Fneu.npy`` (surrounding neuropil), ``spks.npy`` (deconvolved activity), plus
``iscell.npy`` ``(n_rois, 2)`` (classifier label, probability), ``stat.npy`` (a
pickled list of per-ROI dicts with ``med`` = (row, column) centre in pixels) and
``ops.npy`` (a pickled dict of settings, ``fs`` = frame rate per plane in Hz).
We read them with ``numpy.load`` and keep the values exactly; ROIs become channels.

The ``(n_rois, n_frames)`` arrays are memory-mapped and stay on disk until sliced or
saved (ΔF/F, ``dff=True``, is computed in memory).  ``ops.npy`` and ``stat.npy`` are
unpickled through an allow-list of plain data types (:mod:`._safe_pickle`): a folder
whose pickles name any other class is refused (there is no opt-in).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..channels import make_channels
from ..errors import FormatError, MissingFileError
from ..log import logger, verbose, warn
from ..recording import Recording
from ..timeseries import TimeSeries
from ._base import Reader, register
from ._lazy import LazyRows
from ._safe_pickle import load_npy_restricted

__all__ = ["read_suite2p", "dff_from_suite2p", "Suite2pReader"]

_BASELINES = ("running_percentile", "percentile")
#: Plausible imaging frame rates (Hz); ops['fs'] outside is a corrupt or foreign file.
FS_RANGE = (1e-3, 1e5)


def _plane_folder(folder: Path) -> Path:
    """The plane folder: ``folder`` itself, or its only ``plane*`` sub-folder."""
    if (folder / "F.npy").exists():
        return folder
    planes = sorted(p for p in folder.glob("plane*") if (p / "F.npy").exists())
    if len(planes) == 1:
        return planes[0]
    if planes:
        raise FormatError(
            f"holds {len(planes)} suite2p planes ({', '.join(p.name for p in planes)}); "
            "expected one plane - pass the plane folder itself (e.g. .../plane0)", path=folder)
    raise FormatError("is not a suite2p plane folder: expected F.npy and ops.npy in it (or in "
                      "one plane*/ sub-folder); found neither", path=folder)


def _load_rois(path: Path, n_rois: int | None) -> np.ndarray:
    """One ``(n_rois, n_frames)`` array, checked."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FormatError(f"could not be read as a numpy array ({exc}); expected a suite2p "
                          "(n_rois, n_frames) .npy file", path=path) from exc
    if arr.ndim != 2 or (n_rois is not None and arr.shape[0] != n_rois):
        want = "(n_rois, n_frames)" if n_rois is None else f"({n_rois}, n_frames) like F.npy"
        raise FormatError(f"has shape {arr.shape}; expected {want} - the plane folder mixes "
                          "files from different runs?", path=path)
    return arr


def _load_pickled(path: Path) -> Any:
    try:
        # ops.npy and stat.npy are pickled by suite2p: unpickled through an allow-list
        return load_npy_restricted(path)
    except FormatError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(f"could not be read ({type(exc).__name__}: {exc}); expected the "
                          "pickled suite2p file", path=path) from exc


def dff_from_suite2p(
    F: np.ndarray,
    Fneu: np.ndarray,
    rate: float,
    *,
    neuropil_coefficient: float = 0.7,
    baseline: str = "running_percentile",
    baseline_window: float = 60.0,
    baseline_percentile: float = 8.0,
) -> np.ndarray:
    """ΔF/F of suite2p traces with neuropil subtraction.

    ``Fc = F - c * Fneu``; ``dF/F = (Fc - F0) / F0`` where ``F0`` is the baseline of
    ``Fc``.  Where ``F0 <= 0`` (neuropil brighter than the ROI) the ratio is undefined
    and set to NaN.

    Parameters
    ----------
    F, Fneu : array of shape (n_rois, n_frames)
        ROI and neuropil fluorescence (a.u.).
    rate : float
        Frame rate in Hz (converts ``baseline_window`` to frames).
    neuropil_coefficient : float, default=0.7
        ``c`` above (suite2p's ``neucoeff``).
    baseline : {"running_percentile", "percentile"}
        ``"running_percentile"``: ``F0[t]`` is the ``baseline_percentile``-th percentile
        of ``Fc`` in a window of ``baseline_window`` seconds centred on ``t`` (edges
        padded with the nearest value), following slow drifts.  ``"percentile"``: one
        ``F0`` per ROI, the percentile of the whole trace.
    baseline_window : float, default=60.0
        Window length in seconds (running baseline only).
    baseline_percentile : float, default=8.0
        Percentile in [0, 100].

    Returns
    -------
    numpy.ndarray of shape (n_rois, n_frames), float32

    Examples
    --------
    >>> import numpy as np
    >>> F = np.full((1, 100), 10.0); F[0, 50] = 20.0
    >>> dff = dff_from_suite2p(F, np.zeros_like(F), 10.0, baseline="percentile")
    >>> float(dff[0, 50])
    1.0
    """
    if baseline not in _BASELINES:
        raise ValueError(f"baseline must be one of {_BASELINES}; got {baseline!r}")
    if not 0 <= baseline_percentile <= 100:
        raise ValueError(f"baseline_percentile must lie in [0, 100]; got {baseline_percentile!r}")
    fc = np.asarray(F, dtype=np.float64) - neuropil_coefficient * np.asarray(Fneu, np.float64)
    if baseline == "percentile":
        f0 = np.percentile(fc, baseline_percentile, axis=1, keepdims=True)
    else:
        from scipy.ndimage import percentile_filter

        width = max(1, int(round(baseline_window * rate)))
        if not baseline_window > 0:
            raise ValueError(f"baseline_window must be > 0 seconds; got {baseline_window!r}")
        f0 = percentile_filter(fc, baseline_percentile, size=(1, width), mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        dff = np.where(f0 > 0, (fc - f0) / f0, np.nan)
    return dff.astype(np.float32)


@verbose
def read_suite2p(
    folder: str | os.PathLike,
    *,
    neuropil_coefficient: float = 0.7,
    dff: bool = False,
    baseline: str = "running_percentile",
    baseline_window: float = 60.0,
    baseline_percentile: float = 8.0,
    use_iscell: bool = True,
    verbose: bool | str | None = None,
) -> Recording:
    """Read one suite2p plane folder into a :class:`~neurodata.Recording`.

    Parameters
    ----------
    folder : path-like
        The plane folder holding ``F.npy`` and ``ops.npy`` (``.../suite2p/plane0``),
        or a folder with exactly one such ``plane*`` sub-folder.
    neuropil_coefficient : float, default=0.7
        Neuropil weight ``c`` used for ΔF/F (ignored when ``dff=False``).
    dff : bool, default=False
        ``False``: the ``calcium`` block holds raw ``F`` (unit ``a.u.``).  ``True``: it
        holds ``(F - c * Fneu - F0) / F0`` (unit ``dF/F``), see
        :func:`dff_from_suite2p`; the baseline settings go into the block's attrs and
        provenance.
    baseline, baseline_window, baseline_percentile
        ΔF/F baseline (see :func:`dff_from_suite2p`).
    use_iscell : bool, default=True
        ``True``: keep only ROIs that suite2p's classifier marked as cells; ``iscell.npy``
        is then required and its absence is an error (we do not guess which ROIs are
        cells).  ``False``: keep every ROI; ``iscell.npy`` is optional.
    verbose : bool or str or None
        Logging level for this call.

    Returns
    -------
    Recording
        Blocks (each ``(n_frames, n_kept_rois)``, rate = ``ops["fs"]`` Hz, t0 = 0):
        ``calcium`` (F or ΔF/F), ``neuropil`` (Fneu, when present) and ``deconvolved``
        (``spks``, when present).  Channels are named ``roi000``, ``roi001``, ... by
        the ROI's row in the suite2p files (so names stay stable when non-cells are
        dropped), type ``neuron``; ``x``, ``y`` are the ROI centre (``stat["med"]``) in
        **pixels** (x = column, y = row), ``z`` the plane index, coord_frame
        ``"image"`` - not metres; extra columns ``roi_index``, ``iscell`` (bool) and
        ``iscell_prob`` (classifier probability, NaN without ``iscell.npy``).

    Raises
    ------
    MissingFileError
        ``F.npy`` or ``ops.npy`` is missing, or ``iscell.npy`` with ``use_iscell=True``,
        or ``Fneu.npy`` with ``dff=True``.
    FormatError
        Arrays of inconsistent shapes, ``ops`` without a plausible ``fs`` (1 mHz to
        100 kHz), pickles holding anything but plain data.

    Examples
    --------
    >>> rec = read_suite2p("suite2p/plane0", dff=True)  # doctest: +SKIP
    >>> rec.timeseries["calcium"].channels[["name", "iscell_prob"]].head(2)  # doctest: +SKIP
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError("no such folder; expected a suite2p plane folder (plane0/)",
                               path=root)
    return _READER(root, neuropil_coefficient=neuropil_coefficient, dff=dff,
                   baseline=baseline, baseline_window=baseline_window,
                   baseline_percentile=baseline_percentile, use_iscell=use_iscell)


class Suite2pReader(Reader):
    """suite2p plane folders (see :func:`read_suite2p`)."""

    name = "suite2p"
    extensions = ("",)
    modality = "calcium imaging"
    library = "numpy.load (memory-mapped)"
    keeps = ("F (or ΔF/F with neuropil correction), Fneu, deconvolved spks, frame rate from "
             "ops['fs'], ROI centres (pixels), iscell label and probability; cells only by "
             "default")
    loader = "neurodata.io.read_suite2p"
    folder = True
    lazy = True

    def sniff(self, path: Path) -> bool:
        return _sniff_suite2p(path)

    def read(self, root: Path, *, neuropil_coefficient: float = 0.7, dff: bool = False,
             baseline: str = "running_percentile", baseline_window: float = 60.0,
             baseline_percentile: float = 8.0, use_iscell: bool = True) -> Recording:
        return _read_plane(self, root, neuropil_coefficient, dff, baseline, baseline_window,
                           baseline_percentile, use_iscell)


def _read_plane(reader: Reader, root: Path, neuropil_coefficient: float, dff: bool,
                baseline: str, baseline_window: float, baseline_percentile: float,
                use_iscell: bool) -> Recording:
    plane = _plane_folder(root)
    for required in ("F.npy", "ops.npy"):
        if not (plane / required).exists():
            raise MissingFileError(f"suite2p plane folder lacks {required}; it is required "
                                   "(re-export the plane from suite2p)", path=plane)
    if use_iscell and not (plane / "iscell.npy").exists():
        raise MissingFileError(
            "suite2p plane folder has no iscell.npy, so cells cannot be told from other ROIs; "
            "pass use_iscell=False to keep every ROI", path=plane / "iscell.npy")
    if dff and not (plane / "Fneu.npy").exists():
        raise MissingFileError("ΔF/F with neuropil correction needs Fneu.npy, which is missing; "
                               "pass dff=False for raw F", path=plane / "Fneu.npy")

    F = _load_rois(plane / "F.npy", None)
    n_rois, n_frames = F.shape
    ops = _load_pickled(plane / "ops.npy")
    ops = ops.item() if isinstance(ops, np.ndarray) and ops.dtype == object and ops.ndim == 0 \
        else ops
    if not isinstance(ops, dict) or "fs" not in ops:
        raise FormatError("expected a pickled dict with the frame rate 'fs' (Hz); found "
                          f"{type(ops).__name__} without 'fs'", path=plane / "ops.npy")
    try:
        rate = float(ops["fs"])
    except (TypeError, ValueError) as exc:
        raise FormatError(f"ops['fs'] = {ops['fs']!r} is not a number; expected the frame "
                          "rate in Hz", path=plane / "ops.npy") from exc
    if not (np.isfinite(rate) and FS_RANGE[0] <= rate <= FS_RANGE[1]):
        raise FormatError(f"ops['fs'] = {ops['fs']!r}; expected a frame rate between "
                          f"{FS_RANGE[0]:g} and {FS_RANGE[1]:g} Hz", path=plane / "ops.npy")
    sources = [plane / "F.npy", plane / "ops.npy"]

    iscell = np.ones(n_rois, bool)
    prob = np.full(n_rois, np.nan)
    if (plane / "iscell.npy").exists():
        ic = np.load(plane / "iscell.npy", allow_pickle=False)
        if ic.ndim == 1:
            ic = ic[:, None]
        if ic.shape[0] != n_rois:
            raise FormatError(f"has {ic.shape[0]} rows; expected one per ROI ({n_rois}, as in "
                              "F.npy)", path=plane / "iscell.npy")
        iscell = ic[:, 0] > 0.5
        if ic.shape[1] > 1:
            prob = ic[:, 1].astype(np.float64)
        sources.append(plane / "iscell.npy")
    elif not use_iscell:
        warn(f"{plane}: no iscell.npy; keeping all {n_rois} ROIs (cells and non-cells)")

    pos = np.full((n_rois, 3), np.nan)
    if (plane / "stat.npy").exists():
        stat = _load_pickled(plane / "stat.npy")
        if len(stat) != n_rois:
            raise FormatError(f"holds {len(stat)} ROI entries; expected {n_rois} as in F.npy",
                              path=plane / "stat.npy")
        for i, s in enumerate(stat):
            med = s.get("med") if isinstance(s, dict) else None
            try:
                if med is not None and len(med) >= 2:
                    pos[i, 0], pos[i, 1] = float(med[1]), float(med[0])  # med is (row, col)
                pos[i, 2] = float(s.get("iplane", 0)) if isinstance(s, dict) else np.nan
            except (TypeError, ValueError) as exc:
                raise FormatError(f"ROI {i}: 'med'/'iplane' are not numbers ({exc})",
                                  path=plane / "stat.npy") from exc
        sources.append(plane / "stat.npy")
    else:
        logger.info("%s: no stat.npy; ROI positions unknown (NaN)", plane)

    keep = np.flatnonzero(iscell) if use_iscell else np.arange(n_rois)
    logger.info("%s: %d ROIs, %d frames at %g Hz; keeping %d", plane, n_rois, n_frames, rate,
                keep.size)

    def channels(unit: str):
        return make_channels(
            [f"roi{i:03d}" for i in keep], types="neuron", units=unit, positions=pos[keep],
            coord_frame="image", labels=[f"roi{i:03d}" for i in keep],
            roi_index=keep.tolist(), iscell=iscell[keep].tolist(), iscell_prob=prob[keep].tolist(),
        )

    params = {"neuropil_coefficient": neuropil_coefficient, "dff": dff, "baseline": baseline,
              "baseline_window": baseline_window, "baseline_percentile": baseline_percentile,
              "use_iscell": use_iscell}
    block_attrs: dict[str, Any] = {"source": "suite2p", "position_units": "pixels",
                                   "n_rois_in_source": int(n_rois)}
    Fneu = None
    if (plane / "Fneu.npy").exists():
        Fneu = _load_rois(plane / "Fneu.npy", n_rois)
        if Fneu.shape != F.shape:
            raise FormatError(f"has shape {Fneu.shape}; expected {F.shape} like F.npy",
                              path=plane / "Fneu.npy")
        sources.append(plane / "Fneu.npy")
    if dff:
        data = dff_from_suite2p(F[keep], Fneu[keep], rate,
                                neuropil_coefficient=neuropil_coefficient, baseline=baseline,
                                baseline_window=baseline_window,
                                baseline_percentile=baseline_percentile)
        n_nan = int(np.isnan(data).sum())
        if n_nan:
            warn(f"{plane}: ΔF/F undefined (baseline <= 0) at {n_nan} samples; set to NaN")
        calcium = TimeSeries(data.T, rate=rate, channels=channels("dF/F"), modality="calcium",
                             name="calcium",
                             attrs={**block_attrs, "signal": "dF/F", "dff": {
                                 "formula": "(F - c*Fneu - F0) / F0", "c": neuropil_coefficient,
                                 "baseline": baseline, "baseline_window_s": baseline_window,
                                 "baseline_percentile": baseline_percentile}})
    else:
        calcium = TimeSeries(_lazy(F, keep), rate=rate, channels=channels("a.u."),
                             modality="calcium", name="calcium",
                             attrs={**block_attrs, "signal": "F"}, _path=str(plane / "F.npy"))
    blocks = [calcium]
    if Fneu is not None:
        blocks.append(TimeSeries(_lazy(Fneu, keep), rate=rate, channels=channels("a.u."),
                                 modality="calcium", name="neuropil",
                                 attrs={**block_attrs, "signal": "Fneu"}))
    if (plane / "spks.npy").exists():
        spks = _load_rois(plane / "spks.npy", n_rois)
        if spks.shape != F.shape:
            raise FormatError(f"has shape {spks.shape}; expected {F.shape} like F.npy",
                              path=plane / "spks.npy")
        blocks.append(TimeSeries(_lazy(spks, keep), rate=rate, channels=channels("a.u."),
                                 modality="calcium", name="deconvolved",
                                 attrs={**block_attrs, "signal": "spks (deconvolved)"}))
        sources.append(plane / "spks.npy")

    known = {"F.npy", "Fneu.npy", "spks.npy", "iscell.npy", "stat.npy", "ops.npy"}
    skipped = sorted(p.name for p in plane.iterdir() if p.is_file() and p.name not in known)
    return reader.recording(blocks, path=plane, sources=sources, parameters=params,
                            packages=("scipy",) if dff else (), skipped=skipped,
                            session={"id": plane.parent.name or plane.name})


def _lazy(arr: np.ndarray, keep: np.ndarray) -> LazyRows:
    """(n_frames, n_kept) view of an (n_rois, n_frames) memory map."""
    return LazyRows(arr, time_axis=1, columns=None if keep.size == arr.shape[0] else keep,
                    path=getattr(arr, "filename", None))


def _sniff_suite2p(path: Path) -> bool:
    return (path / "F.npy").exists() and (path / "ops.npy").exists() or any(
        (p / "F.npy").exists() and (p / "ops.npy").exists() for p in path.glob("plane*"))


_READER = register(Suite2pReader())
