"""RVQTokenizer: the gain head, ``decode(mode="spectral")``, ``decode_spectrum``, beam search.

The tokenizer tests here use synthetic signals with planted spectra (said in each
docstring); the real-EEG numbers are in ``benchmarks/bench_tokenizers.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from decoders.tokenizers import RVQTokenizer, normalized_mse
from decoders.tokenizers.metrics import band_powers
from decoders.tokenizers.quantizer import ResidualVQ
from neurodata.errors import ValidationError
from tests.decoders.rvq_tiny import TINY, one_torch_thread  # noqa: F401 (autouse)


def _random_phase_tones(n_patches: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic: each 1-s patch (100 Hz) is a 10 Hz or a 30 Hz tone with a random phase.

    Returns the signal (n_patches * 100, 1) and each patch's class (0 = 10 Hz).  With a
    1-bit code the tokenizer can say which tone, but not its phase, so the MSE-optimal
    time signal damps the tone while the spectrum keeps its power.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 100.0
    cls = rng.integers(0, 2, n_patches)
    freq = np.where(cls == 0, 10.0, 30.0)
    x = np.sin(2 * np.pi * freq[:, None] * t + rng.uniform(0, 2 * np.pi, (n_patches, 1)))
    x += 0.05 * rng.standard_normal(x.shape)
    return x.reshape(-1, 1), cls


@pytest.fixture(scope="module")
def tones():
    x, _ = _random_phase_tones(400, 0)
    tok = RVQTokenizer(n_codebooks=1, codebook_size=2, n_steps=1000, lr=1e-2,
                       loss_weights=(1.0, 0.1, 1.0), **TINY)
    return tok.fit(x, rate=100.0)


def test_spectrum_keeps_band_power_that_the_mse_signal_damps(tones):
    tok = tones
    x, cls = _random_phase_tones(60, 1)
    codes = tok.encode(x, rate=100.0)
    bands = {"lo": (8.0, 12.0), "hi": (28.0, 32.0)}
    true = band_powers(x, 100.0, bands)
    mse = band_powers(tok.decode(codes), 100.0, bands)
    spectral = band_powers(tok.decode(codes, mode="spectral"), 100.0, bands)
    for b in bands:
        # the minimum-MSE signal keeps well under half the power of the random-phase tones
        assert mse[b][0] < 0.5 * true[b][0]
        assert 0.6 * true[b][0] < spectral[b][0] < 1.5 * true[b][0]
    # per patch, the predicted spectrum says which tone it was
    freqs, psd = tok.decode_spectrum(codes)
    assert freqs.shape == (51,) and psd.shape == (1, 60, 51)
    spec = psd[0]  # (patches, freqs)
    at10, at30 = spec[:, freqs == 10.0][:, 0], spec[:, freqs == 30.0][:, 0]
    assert np.mean((at30 > at10) == (cls == 1)) > 0.95
    # and its band power: a unit sine has power 0.5 in units^2
    df = freqs[1] - freqs[0]
    tone_power = np.where(cls == 0, spec[:, (freqs >= 8) & (freqs <= 12)].sum(1),
                          spec[:, (freqs >= 28) & (freqs <= 32)].sum(1)) * df
    # codes.scale converts back to signal units: the planted tone is 1.0 in amplitude
    assert 0.3 < np.median(tone_power) < 0.8
    # the MSE signal is still the better waveform estimate
    target, _ = tok.reconstruct(x, rate=100.0)
    assert normalized_mse(target, tok.decode(codes)) < normalized_mse(
        target, tok.decode(codes, mode="spectral"))


def test_decode_spectrum_units(tones):
    """A bare code array gives normalized units; RVQCodes multiplies scale² back."""
    tok = tones
    x, _ = _random_phase_tones(10, 2)
    codes = tok.encode(x * 1e-5, rate=100.0)
    _, phys = tok.decode_spectrum(codes)
    _, bare = tok.decode_spectrum(codes.codes, ch_names=codes.ch_names)
    np.testing.assert_allclose(phys, bare * codes.scale[:, None, None] ** 2)
    with pytest.raises(ValidationError, match="mode"):
        tok.decode(codes, mode="realistic")


def test_tokenizer_without_gain_head_and_older_files(tmp_path):
    """``gain_head=False`` is the earlier decoder; files saved without the key still load."""
    x, _ = _random_phase_tones(40, 3)
    tok = RVQTokenizer(n_codebooks=1, codebook_size=4, n_steps=5, gain_head=False,
                       **TINY).fit(x, rate=100.0)
    assert tok.module_.decoder.log_gain is None
    codes = tok.encode(x, rate=100.0)
    np.testing.assert_array_equal(tok.decode(codes), tok.decode(codes, mode="spectral"))
    path = tok.save(tmp_path / "old.pt")
    doc = torch.load(path, weights_only=True)
    del doc["params"]["gain_head"], doc["config"]["gain_head"], doc["params"]["beam_width"]
    torch.save(doc, path)  # as written before these options existed
    old = RVQTokenizer.load(path)
    assert old.gain_head is False and old.beam_width == 1
    np.testing.assert_array_equal(old.decode(codes), tok.decode(codes))


def test_beam_search_finds_the_best_pair_and_defaults_to_greedy():
    """Random codebooks: beam 1 is greedy; a full beam over 2 codebooks is exhaustive."""
    g = torch.Generator().manual_seed(0)
    vq = ResidualVQ(6, n_codebooks=2, codebook_size=8)
    vq.codebooks.copy_(torch.randn(2, 8, 6, generator=g))
    z = torch.randn(300, 6, generator=g)
    greedy = vq.encode(z)
    assert torch.equal(vq.encode(z, beam_width=1), greedy)

    def err(c):
        return ((z - vq.lookup(c)) ** 2).sum(1)

    pairs = torch.tensor(list(itertools.product(range(8), range(8))))
    sums = vq.codebooks[0][pairs[:, 0]] + vq.codebooks[1][pairs[:, 1]]
    best = ((z[:, None, :] - sums[None]) ** 2).sum(-1).min(1).values
    torch.testing.assert_close(err(vq.encode(z, beam_width=64)), best)
    beam4 = err(vq.encode(z, beam_width=4))
    assert bool((beam4 <= err(greedy) + 1e-5).all())
    assert beam4.mean() < err(greedy).mean()


def test_tokenizer_beam_width_lowers_error_at_same_bits():
    """Synthetic planted sinusoid mixtures: beam-search codes reconstruct at least as well."""
    rng = np.random.default_rng(5)
    t = np.arange(100) / 100.0
    f = rng.integers(2, 20, (300, 3))
    x = np.sin(2 * np.pi * f[..., None] * t).sum(1).reshape(-1, 1)
    tok = RVQTokenizer(n_codebooks=3, codebook_size=4, n_steps=60, **TINY).fit(x, rate=100.0)
    target, greedy = tok.reconstruct(x, rate=100.0)
    tok.set_params(beam_width=8)
    _, beam = tok.reconstruct(x, rate=100.0)
    assert normalized_mse(target, beam) < normalized_mse(target, greedy)
    with pytest.raises(ValidationError, match="beam_width"):
        RVQTokenizer(beam_width=0, **TINY).fit(x, rate=100.0)
