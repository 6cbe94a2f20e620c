"""Reconstruction and codebook metrics for signal tokenizers.

All signal arrays are (n_times, n_channels); per-channel values are averaged over
channels.
"""

from __future__ import annotations

import numpy as np

from neurodata.errors import ValidationError

__all__ = ["BANDS", "normalized_mse", "pearson_r", "band_powers", "band_power_error",
           "codebook_perplexity", "code_histograms", "group_code_histograms",
           "reconstruction_report"]

#: Canonical EEG bands in Hz (upper edges are clipped to the Nyquist frequency).
BANDS: dict[str, tuple[float, float]] = {"delta": (1.0, 4.0), "theta": (4.0, 8.0),
                                         "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
                                         "gamma": (30.0, 80.0)}


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValidationError(f"expected two (n_times, n_channels) arrays of equal shape; got "
                              f"{x.shape} and {y.shape}")
    return x, y


def normalized_mse(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over channels of ``mean((x - y)**2) / var(x)`` (0 = perfect, 1 = predicting the mean).

    Examples
    --------
    >>> normalized_mse(np.array([[1.0], [-1.0]]), np.zeros((2, 1)))
    1.0
    """
    x, y = _pair(x, y)
    var = x.var(axis=0)
    ok = var > 0
    return float(np.mean(((x - y) ** 2).mean(axis=0)[ok] / var[ok]))


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over channels of the Pearson correlation between ``x`` and ``y``.

    Examples
    --------
    >>> pearson_r(np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]]))
    1.0
    """
    x, y = _pair(x, y)
    xc, yc = x - x.mean(0), y - y.mean(0)
    den = np.sqrt((xc**2).sum(0) * (yc**2).sum(0))
    ok = den > 0
    return float(np.mean((xc * yc).sum(0)[ok] / den[ok]))


def band_powers(x: np.ndarray, rate: float, bands: dict[str, tuple[float, float]] = BANDS,
                nperseg: int | None = None) -> dict[str, np.ndarray]:
    """Welch band power per channel, ``{band: (n_channels,)}`` in signal units² (not per Hz).

    Bands whose lower edge is at or above the Nyquist frequency are skipped.
    """
    from scipy.signal import welch

    x = np.asarray(x, np.float64)
    nperseg = int(min(x.shape[0], nperseg or 2 * rate))
    f, p = welch(x, fs=rate, nperseg=nperseg, axis=0)
    df = f[1] - f[0]
    out = {}
    for name, (lo, hi) in bands.items():
        if lo >= rate / 2:
            continue
        sel = (f >= lo) & (f < min(hi, rate / 2))
        out[name] = p[sel].sum(0) * df
    return out


def band_power_error(x: np.ndarray, y: np.ndarray, rate: float,
                     bands: dict[str, tuple[float, float]] = BANDS) -> dict[str, float]:
    """Relative band-power error per band: mean over channels of ``|P_y - P_x| / P_x``.

    Examples
    --------
    >>> t = np.arange(400) / 200.0
    >>> x = np.sin(2 * np.pi * 10 * t)[:, None]
    >>> round(band_power_error(x, 0.5 * x, 200.0)["alpha"], 3)
    0.75
    """
    x, y = _pair(x, y)
    px, py = band_powers(x, rate, bands), band_powers(y, rate, bands)
    out = {}
    for name in px:
        ok = px[name] > 0
        out[name] = float(np.mean(np.abs(py[name][ok] - px[name][ok]) / px[name][ok]))
    return out


def codebook_perplexity(codes: np.ndarray, codebook_size: int) -> np.ndarray:
    """Perplexity ``exp(entropy)`` of code usage per codebook, shape (n_codebooks,).

    ``codes`` has shape (..., n_codebooks); perplexity lies in [1, codebook_size] and
    equals ``codebook_size`` when every code is used equally often.

    Examples
    --------
    >>> codebook_perplexity(np.array([[0], [1], [2], [3]]), 4).tolist()
    [4.0]
    """
    codes = np.asarray(codes).reshape(-1, np.asarray(codes).shape[-1])
    out = []
    for q in range(codes.shape[1]):
        p = np.bincount(codes[:, q], minlength=codebook_size) / max(codes.shape[0], 1)
        p = p[p > 0]
        out.append(float(np.exp(-(p * np.log(p)).sum())))
    return np.array(out)


def code_histograms(codes: np.ndarray, codebook_size: int) -> np.ndarray:
    """Normalized code counts per codebook, concatenated: shape (n_codebooks * codebook_size,).

    ``codes`` is any int array of shape (..., n_codebooks) (e.g. the channels × patches
    of one trial); the result is a bag-of-tokens feature vector.
    """
    codes = np.asarray(codes)
    flat = codes.reshape(-1, codes.shape[-1])
    h = [np.bincount(flat[:, q], minlength=codebook_size) for q in range(flat.shape[1])]
    return np.concatenate(h).astype(np.float64) / max(flat.shape[0], 1)


def group_code_histograms(codes: np.ndarray, codebook_size: int,
                          groups: list[np.ndarray] | None = None) -> np.ndarray:
    """Code histograms per channel group, concatenated (keeps coarse spatial information).

    Parameters
    ----------
    codes : int array, shape (n_channels, n_patches, n_codebooks)
        Codes of one trial.
    codebook_size : int
    groups : list of int arrays or None
        Channel indices of each group (e.g. left and right sensorimotor neighbourhoods);
        ``None`` = one group per channel.

    Returns
    -------
    features : float64 array, shape (n_groups * n_codebooks * codebook_size,)
        Each group's block is :func:`code_histograms` of its channels (sums to 1 per
        codebook).

    Examples
    --------
    >>> codes = np.array([[[0], [1]], [[1], [1]], [[2], [3]]])   # 3 channels, 2 patches
    >>> group_code_histograms(codes, 4, [np.array([0, 1]), np.array([2])]).tolist()
    [0.25, 0.75, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    """
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValidationError(f"expected codes of shape (n_channels, n_patches, n_codebooks); "
                              f"got {codes.shape}")
    if groups is None:
        groups = [np.array([c]) for c in range(codes.shape[0])]
    bad = [g for g in groups if len(g) == 0 or np.max(g) >= codes.shape[0] or np.min(g) < 0]
    if bad:
        raise ValidationError(f"channel groups must be non-empty index arrays into "
                              f"{codes.shape[0]} channels; got {bad[0]!r}")
    return np.concatenate([code_histograms(codes[np.asarray(g)], codebook_size)
                           for g in groups])


def reconstruction_report(x: np.ndarray, y: np.ndarray, rate: float) -> dict[str, float]:
    """``nmse``, ``r`` and ``bp_<band>`` relative errors in one flat dict."""
    rep = {"nmse": normalized_mse(x, y), "r": pearson_r(x, y)}
    rep.update({f"bp_{k}": v for k, v in band_power_error(x, y, rate).items()})
    return rep
