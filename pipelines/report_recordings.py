"""Report sections for one recording: data summary, PSD with checks, traces, raster.

Signals are shown in the units people read them in (EEG/sEEG/ECoG µV, MEG magnetometers
fT, gradiometers fT/cm); the checks are simple, stated rules: line noise is the power at
50/60 Hz over the median of its ±1–3 Hz flanks (flagged above 10 dB), a bad-channel
candidate has 1–45 Hz log-power more than 5 robust SDs from the median channel, or is flat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .report import ReportSection, figure_to_png

__all__ = ["recording_sections", "DISPLAY_UNITS", "psd_checks"]

#: channel unit (SI) -> (display unit, factor)
DISPLAY_UNITS = {"V": ("µV", 1e6), "T": ("fT", 1e15), "T/m": ("fT/cm", 1e13)}

_SIGNAL_TYPES = {"eeg", "meg", "grad", "mag", "seeg", "ecog", "eog", "ecg", "emg"}


def _display(unit: str) -> tuple[str, float]:
    return DISPLAY_UNITS.get(unit, (unit or "a.u.", 1.0))


def _groups(ts) -> list[tuple[str, np.ndarray, str]]:
    """(channel type, column indices, SI unit) for each signal type in a block."""
    ch = ts.channels.reset_index(drop=True)
    out = []
    for kind in dict.fromkeys(ch["type"]):
        idx = np.flatnonzero(ch["type"].to_numpy() == kind)
        units = ch["unit"].iloc[idx]
        out.append((str(kind), idx, str(units.iloc[0]) if len(units) else ""))
    return out


def psd_checks(x: np.ndarray, rate: float, names: list[str], *,
               line_noise: tuple[float, ...] = (50.0, 60.0)) -> dict[str, Any]:
    """Welch PSD (2-s windows) per channel, line-noise ratios and bad-channel candidates.

    Parameters
    ----------
    x : ndarray of shape (n_times, n_channels)
    rate : float
        Sampling rate in Hz.
    names : list of str
    line_noise : tuple of float
        Mains frequencies to check (those below Nyquist - 3 Hz).

    Returns
    -------
    dict
        ``freqs``, ``psd`` (n_channels, n_freqs), ``line`` {f0: dB over flanks, median over
        channels}, ``bad`` list of (name, reason).
    """
    from scipy import signal

    nper = int(min(len(x), max(8, round(2 * rate))))
    freqs, psd = signal.welch(np.nan_to_num(x), fs=rate, nperseg=nper, axis=0)
    psd = psd.T  # (C, F)
    line = {}
    for f0 in line_noise:
        if f0 + 3 >= rate / 2 or freqs[1] - freqs[0] > 1.0:
            continue
        peak = psd[:, np.abs(freqs - f0) <= 0.5].max(axis=1)
        flank = (np.abs(np.abs(freqs - f0) - 2) <= 1)
        ref = np.median(psd[:, flank], axis=1)
        ratio = 10 * np.log10(np.maximum(peak, 1e-300) / np.maximum(ref, 1e-300))
        line[f0] = float(np.median(ratio))
    band = (freqs >= 1) & (freqs <= min(45.0, rate / 2 - 1))
    bad = []
    sd = np.nanstd(x, axis=0)
    for i in np.flatnonzero(~(sd > 0)):
        bad.append((names[i], "flat (zero variance)"))
    if band.sum() >= 2 and psd.shape[0] >= 4:
        lp = np.log10(np.maximum(psd[:, band].mean(axis=1), 1e-300))
        ok = sd > 0
        med = np.median(lp[ok])
        mad = 1.4826 * np.median(np.abs(lp[ok] - med)) or 1e-9
        z = (lp - med) / mad
        for i in np.flatnonzero(ok & (np.abs(z) > 5)):
            bad.append((names[i], f"1-45 Hz power {z[i]:+.1f} robust SD from the median"))
    return {"freqs": freqs, "psd": psd, "line": line, "bad": bad}


def _psd_figure(groups: list[tuple[str, dict, str, float]], line_noise) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.4), squeeze=False)
    for ax, (kind, chk, unit, factor) in zip(axes[0], groups, strict=True):
        f, p = chk["freqs"], chk["psd"] * factor ** 2
        keep = f > 0
        lo, med, hi = np.percentile(p[:, keep], [10, 50, 90], axis=0)
        ax.fill_between(f[keep], lo, hi, color="C0", alpha=0.25, label="10-90% of channels")
        ax.semilogy(f[keep], med, color="C0", lw=1.2, label="median channel")
        for name, _ in chk["bad"][:5]:
            j = chk["names"].index(name)
            ax.semilogy(f[keep], p[j, keep], color="C3", lw=0.7, alpha=0.8)
        for f0 in line_noise:
            if f0 < f[-1]:
                ax.axvline(f0, color="0.5", ls=":", lw=1)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel(f"PSD ({unit}²/Hz)")
        ax.set_title(f"{kind}: {p.shape[0]} channels" + (" (red: flagged)" if chk["bad"]
                                                         else ""))
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return figure_to_png(fig)


def _traces_figure(x: np.ndarray, t: np.ndarray, names: list[str], unit: str,
                   title: str) -> bytes:
    import matplotlib.pyplot as plt

    n = x.shape[1]
    fig, ax = plt.subplots(figsize=(11, min(1.2 + 0.13 * n, 14)))
    x = x - np.nanmedian(x, axis=0)
    spread = np.nanpercentile(np.abs(x), 99) or 1.0
    offs = np.arange(n)[::-1] * spread * 1.2
    ax.plot(t, x + offs, lw=0.5, color="k")
    step = max(1, n // 40)
    ax.set_yticks(offs[::step], [names[i] for i in range(0, n, step)], fontsize=6)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time (s)")
    ax.set_title(f"{title}; vertical spacing {spread * 1.2:.3g} {unit}")
    fig.tight_layout()
    return figure_to_png(fig)


def _heatmap_figure(x: np.ndarray, t: np.ndarray, names: list[str], unit: str,
                    title: str) -> bytes:
    import matplotlib.pyplot as plt

    n = x.shape[1]
    fig, ax = plt.subplots(figsize=(11, min(2 + 0.09 * n, 12)))
    lim = np.nanpercentile(np.abs(x), 99) or 1.0
    im = ax.imshow(x.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(t[0], t[-1], n - 0.5, -0.5), interpolation="nearest")
    step = max(1, n // 50)
    ax.set_yticks(range(0, n, step), [names[i] for i in range(0, n, step)], fontsize=5)
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=unit, fraction=0.03)
    fig.tight_layout()
    return figure_to_png(fig)


def _raster_figure(sp, t0: float, t1: float, behaviour: tuple | None) -> bytes:
    import matplotlib.pyplot as plt

    rows = 2 if behaviour is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(11, 5 if rows == 2 else 4), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [3, 1][:rows]})
    ax = axes[0, 0]
    names = list(sp.unit_names)
    sel = (sp.times >= t0) & (sp.times < t1)
    ax.scatter(sp.times[sel], sp.unit_index[sel], s=2, marker="|", color="k", lw=0.6)
    step = max(1, len(names) // 30)
    ax.set_yticks(range(0, len(names), step), names[::step], fontsize=6)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_title(f"spike raster: {len(names)} units, {int(sel.sum())} spikes in "
                 f"{t0:.0f}-{t1:.0f} s")
    if behaviour is not None:
        bt, bx, label = behaviour
        m = (bt >= t0) & (bt < t1)
        axes[1, 0].plot(bt[m], bx[m], color="C0", lw=0.8)
        axes[1, 0].set_ylabel(label)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return figure_to_png(fig)


def recording_sections(name: str, h5: Path, validation: str, *, trace_seconds: float = 5.0,
                       line_noise: tuple[float, ...] = (50.0, 60.0),
                       source: str = "") -> list[ReportSection]:
    """The report sections of one converted recording (read lazily from ``h5``)."""
    import neurodata as nd

    rows, checks_rows, figures = [], [], []
    with nd.open(h5) as rec:
        events = rec.events
        counts = events["label"].value_counts().to_dict() if len(events) else {}
        for ts in rec.timeseries.values():
            for kind, idx, unit in _groups(ts):
                dunit, factor = _display(unit)
                rows.append({
                    "block": ts.name, "channel type": kind, "channels": len(idx),
                    "rate (Hz)": round(ts.rate, 3) if ts.is_regular else "irregular",
                    "duration (s)": round(ts.duration, 2),
                    "unit shown": dunit, "marked bad": int(ts.channels["bad"].iloc[idx].sum()),
                })
        for sp in rec.spikes.values():
            rows.append({"block": sp.name, "channel type": "spike units",
                         "channels": sp.n_units, "rate (Hz)": "events",
                         "duration (s)": round(sp.t_stop - sp.t_start, 2),
                         "unit shown": "spikes", "marked bad": 0})
        # PSD + checks + traces for regularly sampled electrophysiology
        for ts in rec.timeseries.values():
            groups = [g for g in _groups(ts) if g[0] in _SIGNAL_TYPES]
            if not (ts.is_regular and groups and ts.rate >= 20):
                continue
            t_end = min(ts.t_end, ts.t0 + 60.0)  # a minute is plenty for a spectrum
            x = ts.slice(ts.t0, t_end)
            names = list(ts.ch_names)
            psd_groups = []
            for kind, idx, unit in groups:
                dunit, factor = _display(unit)
                chk = psd_checks(x[:, idx], ts.rate, [names[i] for i in idx],
                                 line_noise=tuple(line_noise))
                chk["names"] = [names[i] for i in idx]
                psd_groups.append((kind, chk, dunit, factor))
                amp = np.nanmedian(np.nanstd(x[:, idx], axis=0)) * factor
                checks_rows.append({
                    "block": ts.name, "channel type": kind,
                    "median channel SD": f"{amp:.3g} {dunit}",
                    **{f"{f0:g} Hz line (dB over flanks)": round(v, 1)
                       for f0, v in chk["line"].items()},
                    "line noise": ", ".join(f"{f0:g} Hz" for f0, v in chk["line"].items()
                                            if v > 10) or "none above 10 dB",
                    "bad-channel candidates": "; ".join(f"{n} ({why})" for n, why in
                                                        chk["bad"][:8])
                    + (f"; +{len(chk['bad']) - 8} more" if len(chk["bad"]) > 8 else "")
                    or "none",
                })
            figures.append((_psd_figure(psd_groups, line_noise),
                            f"{ts.name}: power spectral density (Welch, 2-s windows, first "
                            f"{t_end - ts.t0:.0f} s); dotted lines at the mains frequencies"))
            kind, idx, unit = max(groups, key=lambda g: (g[0] in ("eeg", "seeg", "ecog",
                                                                   "mag"), len(g[1])))
            dunit, factor = _display(unit)
            span = min(trace_seconds, ts.duration)
            xt = ts.slice(ts.t0, ts.t0 + span)[:, idx[:128]] * factor
            tt = ts.t0 + np.arange(len(xt)) / ts.rate
            shown = f"{min(len(idx), 128)} of {len(idx)} {kind} channels"
            figures.append((_traces_figure(xt, tt, [names[i] for i in idx[:128]], dunit,
                                           f"{ts.name}: {shown}, first {span:g} s"),
                            f"{ts.name}: raw traces ({dunit})"))
        for ts in rec.timeseries.values():  # calcium / other non-electrophysiology
            if ts.modality in ("calcium", "bold") or set(ts.channels["type"]) <= {"neuron",
                                                                              "bold_roi"}:
                x = np.asarray(ts.slice(ts.t0, ts.t_end))
                t = ts.times
                unit = str(ts.channels["unit"].iloc[0])
                figures.append((_heatmap_figure(x, t, list(ts.ch_names), unit,
                                                f"{ts.name}: {ts.n_channels} neurons, "
                                                f"{ts.duration:.0f} s"),
                                f"{ts.name}: activity of every neuron (rows, named) over "
                                "time"))
        for sp in rec.spikes.values():
            t0 = float(sp.t_start)
            t1 = min(float(sp.t_stop), t0 + 60.0)
            beh = None
            for ts in rec.timeseries.values():
                if ts.modality == "behavior" or set(ts.channels["type"]) == {"behavior"}:
                    a, b = max(t0, ts.t0), min(t1, ts.t_end)
                    if b > a:
                        x = np.asarray(ts.slice(a, b))[:, 0]
                        t = ts.times
                        tt = t[(t >= a) & (t < b)][:len(x)]
                        unit = ts.channels["unit"].iloc[0]
                        beh = (tt, x[:len(tt)], f"{ts.ch_names[0]} ({unit})")
                    break
            figures.append((_raster_figure(sp, t0, t1, beh),
                            f"{sp.name}: spike raster of every unit, first {t1 - t0:.0f} s"
                            + (" with the animal's position" if beh else "")))
        prov = rec.provenance
    ev_text = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
    srcs = "; ".join(f"{s.get('name')} (sha256 {str(s.get('sha256'))[:12]})"
                     for s in prov.get("sources", [])) or source
    ok = validation.strip().splitlines()[0] if validation.strip() else "not validated"
    ok = ok.split(": ", 1)[-1] if ": " in ok else ok
    text = [f"Source: {srcs}. Loader: {prov.get('loader', 'unknown')}.",
            f"Events: {ev_text}. Format validation: {ok}."]
    summary = ReportSection(
        f"Recording {name}", text=text, tables=[pd.DataFrame(rows)],
        reading="Each row is one block of channels of one type; amplitudes are shown in the "
                "unit people read them in (EEG/sEEG µV, MEG fT or fT/cm), and 'marked bad' "
                "counts channels the source file itself flags.", level=2)
    out = [summary]
    if checks_rows or figures:
        out.append(ReportSection(
            f"{name}: spectra, checks, traces", tables=[pd.DataFrame(checks_rows)]
            if checks_rows else [], figures=figures, level=3,
            reading="A mains peak more than 10 dB above its neighbouring frequencies means "
                    "line noise worth filtering; a bad-channel candidate is a channel whose "
                    "1-45 Hz power is more than 5 robust SDs from the median channel (or "
                    "flat), worth inspecting before analysis."))
    return out
