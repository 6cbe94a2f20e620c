"""Make a set of recordings comparable: common rate, channel vocabulary, normalisation.

:func:`homogenize` is a function from recordings to new recordings (never an in-place
edit); each output's provenance names its parent and the steps applied.  The model is
the homogenised C. elegans collection (many labs' recordings mapped to one neuron list
at one rate, normalised) described in ../shared/PAPERS.md.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from .channels import make_channels
from .errors import ValidationError
from .log import logger, verbose
from .provenance import sha256_file
from .recording import Recording, open_recording
from .timeseries import TimeSeries
from .vocabularies import normalize_eeg_name, vocabulary

__all__ = ["homogenize", "resample_polyphase", "normalize_channels"]


def resample_polyphase(x: np.ndarray, rate_in: float, rate_out: float,
                       max_denominator: int = 1000) -> np.ndarray:
    """Resample along axis 0 with scipy's anti-aliased polyphase filter.

    The ratio ``rate_out / rate_in`` is approximated by a fraction with denominator
    ≤ ``max_denominator``; if that changes the rate by more than 1e-6 (relative) an
    error says so rather than silently shifting time.  NaNs (missing channels) stay NaN.
    """
    ratio = Fraction(rate_out / rate_in).limit_denominator(max_denominator)
    if abs(float(ratio) * rate_in - rate_out) > 1e-6 * rate_out:
        raise ValidationError(f"cannot resample {rate_in:g} Hz to {rate_out:g} Hz exactly with "
                              f"a rational factor of denominator <= {max_denominator}")
    if ratio == 1:
        return x.astype(np.float32, copy=True)
    nan_cols = np.all(np.isnan(x), axis=0)
    y = signal.resample_poly(np.nan_to_num(x), ratio.numerator, ratio.denominator, axis=0)
    y[:, nan_cols] = np.nan
    return y.astype(np.float32)


def normalize_channels(x: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel normalisation over time: ``"zscore"`` (mean, std) or ``"robust"``
    (median, IQR / 1.349, so a Gaussian channel gets unit scale).  Returns
    ``(normalised, centre, scale)``; constant channels keep scale 1."""
    if method not in ("zscore", "robust"):
        raise ValueError(f"normalize must be None, 'zscore' or 'robust'; got {method!r}")
    with warnings.catch_warnings():  # all-NaN (missing) channels stay NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "zscore":
            centre = np.nanmean(x, axis=0)
            scale = np.nanstd(x, axis=0)
        else:
            centre = np.nanmedian(x, axis=0)
            q75, q25 = np.nanpercentile(x, [75, 25], axis=0)
            scale = (q75 - q25) / 1.349
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return ((x - centre) / scale).astype(np.float32), centre, scale


def _as_recording(item: Recording | str | os.PathLike) -> tuple[Recording, dict[str, Any]]:
    if isinstance(item, Recording):
        rec = item
    else:
        rec = open_recording(item)
    if rec.path:
        parent = {"path": str(Path(rec.path).absolute()), "sha256": sha256_file(rec.path)}
    else:
        parent = {"path": None, "sources": [s.get("sha256") for s in
                                            rec.provenance.get("sources", [])],
                  "loader": rec.provenance.get("loader")}
    return rec, parent


def _pick_block(rec: Recording, block: str | None) -> TimeSeries:
    if block is None:
        if len(rec.timeseries) != 1:
            raise ValidationError(f"recording has blocks {list(rec.timeseries)}; pass block=... "
                                  "to say which one to homogenize", path=rec.path)
        return next(iter(rec.timeseries.values()))
    if block not in rec.timeseries:
        raise ValidationError(f"no time series {block!r}; blocks are {list(rec.timeseries)}",
                              path=rec.path)
    return rec.timeseries[block]


def _normalizer(kind: str):
    if kind == "eeg":
        return normalize_eeg_name
    if kind == "celegans":
        from .celegans_names import normalize_neuron_name

        return normalize_neuron_name
    return lambda n: n


def _regular_data(ts: TimeSeries, rate: float | None) -> tuple[np.ndarray, float, float, str]:
    """Samples on a regular grid: resampled (polyphase) or interpolated (irregular)."""
    x = np.asarray(ts.load()._data, dtype=np.float64)
    if ts.is_regular:
        if rate is None or rate == ts.rate:
            return x, ts.rate, ts.t0, "none"
        return resample_polyphase(x, ts.rate, rate), rate, ts.t0, "polyphase"
    if rate is None:
        raise ValidationError(f"time series {ts.name!r} is irregularly sampled; give rate= to "
                              "put it on a regular grid")
    t = ts.timestamps
    grid = np.arange(t[0], t[-1] + 0.5 / rate, 1.0 / rate)
    grid = grid[grid <= t[-1]]
    out = np.column_stack([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])])
    return out.astype(np.float32), rate, float(t[0]), "linear interpolation"


@verbose
def homogenize(
    recordings: Sequence[Recording | str | os.PathLike],
    *,
    block: str | None = None,
    rate: float | None = None,
    channels: str | Iterable[str] | None = None,
    normalize: str | None = None,
    verbose: bool | str | None = None,
) -> list[Recording]:
    """Put recordings on a common rate, channel vocabulary and scale.

    Parameters
    ----------
    recordings : sequence of Recording or path-like
        In-memory recordings or ``.h5`` files.
    block : str or None
        Name of the time series to homogenize (e.g. ``"eeg"``, ``"calcium"``); may be
        omitted when every recording has a single block.
    rate : float or None
        Target rate in Hz.  Regular series are resampled with an anti-aliased
        polyphase filter (:func:`resample_polyphase`); irregular ones are linearly
        interpolated onto the grid.  ``None`` requires all rates to be equal already.
    channels : {"10-20", "10-10", "celegans", "union", "intersection"}, list or None
        Target channel list.  Names are normalised before matching (EEG: "Fc5." →
        "FC5", "T3" → "T7"; C. elegans: canonical neuron names).  Channels outside the
        vocabulary are dropped; vocabulary channels a recording lacks are filled with
        NaN and marked ``present=False`` in the channel table (the mask).  ``None``
        keeps each recording's own channels.
    normalize : {None, "zscore", "robust"}
        Per-channel normalisation over the recording.
    verbose : bool or str or None

    Returns
    -------
    list of Recording
        New in-memory recordings holding the homogenized block (named as before),
        the original events and spikes, and provenance naming the parent file (path
        and sha256) and the steps applied.

    Examples
    --------
    >>> import neurodata as nd
    >>> recs = [nd.load_sample("eegmmidb_s001r04")]
    >>> out = nd.homogenize(recs, block="eeg", rate=100.0, channels="10-20",
    ...                     normalize="zscore")
    >>> out[0].timeseries["eeg"].shape
    (12500, 19)
    """
    if not recordings:
        raise ValidationError("homogenize needs at least one recording")
    loaded = [_as_recording(r) for r in recordings]
    blocks = [_pick_block(rec, block) for rec, _ in loaded]
    if rate is None:
        rates = {b.rate for b in blocks}
        if len(rates) > 1 or None in rates:
            raise ValidationError(f"recordings have different or irregular rates "
                                  f"{sorted(map(str, rates))}; give rate= to resample them")
    kind = "exact"
    vocab: list[str] | None = None
    if isinstance(channels, str) and channels in ("union", "intersection"):
        names = [list(b.ch_names) for b in blocks]
        vocab = list(dict.fromkeys(n for ns in names for n in ns))
        if channels == "intersection":
            common = set.intersection(*(set(ns) for ns in names))
            vocab = [n for n in vocab if n in common]
    elif channels is not None:
        vocab, kind = vocabulary(channels)
    norm_name = _normalizer(kind)
    out = []
    for (rec, parent), ts in zip(loaded, blocks, strict=True):
        x, new_rate, t0, how = _regular_data(ts, rate)
        table = ts.channels.copy()
        steps: list[dict[str, Any]] = [{"name": "resample", "parameters": {
            "from_hz": ts.rate, "to_hz": new_rate, "method": how}}] if how != "none" else []
        if vocab is not None:
            mapped = [norm_name(n) for n in ts.ch_names]
            index = {m: i for i, m in enumerate(mapped) if m is not None}
            dropped = [n for n, m in zip(ts.ch_names, mapped, strict=True)
                       if m is None or m not in vocab]
            present = np.array([v in index for v in vocab])
            new_x = np.full((x.shape[0], len(vocab)), np.nan, dtype=np.float32)
            cols = [index[v] for v in vocab if v in index]
            new_x[:, present] = x[:, cols]
            rows = []
            for v, here in zip(vocab, present, strict=True):
                if here:
                    row = table.iloc[index[v]].to_dict()
                    row["original_name"] = row["name"]
                else:
                    row = make_channels([v], types=table["type"].mode().iat[0] if len(table)
                                        else "misc", units=table["unit"].mode().iat[0] if
                                        len(table) else "a.u.").iloc[0].to_dict()
                    row["original_name"] = ""
                row["name"] = v
                row["present"] = bool(here)
                rows.append(row)
            table = pd.DataFrame(rows)
            x = new_x
            steps.append({"name": "channel_vocabulary", "parameters": {
                "vocabulary": channels if isinstance(channels, str) else "custom",
                "n_present": int(present.sum()), "n_missing": int((~present).sum()),
                "dropped": dropped}})
            if dropped:
                logger.info("%s: dropped channels outside the vocabulary: %s",
                            rec.session.get("id"), dropped)
        else:
            table["present"] = True
        if normalize is not None:
            x, centre, scale = normalize_channels(np.asarray(x, dtype=np.float64), normalize)
            table["norm_centre"] = centre
            table["norm_scale"] = scale
            steps.append({"name": "normalize", "parameters": {"method": normalize}})
        new_ts = TimeSeries(x.astype(np.float32), rate=new_rate, t0=t0, channels=table,
                            modality=ts.modality, name=ts.name, attrs=dict(ts.attrs))
        prov = copy.deepcopy(rec.provenance)
        prov["parents"] = [parent]
        prov["steps"] = list(prov.get("steps", [])) + [
            {"name": "homogenize", "parameters": {"block": ts.name, "rate": rate,
                                                   "channels": channels if isinstance(
                                                       channels, str | None) else list(channels),
                                                   "normalize": normalize}}] + steps
        out.append(Recording([new_ts], spikes=rec.spikes, events=rec.events,
                             subject=rec.subject, session=rec.session,
                             connectivity=rec.connectivity, provenance=prov))
    return out
