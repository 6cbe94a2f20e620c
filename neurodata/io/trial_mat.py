"""Trial-structured calcium imaging saved from MATLAB as ``D`` / ``TE`` / ``t``.

The layout of the GLM sample data of Park et al. (2024) (mouse V1, two-photon
calcium imaging, drifting gratings; github.com/surlab/Park_et_al, ``sample-data/glm``):

- ``D``: a struct with one field per neuron (``neuron1`` .. ``neuronN``) plus
  behaviour fields (``pupil_zscore``, ``speed``), each a cell of ``n_trials`` vectors
  of ``n_samples`` values (one window around each stimulus onset);
- ``TE``: trial information, ``direction`` (one grating direction in degrees per
  trial), ``dt`` (sample interval, s) and ``nTrials``;
- ``t``: the window's sample times relative to stimulus onset (s), e.g. -1 .. 2.

The file holds only the peri-stimulus windows, not the time between trials.  The
reader lays the trials back to back on one timeline (trial ``k`` starts at
``k * n_samples * dt``), so times *within* a trial are real and times *across* trials
are not; this is stated in the block attrs and in provenance.  Each trial becomes
one event at its stimulus onset (label ``grating``, value and column ``direction`` in
degrees, column ``trial``).

Reference: Park J, et al. (2024), mouse V1 two-photon calcium imaging with pupil and
locomotion (surlab/Park_et_al, MIT licence).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..channels import make_channels
from ..errors import FormatError
from ..events import Events
from ..log import logger, verbose
from ..recording import Recording
from ..timeseries import TimeSeries
from ._base import Reader, register
from ._isolate import safe_loadmat

__all__ = ["read_trial_calcium", "TrialCalciumReader"]

_NEURON = re.compile(r"^neuron(\d+)$")
_BEHAVIOUR = ("speed", "pupil_zscore")
# 230803_mrcuts24_fov1_grat-000_data.mat → date, animal, field of view, stimulus block
_NAME = re.compile(r"^(?P<date>\d{6})_(?P<animal>[A-Za-z]+\d+)_(?P<fov>fov\d+)_"
                   r"(?P<block>[^_]+?)(?:_data)?$")
GAP_NOTE = ("the file holds peri-stimulus windows only; trials are laid back to back, so "
            "inter-trial gaps are not represented and times across trials are not real time")


def _sniff(path: Path) -> bool:
    from scipy.io import whosmat

    try:
        names = {w[0]: w[2] for w in whosmat(path)}
    except Exception:  # not a MATLAB v5 file (v7.3/HDF5 or garbage): not this layout
        return False
    return names.get("D") == "struct" and names.get("TE") == "struct"


def _trials(cell: Any, field: str, path: Path) -> np.ndarray:
    """A cell of trial vectors → (n_trials, n_samples) float array."""
    items = np.atleast_1d(cell)
    if items.dtype != object:  # one trial, or already a numeric matrix
        arr = np.atleast_2d(np.asarray(items, dtype=np.float64))
        return arr
    try:
        rows = [np.asarray(x, dtype=np.float64).ravel() for x in items.ravel()]
    except (TypeError, ValueError) as exc:
        raise FormatError(f"D.{field} holds non-numeric trials ({exc}); expected a cell of "
                          "numeric vectors, one per trial", path=path) from exc
    widths = {r.size for r in rows}
    if len(widths) != 1:
        raise FormatError(f"D.{field} has trials of different lengths {sorted(widths)[:5]}; "
                          "expected one window of equal length per trial", path=path)
    return np.stack(rows)


class TrialCalciumReader(Reader):
    """Reader of the ``D`` / ``TE`` / ``t`` trial layout (see the module docstring)."""

    name = "trial calcium (MAT D/TE)"
    extensions = (".mat",)
    modality = "calcium + behaviour"
    library = "scipy.io.loadmat"
    keeps = ("D.neuron* → calcium block (neurons as channels), D.speed / D.pupil_zscore → "
             "behavior block, trials back to back on one timeline, one event per trial "
             "(direction in degrees), subject/session from the file name")
    loader = "neurodata.io.read_trial_calcium"
    packages = ("scipy",)

    def sniff(self, path: Path) -> bool:
        return _sniff(path)

    def read(self, path: Path, **options: Any) -> Recording:
        mat = safe_loadmat(path, squeeze_me=True, struct_as_record=False)
        D, TE = mat["D"], mat["TE"]
        for var, obj in (("D", D), ("TE", TE)):
            if not hasattr(obj, "_fieldnames"):
                raise FormatError(f"variable {var} is a {type(obj).__name__}, expected a "
                                  "1x1 struct", path=path)
        fields = list(D._fieldnames)
        neurons = sorted((f for f in fields if _NEURON.match(f)),
                         key=lambda f: int(_NEURON.match(f).group(1)))
        if not neurons:
            raise FormatError(f"D has fields {fields[:8]} but no neuron1..neuronN; expected "
                              "one field per neuron", path=path)
        if "direction" not in TE._fieldnames or "dt" not in TE._fieldnames:
            raise FormatError(f"TE has fields {list(TE._fieldnames)}; expected 'direction' "
                              "and 'dt'", path=path)
        dt = float(np.asarray(TE.dt).ravel()[0])
        if not (np.isfinite(dt) and 1e-6 <= dt <= 3600):
            raise FormatError(f"TE.dt is {dt!r} s; expected a sample interval between 1 µs "
                              "and 1 h", path=path)
        calcium = np.stack([_trials(getattr(D, f), f, path) for f in neurons], axis=-1)
        n_trials, n_samples, _ = calcium.shape
        direction = np.asarray(TE.direction, dtype=np.float64).ravel()
        if direction.size != n_trials:
            raise FormatError(f"TE.direction has {direction.size} entries for {n_trials} "
                              "trials; expected one direction per trial", path=path)
        t_rel = np.asarray(mat.get("t", np.arange(n_samples) * dt), dtype=np.float64).ravel()
        if t_rel.size != n_samples:
            raise FormatError(f"t has {t_rel.size} samples but each trial {n_samples}; "
                              "expected the window's sample times", path=path)
        if n_samples > 1 and not np.allclose(np.diff(t_rel), dt, rtol=1e-3):
            raise FormatError(f"t steps by {np.diff(t_rel)[:3]} s but TE.dt is {dt} s; "
                              "expected the same sample interval", path=path)
        skipped = [f"D.{f}" for f in fields if f not in neurons and f not in _BEHAVIOUR]
        skipped += [f"TE.{f}" for f in TE._fieldnames if f not in ("direction", "dt",
                                                                   "nTrials")]
        skipped += [k for k in mat if not k.startswith("__") and k not in ("D", "TE", "t")]
        if "nTrials" in TE._fieldnames and int(np.ravel(TE.nTrials)[0]) != n_trials:
            raise FormatError(f"TE.nTrials is {int(np.ravel(TE.nTrials)[0])} but the cells "
                              f"hold {n_trials} trials", path=path)

        rate = 1.0 / dt
        stats = {"mean": float(np.nanmean(calcium)), "std": float(np.nanstd(calcium))}
        attrs = {"layout": "trials back to back", "trial_samples": int(n_samples),
                 "n_trials": int(n_trials), "window_s": [float(t_rel[0]), float(t_rel[-1])],
                 "gaps": GAP_NOTE,
                 "values": ("as stored; the file states no unit (mean "
                            f"{stats['mean']:.3g}, std {stats['std']:.3g}: z-scored or "
                            "baseline-subtracted fluorescence)")}
        blocks = [TimeSeries(calcium.reshape(n_trials * n_samples, len(neurons))
                             .astype(np.float32),
                             rate=rate, modality="calcium", name="calcium", attrs=attrs,
                             channels=make_channels(neurons, types="neuron", units="a.u."))]
        present = [f for f in _BEHAVIOUR if f in fields]
        if present:
            beh = np.stack([_trials(getattr(D, f), f, path) for f in present], axis=-1)
            if beh.shape[:2] != (n_trials, n_samples):
                raise FormatError(f"behaviour fields have {beh.shape[:2]} trials x samples; "
                                  f"the neurons {(n_trials, n_samples)}", path=path)
            units = ["z-score" if f.endswith("zscore") else "a.u." for f in present]
            blocks.append(TimeSeries(beh.reshape(n_trials * n_samples, len(present))
                                     .astype(np.float32), rate=rate, modality="behavior",
                                     name="behavior", attrs={**attrs, "values": "as stored"},
                                     channels=make_channels(present, types="behavior",
                                                            units=units)))
        onset_index = int(np.argmin(np.abs(t_rel)))
        trial = np.arange(n_trials)
        onsets = (trial * n_samples + onset_index) * dt
        if not np.all(np.mod(direction, 1) == 0):
            raise FormatError(f"TE.direction holds non-integer values {direction[:4]}; "
                              "expected degrees", path=path)
        events = Events(onset=onsets, duration=0.0, label=["grating"] * n_trials,
                        value=direction.astype(np.int64), direction=direction.astype(np.int64),
                        trial=trial, trial_start=trial * n_samples * dt)
        m = _NAME.match(path.stem)
        subject = {"id": m["animal"] if m else path.stem, "species": "Mus musculus"}
        session: dict[str, Any] = {"id": (f"{m['date']}_{m['animal']}_{m['fov']}" if m
                                          else path.stem)}
        if m:
            session.update(field_of_view=m["fov"], stimulus_block=m["block"],
                           date_yymmdd=m["date"])
        logger.info("%s: %d neurons x %d trials x %d samples at %g Hz", path.name,
                    len(neurons), n_trials, n_samples, rate)
        return self.recording(blocks, path=path, events=events, subject=subject, session=session,
                              parameters={"layout": "trials back to back", "gaps": GAP_NOTE,
                                          "trial_samples": int(n_samples),
                                          "stimulus_onset_sample": onset_index},
                              skipped=skipped)


_READER = register(TrialCalciumReader())


@verbose
def read_trial_calcium(path: str | os.PathLike, *, verbose: bool | str | None = None
                       ) -> Recording:
    """Read a trial-structured calcium ``.mat`` (``D`` / ``TE`` / ``t``; Park et al. 2024).

    Parameters
    ----------
    path : path-like
        MATLAB v5 file with the struct ``D`` (``neuron1..N``, ``speed``,
        ``pupil_zscore``: cells of trial windows) and ``TE`` (``direction``, ``dt``).
    verbose : bool or str or None

    Returns
    -------
    Recording
        ``calcium`` block (n_trials * n_samples, n_neurons), channels ``neuron1..``,
        type ``neuron``, unit ``a.u.``; ``behavior`` block (speed, pupil_zscore);
        trials back to back (see the module docstring: the inter-trial gaps are not in
        the file); one ``grating`` event per trial at stimulus onset with ``value`` and
        ``direction`` = direction in degrees and ``trial`` = trial index.  Subject id
        (``mrcuts24``) and session id (``230803_mrcuts24_fov1``) from the file name.

    Examples
    --------
    >>> rec = read_trial_calcium("230803_mrcuts24_fov1_grat-000_data.mat")  # doctest: +SKIP
    >>> rec.timeseries["calcium"].shape  # doctest: +SKIP
    (6272, 28)
    """
    return _READER(path)
