"""RVQTokenizer: residual-vector-quantized tokens for EEG, MEG, sEEG and ECoG.

Pipeline (NeuroRVQ-style, see ../shared/PAPERS.md): resample every channel to a common
rate (200 Hz) with an anti-aliased polyphase filter, cut 1-s patches per channel,
normalize each channel by its median and robust standard deviation, encode each patch
with multi-scale temporal convolutions plus a channel-name and channel-type embedding,
quantize with several residual codebooks, and decode the log-amplitude and phase of the
patch spectrum, from which the inverse FFT gives the time signal.

References: NeuroRVQ (EEG tokenizer with multi-scale encoders, RVQ and phase/amplitude
decoders); LaBraM (Jiang et al. 2024, "Large Brain Model for learning generic
representations with tremendous EEG data in BCI", ICLR: per-channel patches, channel
embeddings, Fourier targets); MEG-GPT (data-driven MEG tokenizer + GPT); Du-IN (Zheng et
al. 2024, sEEG region-level discrete codebooks).  The code is our own.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from neurodata.atomic import atomic_path
from neurodata.errors import FormatError, MissingFileError, ValidationError, WriteError
from neurodata.log import deprecated_fit_verbose, logger, progress_enabled, verbose_method

from .patches import (
    SUPPORTED_TYPES,
    Signal,
    as_signal,
    normalize_name,
    normalized_patches,
    resample,
)

__all__ = ["RVQTokenizer", "RVQCodes", "prepare_signals"]

_FILE_FORMAT = "neuroloom.rvq_tokenizer"
_FILE_VERSION = 1
_CHECKPOINT = "rvq_checkpoint.pt"


@dataclass
class RVQCodes:
    """Integer codes of one signal block and what is needed to undo the normalization.

    ``np.asarray(codes)`` gives the code array.

    Attributes
    ----------
    codes : int64 array, shape (n_channels, n_patches, n_codebooks)
    center, scale : float64 arrays, shape (n_channels,)
        Per-channel median and robust standard deviation (signal units) removed before
        tokenizing; :meth:`RVQTokenizer.decode` multiplies them back.
    rate : float
        Rate of the tokenized (and decoded) signal in Hz.
    ch_names, ch_types : list of str
    """

    codes: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    rate: float
    ch_names: list[str]
    ch_types: list[str]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.codes if dtype is None else self.codes.astype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape


def prepare_signals(data: Any, *, rate: float | None = None, ch_names: Any = None,
                    ch_types: Any = None) -> list[Signal]:
    """Normalize the accepted inputs (TimeSeries, list of them, or an array) to Signals."""
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValidationError("expected at least one signal block; got an empty list")
        return [as_signal(d, rate=rate, ch_names=ch_names, ch_types=ch_types,
                          where=f"input[{i}]") for i, d in enumerate(data)]
    return [as_signal(data, rate=rate, ch_names=ch_names, ch_types=ch_types)]


def _spectral_loss(out: dict, x, eps: float = 1e-2, whittle: bool = False):
    """Amplitude loss, amplitude-weighted unit-circle phase loss, time MSE.

    The amplitude loss is the log-amplitude MSE, or with ``whittle=True`` the Whittle
    negative log-likelihood of the periodogram, ``log S + |X|² / S`` with
    ``S = exp(2 log_amp)`` (Whittle 1953): it is minimized by the conditional mean power,
    so ``exp(2 log_amp)`` is an unbiased power estimate where the log-MSE fit is biased
    low by ``exp(-γ)`` for noise-like bins.
    """
    import torch

    spec = torch.fft.rfft(x, dim=-1)
    amp = spec.abs()
    if whittle:
        log_s = 2.0 * out["log_amp"]
        loss_amp = torch.mean(log_s + (amp * amp + eps * eps) * torch.exp(-log_s))
    else:
        loss_amp = torch.mean((out["log_amp"] - torch.log(amp + eps)) ** 2)
    unit = torch.stack([spec.real, spec.imag], -1) / amp.clamp_min(1e-8)[..., None]
    # weight bins by their share of the amplitude: the phase of an empty bin is noise
    w = amp / amp.sum(-1, keepdim=True).clamp_min(1e-8)
    loss_phase = (w * (1.0 - (out["phase"] * unit).sum(-1))).sum(-1).mean()
    loss_time = torch.mean((out["signal"] - x) ** 2)
    return loss_amp, loss_phase, loss_time


class RVQTokenizer(BaseEstimator):
    """Residual-vector-quantized patch tokenizer for continuous neural signals.

    Parameters
    ----------
    sfreq : float, default=200.0
        Common rate in Hz every input is resampled to.
    patch_seconds : float, default=1.0
        Patch length in seconds (``sfreq * patch_seconds`` samples per patch).
    n_codebooks : int, default=4
        Residual quantization stages.
    codebook_size : int, default=64
        Entries per codebook; a patch costs ``n_codebooks * log2(codebook_size)`` bits.
    dim : int, default=64
        Latent size.
    hidden : int, default=8
        Channels per encoder branch.
    width : int, default=128
        Decoder width.
    kernel_sizes : tuple of int, default=(5, 15, 45)
        Temporal kernel sizes of the encoder branches (samples at ``sfreq``).
    n_steps : int, default=1500
        Optimizer steps of :meth:`fit` (total, counting resumed steps).
    batch_size : int, default=256
        Patches per step.
    lr : float, default=2e-3
        AdamW learning rate.
    train_stride : float or None, default=0.5
        Stride in seconds between training patches (overlap augments the data);
        ``None`` = ``patch_seconds``.
    loss_weights : tuple of 3 float, default=(0.1, 0.1, 1.0)
        Weights of the amplitude (Whittle, or log-amplitude MSE without the gain head),
        phase and time-domain losses (the time-domain term, computed through the
        inverse FFT of the predicted spectrum, learned fastest in our trials; the
        spectral terms shape amplitude and phase).
    decay, commitment, dead_threshold : float
        EMA decay, commitment weight and dead-code threshold of the quantizer.
    code_dim : int or None, default=None
        Quantize a learned low-dimensional projection of the latent (factorized codes);
        ``None`` quantizes the ``dim``-dimensional latent.
    gain_head : bool, default=True
        Give the decoder's time signal its own per-frequency gain, so the log-amplitude
        head keeps estimating the patch's full amplitude spectrum while the time-domain
        MSE shrinks what the code cannot say (see ``decode(..., mode="spectral")``);
        the amplitude loss is then the Whittle likelihood of the periodogram (unbiased
        power, see :meth:`decode_spectrum`).  ``False`` is the earlier decoder: one
        amplitude shared by both losses, fitted by a log-amplitude MSE.
    beam_width : int, default=1
        Candidates kept per stage when :meth:`encode` assigns codes: ``1`` is greedy
        (as in training, fastest); larger values search for code tuples whose sum is
        closer to the latent (beam search, see :meth:`ResidualVQ.encode`), which
        lowers the reconstruction error at the same bits for a slower encode.
    codebook_init : {"kmeans", "random"}, default="kmeans"
        ``"kmeans"``: before the first step, run k-means on the encoder outputs of up to
        ``init_samples`` training patches, stage by stage on the residuals (SoundStream /
        EnCodec practice); ``"random"``: codewords start on random vectors of the first
        batch.
    init_samples : int, default=16384
        Patches used for the k-means initialization (at least ``4 * codebook_size``
        when the data allow).
    checkpoint_dir : path-like or None
        Where :meth:`fit` writes ``rvq_checkpoint.pt`` every ``checkpoint_every`` steps
        and reads it back with ``resume=True``.
    checkpoint_every : int, default=500
    device : str, default="cpu"
    random_state : int, default=0
        Seeds weights, batch sampling and codebook restarts; training is deterministic
        on CPU, and a resumed run repeats the same batches as an uninterrupted one.
    verbose : bool or str or int or None, default=None
        Log level of :meth:`fit` (``True`` shows its progress bar and INFO messages) and
        the default of the other methods' per-call ``verbose`` (:mod:`neurodata.log`).

    Attributes
    ----------
    module_ : RVQAutoencoder
        The trained network.
    channel_vocab_ : list of str
        Normalized channel names seen in training (index 0 = unknown name); other
        montages are accepted and use the unknown-name embedding plus their type.
    history_ : list of dict
        Losses every few steps (``step``, ``loss``, ``amp``, ``phase``, ``time``,
        ``commit``, ``perplexity``).
    n_steps_done_ : int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((2000, 2))
    >>> tok = RVQTokenizer(n_codebooks=2, codebook_size=8, dim=16, hidden=4, width=32,
    ...                    n_steps=5, batch_size=8).fit(x, rate=200.0)
    >>> codes = tok.encode(x, rate=200.0)
    >>> codes.shape
    (2, 10, 2)
    >>> tok.decode(codes).shape
    (2000, 2)
    """

    def __init__(self, sfreq: float = 200.0, *, patch_seconds: float = 1.0,
                 n_codebooks: int = 4, codebook_size: int = 64, dim: int = 64, hidden: int = 8,
                 width: int = 128, kernel_sizes: tuple[int, ...] = (5, 15, 45),
                 n_steps: int = 1500, batch_size: int = 256, lr: float = 2e-3,
                 train_stride: float | None = 0.5,
                 loss_weights: tuple[float, float, float] = (0.1, 0.1, 1.0),
                 decay: float = 0.99, commitment: float = 0.25, dead_threshold: float = 0.5,
                 code_dim: int | None = None, gain_head: bool = True,
                 beam_width: int = 1, codebook_init: str = "kmeans",
                 init_samples: int = 16384,
                 checkpoint_dir: str | Path | None = None, checkpoint_every: int = 500,
                 device: str = "cpu", random_state: int = 0,
                 verbose: bool | str | int | None = None):
        self.sfreq = sfreq
        self.patch_seconds = patch_seconds
        self.n_codebooks = n_codebooks
        self.codebook_size = codebook_size
        self.dim = dim
        self.hidden = hidden
        self.width = width
        self.kernel_sizes = kernel_sizes
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.train_stride = train_stride
        self.loss_weights = loss_weights
        self.decay = decay
        self.commitment = commitment
        self.dead_threshold = dead_threshold
        self.code_dim = code_dim
        self.gain_head = gain_head
        self.beam_width = beam_width
        self.codebook_init = codebook_init
        self.init_samples = init_samples
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers -----------------------------------------------------------------------
    @property
    def patch_len(self) -> int:
        """Samples per patch at ``sfreq``."""
        return int(round(self.sfreq * self.patch_seconds))

    @property
    def bits_per_patch(self) -> float:
        """Bits one patch of one channel costs: ``n_codebooks * log2(codebook_size)``."""
        return self.n_codebooks * math.log2(self.codebook_size)

    def _check_params(self) -> None:
        checks = [("sfreq", self.sfreq > 0), ("patch_seconds", self.patch_seconds > 0),
                  ("n_codebooks", int(self.n_codebooks) >= 1),
                  ("codebook_size", int(self.codebook_size) >= 2),
                  ("n_steps", int(self.n_steps) >= 0), ("batch_size", self.batch_size >= 1),
                  ("lr", self.lr > 0), ("checkpoint_every", self.checkpoint_every >= 1),
                  ("beam_width", int(self.beam_width) >= 1)]
        for name, ok in checks:
            if not ok:
                raise ValidationError(f"RVQTokenizer: {name}={getattr(self, name)!r} is out of "
                                      "range; see the class docstring for allowed values")
        if self.codebook_init not in ("kmeans", "random"):
            raise ValidationError(f"RVQTokenizer: codebook_init={self.codebook_init!r}; "
                                  "expected 'kmeans' or 'random'")
        if self.patch_len < 50:
            raise ValidationError(f"RVQTokenizer: a patch of {self.patch_len} samples is too "
                                  "short for the encoder (need >= 50); raise patch_seconds")

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise ValidationError("this RVQTokenizer is not fitted yet; call fit(...) or "
                                  "RVQTokenizer.load(path) first")

    def _prepare(self, sig: Signal, stride: int | None = None):
        """Signal → normalized patches (C, P, L), center, scale, name and type indices."""
        patches, center, scale = normalized_patches(
            sig.x, sig.rate, self.sfreq, self.patch_len, stride=stride,
            where=f"{len(sig.ch_names)}-channel signal")
        vocab = {n: i for i, n in enumerate(self.channel_vocab_)}
        name_idx = np.array([vocab.get(normalize_name(n), 0) for n in sig.ch_names], np.int64)
        type_idx = np.array([SUPPORTED_TYPES.index(t) for t in sig.ch_types], np.int64)
        return patches, center, scale, name_idx, type_idx

    @contextlib.contextmanager
    def _seeded(self, seed: int):
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield

    # -- fit ---------------------------------------------------------------------------
    @deprecated_fit_verbose
    def fit(self, data: Any, y: Any = None, *, rate: float | None = None, ch_names: Any = None,
            ch_types: Any = None, resume: bool = False,
            verbose: bool | str | None = None) -> RVQTokenizer:
        """Train the tokenizer.

        Parameters
        ----------
        data : TimeSeries, list of TimeSeries, or array of shape (n_times, n_channels)
            Training signal(s), any rate and montage; channel types must be in
            ``eeg meg grad mag seeg ecog``.
        rate : float or None
            Sampling rate in Hz when ``data`` is an array.
        ch_names, ch_types : sequence of str or None
            Channel names/types when ``data`` is an array.
        resume : bool, default=False
            Continue from ``checkpoint_dir/rvq_checkpoint.pt`` when it exists.
        verbose : bool or str or None
            Deprecated: pass ``verbose`` to the constructor.  When given it still applies
            to this call, with a ``FutureWarning``.

        Returns
        -------
        self : RVQTokenizer
        """
        import torch

        from .rvq_modules import RVQAutoencoder

        self._check_params()
        signals = prepare_signals(data, rate=rate, ch_names=ch_names, ch_types=ch_types)
        names: dict[str, None] = {}
        for s in signals:
            for n in s.ch_names:
                names.setdefault(normalize_name(n), None)
        self.channel_vocab_ = ["<unknown>"] + list(names)
        stride = None if self.train_stride is None else max(
            1, int(round(self.train_stride * self.sfreq)))
        xs, ns, ts = [], [], []
        for s in signals:
            p, _, _, ni, ti = self._prepare(s, stride=stride)
            xs.append(p.reshape(-1, self.patch_len))
            ns.append(np.repeat(ni, p.shape[1]))
            ts.append(np.repeat(ti, p.shape[1]))
        X = torch.from_numpy(np.concatenate(xs)).to(self.device)
        N = torch.from_numpy(np.concatenate(ns)).to(self.device)
        T = torch.from_numpy(np.concatenate(ts)).to(self.device)
        seed = int(self.random_state)
        with self._seeded(seed):
            self.module_ = RVQAutoencoder(
                self.patch_len, self.sfreq, len(self.channel_vocab_), dim=self.dim,
                hidden=self.hidden, width=self.width, kernel_sizes=tuple(self.kernel_sizes),
                n_codebooks=self.n_codebooks, codebook_size=self.codebook_size,
                decay=self.decay, commitment=self.commitment,
                dead_threshold=self.dead_threshold, code_dim=self.code_dim,
                gain_head=bool(self.gain_head)).to(self.device)
        opt = torch.optim.AdamW(self.module_.parameters(), lr=self.lr, weight_decay=1e-4)
        self.history_, self.n_steps_done_ = [], 0
        ckpt = None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / _CHECKPOINT
        if resume and ckpt is not None and ckpt.exists():
            state = self._read(ckpt)
            if state["channel_vocab"] != self.channel_vocab_:
                raise ValidationError("checkpoint was trained on other channels; resume with "
                                      "the same data or delete the checkpoint", path=ckpt)
            self.module_.load_state_dict(state["state_dict"])
            opt.load_state_dict(state["optimizer"])
            self.history_ = list(state["history"])
            self.n_steps_done_ = int(state["n_steps_done"])
            logger.info("resumed from %s at step %d", ckpt, self.n_steps_done_)
        self._train(X, N, T, opt, ckpt)
        return self

    def _train(self, X, N, T, opt, ckpt) -> None:
        import torch
        from tqdm.auto import tqdm

        w_amp, w_phase, w_time = self.loss_weights
        n_total = int(self.n_steps)
        gen = torch.Generator()
        self.module_.quantizer.generator = gen
        self.module_.train()
        bar = tqdm(total=n_total, initial=self.n_steps_done_, disable=not progress_enabled(),
                   desc="RVQTokenizer.fit")
        # cosine learning-rate decay over the whole run (resume-safe: depends on step only)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, n_total) / max(n_total, 1))),
            last_epoch=-1)
        for g in opt.param_groups:
            g["lr"] = self.lr * sched.lr_lambdas[0](self.n_steps_done_)
        quant = self.module_.quantizer
        if self.codebook_init == "kmeans" and not bool(quant.initialized) and n_total > 0:
            self._kmeans_init(X, N, T)
        while self.n_steps_done_ < n_total:
            step = self.n_steps_done_
            rng = np.random.default_rng([int(self.random_state), step])
            idx = torch.from_numpy(rng.integers(0, X.shape[0], self.batch_size))
            gen.manual_seed(int(self.random_state) * 1_000_003 + step)
            x = X[idx]
            out = self.module_(x, N[idx], T[idx])
            l_amp, l_phase, l_time = _spectral_loss(out, x, whittle=bool(self.gain_head))
            loss = w_amp * l_amp + w_phase * l_phase + w_time * l_time + out["commit"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.module_.parameters(), 1.0)
            opt.step()
            for g in opt.param_groups:
                g["lr"] = self.lr * sched.lr_lambdas[0](step + 1)
            self.n_steps_done_ = step + 1
            if step % 25 == 0 or self.n_steps_done_ == n_total:
                from .metrics import codebook_perplexity

                perp = codebook_perplexity(out["codes"].cpu().numpy(), self.codebook_size)
                self.history_.append({"step": step, "loss": loss.item(), "amp": l_amp.item(),
                                      "phase": l_phase.item(), "time": l_time.item(),
                                      "commit": out["commit"].item(),
                                      "perplexity": float(np.mean(perp))})
                bar.set_postfix(loss=f"{loss.item():.3f}", time=f"{l_time.item():.3f}")
            bar.update(1)
            if ckpt is not None and (self.n_steps_done_ % int(self.checkpoint_every) == 0
                                     or self.n_steps_done_ == n_total):
                self._write(ckpt, optimizer=opt)
        bar.close()
        self.module_.eval()
        self.module_.quantizer.generator = None

    def _kmeans_init(self, X, N, T) -> None:
        """k-means codebooks on the (untrained) encoder's outputs of a seeded sample."""
        import torch

        n = min(X.shape[0], max(int(self.init_samples), 4 * int(self.codebook_size)))
        rng = np.random.default_rng([int(self.random_state), 2**31 - 1])
        idx = torch.from_numpy(np.sort(rng.choice(X.shape[0], n, replace=False)))
        gen = torch.Generator().manual_seed(int(self.random_state))
        with torch.no_grad():
            z = torch.cat([self.module_.embed(X[idx[a:a + 4096]], N[idx[a:a + 4096]],
                                              T[idx[a:a + 4096]])
                           for a in range(0, n, 4096)])
            self.module_.quantizer.kmeans_init(z, batch_size=int(self.batch_size),
                                               generator=gen)

    # -- encode / decode ---------------------------------------------------------------
    @verbose_method
    def encode(self, data: Any, *, rate: float | None = None, ch_names: Any = None,
               ch_types: Any = None, batch_size: int = 16384,
               verbose: bool | str | None = None) -> RVQCodes:
        """Integer codes of a signal.

        Parameters
        ----------
        data : TimeSeries or array of shape (n_times, n_channels)
            Any montage of supported channel types, at least one patch long.
        rate : float or None
            Sampling rate in Hz when ``data`` is an array.
        ch_names, ch_types : sequence of str or None
            For arrays.
        batch_size : int, default=16384
            Patches per forward pass.
        verbose : bool or str or None
            This call's log level; ``None`` uses the constructor's ``verbose``.

        Returns
        -------
        codes : RVQCodes
            ``codes.codes`` is int64 (n_channels, n_patches, n_codebooks); a trailing
            remainder shorter than one patch is not encoded.
        """
        import torch

        self._check_fitted()
        (sig,) = prepare_signals(data, rate=rate, ch_names=ch_names, ch_types=ch_types)
        patches, center, scale, ni, ti = self._prepare(sig)
        C, P, L = patches.shape
        flat = torch.from_numpy(patches.reshape(-1, L))
        n_idx = torch.from_numpy(np.repeat(ni, P))
        t_idx = torch.from_numpy(np.repeat(ti, P))
        out = []
        with torch.inference_mode():
            for a in range(0, flat.shape[0], batch_size):
                b = slice(a, a + batch_size)
                z = self.module_.embed(flat[b].to(self.device), n_idx[b].to(self.device),
                                       t_idx[b].to(self.device))
                out.append(self.module_.quantizer.encode(
                    z, beam_width=int(self.beam_width)).cpu())
        codes = torch.cat(out).numpy().reshape(C, P, -1).astype(np.int64)
        return RVQCodes(codes, center, scale, float(self.sfreq), list(sig.ch_names),
                        list(sig.ch_types))

    def _decode_heads(self, codes: RVQCodes | np.ndarray, ch_names: Any, ch_types: Any):
        """Check codes; decoder outputs (log_amp, phase, signal) per patch, and the scale."""
        import torch

        self._check_fitted()
        if isinstance(codes, RVQCodes):
            arr, center, scale = codes.codes, codes.center, codes.scale
            ch_names, ch_types = codes.ch_names, codes.ch_types
        else:
            arr = np.asarray(codes)
            center = scale = None
        if arr.ndim != 3 or arr.shape[2] != self.n_codebooks:
            raise ValidationError(f"codes must have shape (n_channels, n_patches, "
                                  f"{self.n_codebooks}); got {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.codebook_size):
            raise ValidationError(f"codes must lie in [0, {self.codebook_size}); found "
                                  f"[{arr.min()}, {arr.max()}]")
        C, P, Q = arr.shape
        vocab = {n: i for i, n in enumerate(self.channel_vocab_)}
        ni = np.zeros(C, np.int64) if ch_names is None else np.array(
            [vocab.get(normalize_name(n), 0) for n in ch_names], np.int64)
        ti = np.zeros(C, np.int64) if ch_types is None else np.array(
            [SUPPORTED_TYPES.index(t) for t in ch_types], np.int64)
        with torch.inference_mode():
            flat = torch.from_numpy(arr.reshape(-1, Q)).to(self.device)
            zq = self.module_.quantizer.lookup(flat)
            heads = self.module_.decode_latent(
                zq, torch.from_numpy(np.repeat(ni, P)).to(self.device),
                torch.from_numpy(np.repeat(ti, P)).to(self.device))
        return heads, (C, P), center, scale

    def decode(self, codes: RVQCodes | np.ndarray, *, ch_names: Any = None,
               ch_types: Any = None, mode: str = "mse") -> np.ndarray:
        """Signal back from codes.

        Parameters
        ----------
        codes : RVQCodes or int array of shape (n_channels, n_patches, n_codebooks)
            A bare array decodes in normalized units (each channel ~unit robust SD);
            an :class:`RVQCodes` restores the channels' median and scale.
        ch_names, ch_types : sequence of str or None
            Channel identities for a bare array (default unknown names, type "eeg").
        mode : {"mse", "spectral"}, default="mse"
            ``"mse"``: the decoder's time signal, trained for the lowest mean squared
            error, so activity whose phase the code does not fix (most θ-β) is damped
            towards zero.  ``"spectral"``: the predicted amplitude spectrum with the
            predicted phases, which keeps band power at the cost of a higher MSE (the
            usual distortion/realism trade-off).  With ``gain_head=False`` both modes
            give the same signal.

        Returns
        -------
        signal : float64 array, shape (n_patches * patch_len, n_channels)
            At ``sfreq`` Hz.
        """
        if mode not in ("mse", "spectral"):
            raise ValidationError(f"decode: mode={mode!r}; expected 'mse' or 'spectral'")
        (log_amp, phase, sig), (C, P), center, scale = self._decode_heads(
            codes, ch_names, ch_types)
        if mode == "spectral" and self.module_.decoder.log_gain is not None:
            sig = self.module_.decoder.spectral_signal(log_amp, phase)
        x = sig.cpu().numpy().astype(np.float64).reshape(C, P * self.patch_len).T
        if center is not None:
            x = x * scale + center
        return x

    def decode_spectrum(self, codes: RVQCodes | np.ndarray, *, ch_names: Any = None,
                        ch_types: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Power spectral density of every patch, as the codes predict it.

        With ``gain_head=True`` the amplitude head is fitted by the Whittle likelihood,
        so this is an estimate of each patch's expected periodogram given its code —
        what the tokens say about band power, without the damping of the MSE signal.

        Parameters
        ----------
        codes : RVQCodes or int array of shape (n_channels, n_patches, n_codebooks)
            An :class:`RVQCodes` gives the density in signal units²/Hz, a bare array in
            normalized units²/Hz.
        ch_names, ch_types : sequence of str or None
            As in :meth:`decode`.

        Returns
        -------
        freqs : float64 array, shape (n_freqs,)
            Bin frequencies in Hz (``patch_len // 2 + 1`` bins, spacing
            ``1 / patch_seconds``).
        psd : float64 array, shape (n_channels, n_patches, n_freqs)
            One-sided density (periodogram scaling, as ``scipy.signal.periodogram``):
            summing a band's bins times the spacing gives its power.

        Examples
        --------
        >>> import numpy as np
        >>> x = np.random.default_rng(0).standard_normal((2000, 2))
        >>> tok = RVQTokenizer(n_codebooks=2, codebook_size=8, dim=16, hidden=4, width=32,
        ...                    n_steps=5, batch_size=8).fit(x, rate=200.0)
        >>> freqs, psd = tok.decode_spectrum(tok.encode(x, rate=200.0))
        >>> freqs[:3], psd.shape
        (array([0., 1., 2.]), (2, 10, 101))
        """
        (log_amp, _, _), (C, P), _, scale = self._decode_heads(codes, ch_names, ch_types)
        n = self.patch_len
        power = np.exp(2.0 * log_amp.cpu().numpy().astype(np.float64)).reshape(C, P, -1)
        # one-sided periodogram density: |X_k|^2 / (fs n), doubled except at DC and Nyquist
        psd = power / (self.sfreq * n)
        psd[..., 1:(n + 1) // 2] *= 2.0
        if scale is not None:
            psd = psd * (np.asarray(scale, np.float64)[:, None, None] ** 2)
        return np.fft.rfftfreq(n, 1.0 / self.sfreq), psd

    @verbose_method
    def reconstruct(self, data: Any, *, rate: float | None = None, ch_names: Any = None,
                    ch_types: Any = None, verbose: bool | str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Resampled input and its reconstruction through the codes, both (T, C) at ``sfreq``.

        The target is cropped to whole patches so both arrays line up sample by sample.
        """
        codes = self.encode(data, rate=rate, ch_names=ch_names, ch_types=ch_types,
                            verbose=verbose)  # this call's level, not self.verbose
        (sig,) = prepare_signals(data, rate=rate, ch_names=ch_names, ch_types=ch_types)
        target = resample(sig.x, sig.rate, self.sfreq)
        recon = self.decode(codes)
        return target[: recon.shape[0]], recon

    # -- persistence -------------------------------------------------------------------
    def _payload(self, optimizer=None) -> dict[str, Any]:
        params = self.get_params()
        params.pop("verbose")  # how chatty a run is, not part of the model
        params["kernel_sizes"] = [int(k) for k in params["kernel_sizes"]]
        params["loss_weights"] = [float(w) for w in params["loss_weights"]]
        params["checkpoint_dir"] = None if params["checkpoint_dir"] is None else str(
            params["checkpoint_dir"])
        doc = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "params": params,
               "config": self.module_.get_config(),
               "state_dict": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
               "channel_vocab": list(self.channel_vocab_), "history": list(self.history_),
               "n_steps_done": int(self.n_steps_done_)}
        if optimizer is not None:
            doc["optimizer"] = optimizer.state_dict()
        return doc

    def _write(self, path: Path, optimizer=None) -> None:
        import torch

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(path, overwrite=True) as tmp:  # temp name, fsync, rename
                torch.save(self._payload(optimizer), tmp)
        except OSError as err:  # (a WriteError is an OSError too)
            raise WriteError(f"could not write the tokenizer ({err}); check the folder "
                             "exists and is writable", path=path) from None

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        import pickle

        import torch

        path = Path(path)
        if not path.exists():
            raise MissingFileError("no such RVQ tokenizer file; train one with "
                                   "RVQTokenizer.fit(...).save(path) or `neuroloom tokenize "
                                   "train`", path=path)
        try:
            doc = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            raise FormatError(f"expected a torch file written by RVQTokenizer.save; could "
                              f"not read it ({str(err).splitlines()[0]})", path=path) from None
        if not isinstance(doc, dict) or doc.get("format") != _FILE_FORMAT:
            raise FormatError(f"expected format {_FILE_FORMAT!r}; found "
                              f"{doc.get('format') if isinstance(doc, dict) else type(doc)}",
                              path=path)
        return doc

    def save(self, path: str | Path) -> Path:
        """Write parameters, weights, codebooks, channel vocabulary and history (atomic)."""
        self._check_fitted()
        self._write(Path(path))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> RVQTokenizer:
        """Read a tokenizer written by :meth:`save` (or a checkpoint)."""
        from .rvq_modules import RVQAutoencoder

        doc = cls._read(Path(path))
        params = dict(doc["params"])
        params["kernel_sizes"] = tuple(params["kernel_sizes"])
        params["loss_weights"] = tuple(params["loss_weights"])
        params["device"] = device
        params.pop("verbose", None)
        params.setdefault("gain_head", bool(doc["config"].get("gain_head", False)))
        tok = cls(**params)
        tok.module_ = RVQAutoencoder.from_config(doc["config"])
        tok.module_.load_state_dict(doc["state_dict"])
        tok.module_.to(device).eval()
        tok.channel_vocab_ = list(doc["channel_vocab"])
        tok.history_ = list(doc["history"])
        tok.n_steps_done_ = int(doc["n_steps_done"])
        return tok
