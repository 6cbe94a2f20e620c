"""RVQTokenizer, its quantizer, baselines, metrics and the ``neuroloom tokenize`` CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import neurodata as nd
from decoders.tokenizers import (
    KMeansPatchVQ,
    RVQCodes,
    RVQTokenizer,
    band_power_error,
    code_histograms,
    codebook_perplexity,
    make_vqvae,
    normalized_mse,
    pearson_r,
)
from decoders.tokenizers.quantizer import ResidualVQ
from neurodata.errors import FormatError, MissingFileError, ValidationError
from tests.decoders.rvq_tiny import TINY, one_torch_thread  # noqa: F401 (autouse)


def _planted(n_patches: int, seed: int) -> np.ndarray:
    """Synthetic (planted) signal: each 1-s patch sums sinusoids drawn from small banks."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 100.0
    bank_rng = np.random.default_rng(123)  # the banks are fixed; only the draws vary
    banks = [a * np.sin(2 * np.pi * bank_rng.integers(lo, lo + 5, 4)[:, None] * t
                        + bank_rng.uniform(0, 2 * np.pi, 4)[:, None])
             for a, lo in ((1.0, 2), (0.5, 8))]
    c = rng.integers(0, 4, (n_patches, 2))
    x = banks[0][c[:, 0]] + banks[1][c[:, 1]] + 0.05 * rng.standard_normal((n_patches, 100))
    return x.reshape(-1, 1)


@pytest.fixture(scope="module")
def fitted():
    x = _planted(300, 0)
    tok = RVQTokenizer(n_codebooks=2, codebook_size=4, n_steps=250, lr=1e-2, **TINY)
    return tok.fit(np.hstack([x, x]), rate=100.0, ch_names=["Cz", "Pz"]), x


def test_residual_vq_beats_single_codebook_at_equal_bits():
    """Synthetic planted codes: x = A0[c0] + 0.6 A1[c1] + 0.36 A2[c2] (3 x 16 = 12 bits).

    With 500 training vectors and 4096 combinations, a single 4096-entry codebook can at
    best memorize what it saw, while three 16-entry residual codebooks learn the
    additive structure and generalize to unseen combinations.
    """
    g = torch.Generator().manual_seed(0)
    banks = [torch.randn(16, 8, generator=g) * 0.6**q for q in range(3)]

    def sample(n):
        c = torch.randint(0, 16, (n, 3), generator=g)
        return sum(banks[q][c[:, q]] for q in range(3))

    xtr, xte = sample(500), sample(2000)
    errors = {}
    for n_q, k in ((3, 16), (1, 4096)):
        vq = ResidualVQ(8, n_q, k, decay=0.9)
        vq.generator = torch.Generator().manual_seed(1)
        vq.train()
        for _ in range(200):
            vq(xtr[torch.randint(0, 500, (128,), generator=vq.generator)])
        vq.eval()
        with torch.no_grad():
            err = ((vq.lookup(vq.encode(xte)) - xte) ** 2).mean() / xte.var()
        errors[n_q] = float(err)
    assert errors[3] < 0.08
    assert errors[3] < 0.7 * errors[1], errors


def test_fit_learns_planted_signal_and_is_deterministic(fitted):
    """Synthetic planted signal (4 x 4 sinusoid combinations): tiny RVQ reconstructs it."""
    tok, x = fitted
    held = _planted(100, 1)
    codes = tok.encode(held, rate=100.0)
    assert codes.shape == (1, 100, 2) and np.asarray(codes).dtype == np.int64
    target, recon = tok.reconstruct(held, rate=100.0)
    assert normalized_mse(target, recon) < 0.5
    assert pearson_r(target, recon) > 0.7
    assert tok.history_[-1]["time"] < tok.history_[0]["time"] / 2
    # same seed, same data -> identical codes
    again = RVQTokenizer(n_codebooks=2, codebook_size=4, n_steps=250, lr=1e-2, **TINY)
    again.fit(np.hstack([x, x]), rate=100.0, ch_names=["Cz", "Pz"])
    np.testing.assert_array_equal(again.encode(held, rate=100.0).codes, codes.codes)
    assert tok.bits_per_patch == 4.0


def test_save_load_roundtrip(fitted, tmp_path):
    tok, _ = fitted
    held = _planted(20, 2)
    path = tok.save(tmp_path / "tok.pt")
    tok2 = RVQTokenizer.load(path)
    assert tok2.get_params() == tok.get_params()
    assert tok2.channel_vocab_ == ["<unknown>", "cz", "pz"]
    a, b = tok.encode(held, rate=100.0), tok2.encode(held, rate=100.0)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(tok.decode(a), tok2.decode(b))
    with pytest.raises(MissingFileError):
        RVQTokenizer.load(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(FormatError):
        RVQTokenizer.load(tmp_path / "junk.pt")


def test_decode_units_and_bare_codes(fitted):
    tok, _ = fitted
    held = _planted(10, 3) * 2e-5 + 1e-6  # volts with an offset
    codes = tok.encode(held, rate=100.0)
    phys = tok.decode(codes)
    bare = tok.decode(codes.codes)
    np.testing.assert_allclose(phys, bare * codes.scale + codes.center)
    assert phys.shape == (1000, 1)
    with pytest.raises(ValidationError, match="shape"):
        tok.decode(codes.codes[..., :1])
    with pytest.raises(ValidationError, match=r"lie in \[0, 4\)"):
        tok.decode(np.full((1, 2, 2), 7))


def test_resume_matches_uninterrupted_run(tmp_path, monkeypatch):
    x = _planted(60, 4)
    params = dict(n_codebooks=2, codebook_size=4, n_steps=20, checkpoint_every=10, **TINY)
    full = RVQTokenizer(**params, checkpoint_dir=tmp_path / "full").fit(x, rate=100.0)

    real_write = RVQTokenizer._write
    calls = {"n": 0}

    def crash_after_first(self, path, optimizer=None):
        real_write(self, path, optimizer)
        calls["n"] += 1
        raise KeyboardInterrupt  # simulate the job dying right after the step-10 checkpoint

    monkeypatch.setattr(RVQTokenizer, "_write", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        RVQTokenizer(**params, checkpoint_dir=tmp_path / "cut").fit(x, rate=100.0)
    monkeypatch.setattr(RVQTokenizer, "_write", real_write)
    resumed = RVQTokenizer(**params, checkpoint_dir=tmp_path / "cut").fit(
        x, rate=100.0, resume=True)
    assert calls["n"] == 1 and resumed.n_steps_done_ == 20
    for k, v in full.module_.state_dict().items():
        torch.testing.assert_close(resumed.module_.state_dict()[k], v, rtol=0, atol=0)


def test_other_montage_and_rate(fitted):
    """One tokenizer, other montage: 3 sEEG contacts at 1000 Hz (unknown names, new type)."""
    tok, _ = fitted
    x = np.repeat(_planted(5, 5), 10, axis=0)[:, [0, 0, 0]]
    codes = tok.encode(x, rate=1000.0, ch_names=["A1", "A2", "B1"], ch_types=["seeg"] * 3)
    assert codes.shape == (3, 5, 2) and codes.rate == 100.0
    assert tok.decode(codes).shape == (500, 3)


@pytest.mark.parametrize("make, msg", [
    (lambda: (np.full((300, 2), np.nan), {}), "NaN"),
    (lambda: (np.zeros((50, 2)), {}), "shorter than one patch"),
    (lambda: (np.zeros((300, 2)), {"ch_types": ["eeg", "stim"]}), r"\['stim'\].*not supported"),
    (lambda: (np.zeros(300), {}), "n_times, n_channels"),
])
def test_bad_input(fitted, make, msg):
    tok, _ = fitted
    x, kw = make()
    with pytest.raises(ValidationError, match=msg):
        tok.encode(x, rate=100.0, **kw)


def test_bad_usage():
    with pytest.raises(ValidationError, match="not fitted"):
        RVQTokenizer().encode(np.zeros((400, 1)), rate=200.0)
    with pytest.raises(ValidationError, match="sampling rate"):
        RVQTokenizer().fit(np.zeros((400, 1)))
    with pytest.raises(ValidationError, match="n_codebooks=1"):
        make_vqvae(16, n_codebooks=2)


def test_real_eeg_resampling_matches_mne(shared):
    """Real EEGMMIDB run: the tokenizer's 200 Hz target equals resample_poly of MNE's data."""
    import mne
    from scipy.signal import resample_poly

    path = shared("eeg_meg/eegmmidb/S001R04.edf")
    ts = nd.load(path).timeseries["eeg"].restrict(0.0, 4.0).load()
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    native = raw.get_data(picks="eeg", start=0, stop=640).T
    tok = RVQTokenizer(n_codebooks=2, codebook_size=4, dim=16, hidden=4, width=32,
                       n_steps=3, batch_size=16).fit(ts)
    target, recon = tok.reconstruct(ts)
    assert target.shape == recon.shape == (800, 64)
    np.testing.assert_allclose(target, resample_poly(native, 5, 4, axis=0), rtol=1e-5,
                               atol=1e-9)
    codes = tok.encode(ts)
    assert codes.shape == (64, 4, 2) and codes.ch_names[0] == "Fc5."
    assert tok.channel_vocab_[1] == "fc5"


def test_kmeans_baseline_equal_bits():
    x = _planted(200, 6)
    km = KMeansPatchVQ(n_codes=16, sfreq=100.0, train_stride=None).fit(x, rate=100.0)
    assert km.bits_per_patch == 4.0 and km.codebook_.shape == (16, 100)
    codes = km.encode(x, rate=100.0)
    target, recon = km.reconstruct(x, rate=100.0)
    assert codes.shape == (1, 200, 1)
    assert normalized_mse(target, recon) < 0.1  # 16 planted combinations, 16 codes
    with pytest.warns(UserWarning, match="one code per patch"):
        km_big = KMeansPatchVQ(n_codes=4096, sfreq=100.0, train_stride=None).fit(x, rate=100.0)
    assert km_big.n_codes_used_ == 200


def test_metrics_known_values():
    t = np.arange(800) / 200.0
    x = np.stack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 2 * t)], 1)
    assert normalized_mse(x, x) == 0.0
    assert normalized_mse(x, np.zeros_like(x)) == pytest.approx(1.0)
    assert pearson_r(x, 3 * x + 1) == pytest.approx(1.0)
    err = band_power_error(x, 2 * x, 200.0)
    assert err["alpha"] == pytest.approx(3.0) and err["delta"] == pytest.approx(3.0)
    assert set(err) == {"delta", "theta", "alpha", "beta", "gamma"}
    codes = np.array([[0, 1], [1, 1], [2, 1], [3, 1]])
    np.testing.assert_allclose(codebook_perplexity(codes, 4), [4.0, 1.0])
    h = code_histograms(codes, 4)
    np.testing.assert_allclose(h, [0.25] * 4 + [0, 1, 0, 0])


def test_cli_train_encode(tmp_path, capsys):
    from pipelines.cli import main

    x = np.hstack([_planted(30, 7)] * 3) * 1e-5
    rec = nd.Recording(timeseries=[nd.TimeSeries(
        x, rate=100.0, modality="eeg", name="eeg",
        channels=nd.make_channels(["C3", "Cz", "C4"], types="eeg", units="V"))],
        subject={"id": "s1", "species": "human"}, session={"id": "1"})
    h5 = rec.save(tmp_path / "rec.h5")
    tok_path = tmp_path / "tok.pt"
    assert main(["tokenize", "train", str(h5), "-o", str(tok_path), "--steps", "5",
                 "--codebooks", "2", "--codebook-size", "8", "--batch-size", "16"]) == 0
    assert "2x8 codes = 6 bits/patch, 5 steps" in capsys.readouterr().out
    out = tmp_path / "codes.npz"
    assert main(["tokenize", "encode", str(h5), "-t", str(tok_path), "-o", str(out)]) == 0
    with np.load(out) as z:
        assert z["codes"].shape == (3, 30, 2)  # 30 s, resampled to 200 Hz, 1-s patches
        assert z["ch_names"].tolist() == ["C3", "Cz", "C4"]
        assert "psd" not in z
    assert main(["tokenize", "encode", str(h5), "-t", str(tok_path), "-o", str(out),
                 "--beam-width", "4", "--spectrum", "--overwrite"]) == 0
    assert "predicted spectra" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["psd"].shape == (3, 30, 101) and z["freqs"][1] == 1.0
        assert json.loads(str(z["meta"]))["beam_width"] == 4
    code = main(["tokenize", "encode", str(h5), "-t", str(tmp_path / "nope.pt"), "-o",
                 str(tmp_path / "other.npz"), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "no such RVQ tokenizer file" in err and len(err.splitlines()) == 1


def test_codes_object_array_protocol(fitted):
    tok, _ = fitted
    codes = tok.encode(_planted(4, 8), rate=100.0)
    assert isinstance(codes, RVQCodes)
    assert np.asarray(codes).shape == codes.shape == (1, 4, 2)


def test_kmeans_init_is_deterministic_and_finds_planted_clusters():
    """Synthetic planted clusters: 4 well-separated centres (+ noise) in 3 dimensions."""
    from decoders.tokenizers.quantizer import kmeans

    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5]])
    x = centres[torch.arange(400) % 4] + 0.1 * torch.randn(400, 3, generator=g)
    c1, a1 = kmeans(x, 4, generator=torch.Generator().manual_seed(3))
    c2, a2 = kmeans(x, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(c1, c2, rtol=0, atol=0)
    assert torch.equal(a1, a2)
    found = sorted(tuple(round(v) for v in row) for row in c1.tolist())
    assert found == sorted(tuple(int(v) for v in row) for row in centres.tolist())
    # more centroids than points: every point becomes a centroid
    c, a = kmeans(x[:5], 8, generator=torch.Generator().manual_seed(0))
    assert c.shape == (8, 3) and torch.equal(c[a], x[:5])
    # residual init: stage 0 takes the clusters, stage 1 the (small) within-cluster noise
    vq = ResidualVQ(3, n_codebooks=2, codebook_size=4)
    vq.kmeans_init(x, generator=torch.Generator().manual_seed(3))
    assert bool(vq.initialized)
    assert vq.codebooks[1].abs().max() < 0.5
    assert ((vq.lookup(vq.encode(x)) - x) ** 2).mean() < 0.01


def test_codebook_init_options_and_factorized_codes():
    x = np.hstack([_planted(60, 9)] * 2)
    kw = dict(n_codebooks=2, codebook_size=4, n_steps=3, **TINY)
    a = RVQTokenizer(**kw).fit(x, rate=100.0)
    b = RVQTokenizer(**kw).fit(x, rate=100.0)
    torch.testing.assert_close(a.module_.quantizer.codebooks, b.module_.quantizer.codebooks,
                               rtol=0, atol=0)
    rnd = RVQTokenizer(codebook_init="random", **kw).fit(x, rate=100.0)
    assert not torch.equal(rnd.module_.quantizer.codebooks, a.module_.quantizer.codebooks)
    small = RVQTokenizer(code_dim=4, **kw).fit(x, rate=100.0)
    assert small.module_.quantizer.codebooks.shape == (2, 4, 4)
    assert small.encode(x, rate=100.0).shape == (2, 60, 2)
    assert small.decode(small.encode(x, rate=100.0)).shape == (6000, 2)
    with pytest.raises(ValidationError, match="codebook_init"):
        RVQTokenizer(codebook_init="zeros", **TINY).fit(x, rate=100.0)


@pytest.mark.parametrize("rate, stride", [(160.0, None), (160.0, 50), (200.0, None),
                                          (1000.0, 100)])
def test_fast_patches_equal_reference_pipeline(rate, stride):
    """The channel-major encode path gives bit-identical patches (so identical codes)."""
    from decoders.tokenizers.patches import (
        make_patches,
        normalized_patches,
        resample,
        robust_center_scale,
    )

    x = np.random.default_rng(4).standard_normal((int(rate * 7.3), 5)) * 3e-5 + 1e-6
    xr = resample(x, rate, 200.0)
    c, s = robust_center_scale(xr)
    ref = make_patches(((xr - c) / s).astype(np.float32), 200, stride=stride)
    p, c2, s2 = normalized_patches(x, rate, 200.0, 200, stride=stride)
    np.testing.assert_array_equal(p, ref)
    np.testing.assert_array_equal(c2, c)
    np.testing.assert_array_equal(s2, s)


def test_group_code_histograms_shapes():
    from decoders.tokenizers.metrics import group_code_histograms

    codes = np.random.default_rng(0).integers(0, 8, (6, 4, 2))
    groups = [np.array([0, 1, 2]), np.array([3]), np.array([4, 5])]
    h = group_code_histograms(codes, 8, groups)
    assert h.shape == (3 * 2 * 8,)
    np.testing.assert_allclose(h.reshape(3, 2, 8).sum(-1), 1.0)
    assert group_code_histograms(codes, 8).shape == (6 * 2 * 8,)  # one group per channel
    with pytest.raises(ValidationError, match="channel groups"):
        group_code_histograms(codes, 8, [np.array([7])])
