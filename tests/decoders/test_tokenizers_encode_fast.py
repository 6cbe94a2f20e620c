"""The fast RVQ encode path equals the plain reference pipeline.

Each fast step (one-pivot median, matrix-product resampling, fused greedy quantizer) is
checked against the straightforward computation it replaces (``np.median``,
``scipy.signal.resample_poly``, the stage loop of ``ResidualVQ._nearest``), and the whole
``RVQTokenizer.encode`` against that reference pipeline end to end.  Synthetic data only
(seeded noise and sinusoids); no planted answer beyond "the same numbers".
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy.signal import resample_poly

from decoders.tokenizers import RVQTokenizer
from decoders.tokenizers.patches import (
    SUPPORTED_TYPES,
    _median_rows,
    normalize_name,
    normalized_patches,
    resample,
)
from decoders.tokenizers.quantizer import ResidualVQ
from tests.decoders.rvq_tiny import TINY, one_torch_thread  # noqa: F401 (autouse)


@pytest.mark.parametrize("n", [1, 2, 5, 6, 999, 1000, 12000])
def test_median_rows_is_numpy_median_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for a in (rng.standard_normal((7, n)), np.round(rng.standard_normal((7, n)), 1)):  # ties
        np.testing.assert_array_equal(_median_rows(a), np.median(a, axis=1))


@pytest.mark.parametrize("rate", [160.0, 1000.0, 512.0, 250.0, 100.0, 173.3, 2048.0])
@pytest.mark.parametrize("n", [1, 37, 1601, 20000])
def test_resample_matches_scipy_resample_poly(rate, n):
    """Same filter, padding and length as resample_poly; sums differ only in order."""
    x = np.random.default_rng(0).standard_normal((n, 3))
    frac = Fraction(200.0 / rate).limit_denominator(1000)
    ref = resample_poly(x, frac.numerator, frac.denominator, axis=0)
    out = resample(x, rate, 200.0)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-14 * np.abs(x).max())


def _stage_loop(vq: ResidualVQ, z: torch.Tensor) -> torch.Tensor:
    """The greedy assignment as training computes it, stage by stage."""
    r, codes = z, []
    for q in range(vq.n_codebooks):
        idx = vq._nearest(r, q)
        r = r - vq.codebooks[q][idx]
        codes.append(idx)
    return torch.stack(codes, 1)


def test_greedy_codes_equal_the_stage_loop_and_leave_z_alone():
    g = torch.Generator().manual_seed(0)
    vq = ResidualVQ(16, n_codebooks=4, codebook_size=64)
    vq.codebooks.copy_(torch.randn(4, 64, 16, generator=g) * torch.tensor([1.0, 0.5, 0.25,
                                                                           0.1])[:, None, None])
    z = torch.randn(5000, 16, generator=g)
    before = z.clone()
    with torch.inference_mode():
        codes = vq.encode(z)
        assert torch.equal(codes, _stage_loop(vq, z))
    assert torch.equal(z, before)
    assert codes.dtype == torch.long and codes.shape == (5000, 4)


def _reference_codes(tok: RVQTokenizer, x: np.ndarray, rate: float, names: list[str]):
    """encode() written plainly: resample_poly, np.median, astype, embed, stage loop."""
    frac = Fraction(tok.sfreq / rate).limit_denominator(1000)
    xr = resample_poly(x, frac.numerator, frac.denominator, axis=0)
    sub = xr[:: max(1, xr.shape[0] // 8192)]
    center = np.median(sub, axis=0)
    scale = 1.4826 * np.median(np.abs(sub - center), axis=0)
    xn = ((xr - center) / scale).astype(np.float32)
    n_p = xn.shape[0] // tok.patch_len
    patches = xn[: n_p * tok.patch_len].reshape(n_p, tok.patch_len, -1).transpose(2, 0, 1)
    vocab = {n: i for i, n in enumerate(tok.channel_vocab_)}
    ni = np.repeat([vocab.get(normalize_name(n), 0) for n in names], n_p)
    ti = np.repeat([SUPPORTED_TYPES.index("eeg")] * len(names), n_p)
    with torch.inference_mode():
        z = tok.module_.embed(torch.from_numpy(patches.reshape(-1, tok.patch_len).copy()),
                              torch.from_numpy(ni), torch.from_numpy(ti))
        codes = _stage_loop(tok.module_.quantizer, z)
    return codes.numpy().reshape(len(names), n_p, -1), patches, center, scale


def test_encode_equals_the_reference_pipeline():
    """Seeded 160 Hz signal → tokenizer at 100 Hz: identical codes, patches to rounding."""
    rng = np.random.default_rng(7)
    t = np.arange(int(160 * 90)) / 160.0
    x = (np.sin(2 * np.pi * 10 * t)[:, None] * [1.0, 0.3, 2.0]
         + rng.standard_normal((t.size, 3))) * 2e-5 + 1e-6
    names = ["C3", "Cz", "C4"]
    tok = RVQTokenizer(n_codebooks=3, codebook_size=16, n_steps=5, codebook_init="random",
                       **TINY).fit(x, rate=160.0, ch_names=names)
    codes = tok.encode(x, rate=160.0, ch_names=names)
    ref, ref_patches, center, scale = _reference_codes(tok, x, 160.0, names)
    np.testing.assert_array_equal(codes.codes, ref)
    np.testing.assert_allclose(codes.center, center, rtol=1e-12)
    np.testing.assert_allclose(codes.scale, scale, rtol=1e-12)
    patches = normalized_patches(x, 160.0, tok.sfreq, tok.patch_len)[0]
    # float32 values may differ by one rounding where the float64 sums differ by ~1e-16
    np.testing.assert_allclose(patches, ref_patches, rtol=0,
                               atol=2 * np.finfo(np.float32).eps * np.abs(ref_patches).max())


def _plain_beam(vq: ResidualVQ, z: torch.Tensor, beam: int) -> torch.Tensor:
    """Beam search written plainly (advanced indexing, fresh temporaries)."""
    n = z.shape[0]
    ar = torch.arange(n)[:, None]
    part = torch.zeros(n, 1, vq.dim)
    codes = torch.zeros(n, 1, 0, dtype=torch.long)
    for q in range(vq.n_codebooks):
        cb = vq.codebooks[q]
        r = z[:, None, :] - part
        d = (r * r).sum(-1, keepdim=True) - 2.0 * (r @ cb.T) + (cb * cb).sum(1)
        best = d.flatten(1).topk(min(beam, d.shape[1] * d.shape[2]), dim=1,
                                 largest=False).indices
        parent, word = best // cb.shape[0], best % cb.shape[0]
        codes = torch.cat([codes[ar, parent], word[..., None]], 2)
        part = part[ar, parent] + cb[word]
    return codes[:, 0, :]


@pytest.mark.parametrize("beam", [2, 8, 100])
def test_beam_codes_equal_the_plain_beam_search(beam):
    g = torch.Generator().manual_seed(beam)
    vq = ResidualVQ(8, n_codebooks=3, codebook_size=16)
    vq.codebooks.copy_(torch.randn(3, 16, 8, generator=g) * torch.tensor([1.0, 0.5, 0.2])[
        :, None, None])
    z = torch.randn(2000, 8, generator=g)
    with torch.inference_mode():
        codes = vq.encode(z, beam_width=beam)
        assert torch.equal(codes, _plain_beam(vq, z, beam))
    # beam search keeps greedy's pair among its candidates: never a worse 2-stage sum
    two = ResidualVQ(8, n_codebooks=2, codebook_size=16)
    two.codebooks.copy_(vq.codebooks[:2])
    with torch.inference_mode():
        err_beam = (z - two.lookup(two.encode(z, beam_width=beam))).pow(2).sum(1)
        err_greedy = (z - two.lookup(two.encode(z))).pow(2).sum(1)
    assert torch.all(err_beam <= err_greedy + 1e-5)


def test_inference_encoder_equals_the_training_forward():
    """No-grad forward (in-place GELU) == autograd forward, bit for bit; input untouched."""
    from decoders.tokenizers.rvq_modules import MultiScaleEncoder

    torch.manual_seed(0)
    enc = MultiScaleEncoder(200, 16, 4, (5, 15, 45))
    x = torch.randn(300, 200)
    before = x.clone()
    with torch.enable_grad():
        ref = enc(x).detach()
    with torch.inference_mode():
        out = enc(x)
    assert torch.equal(out, ref)
    assert torch.equal(x, before)
