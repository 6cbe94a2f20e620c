"""Torch modules of the RVQ tokenizer: multi-scale encoder, spectral decoder, autoencoder.

The layout follows NeuroRVQ (multi-scale temporal convolutions → residual VQ →
decoders for log-amplitude and phase of the patch spectrum, time signal through the
inverse FFT) and LaBraM (Jiang et al. 2024: per-channel patches with channel
embeddings, Fourier-domain targets); the sizes are ours and small enough for CPU.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .patches import SUPPORTED_TYPES
from .quantizer import ResidualVQ

__all__ = ["MultiScaleEncoder", "SpectralDecoder", "RVQAutoencoder"]


class MultiScaleEncoder(nn.Module):
    """Parallel temporal convolutions at several kernel sizes → one latent vector per patch.

    Parameters
    ----------
    n_times : int
        Samples per patch.
    dim : int
        Latent size.
    hidden : int
        Channels per branch.
    kernel_sizes : tuple of int
        One branch per size (short kernels see fast rhythms, long ones slow waves).
    """

    def __init__(self, n_times: int, dim: int, hidden: int, kernel_sizes: tuple[int, ...]):
        super().__init__()
        self.branches = nn.ModuleList()
        for k in kernel_sizes:
            self.branches.append(nn.Sequential(
                nn.Conv1d(1, hidden, k, stride=4, padding=k // 2), nn.GELU(),
                nn.Conv1d(hidden, hidden, 5, stride=5, padding=2), nn.GELU()))
        with torch.no_grad():
            n_out = sum(b(torch.zeros(1, 1, n_times)).numel() for b in self.branches)
        self.proj = nn.Linear(n_out, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, n_times) → (N, dim)."""
        x = x[:, None, :]
        if torch.is_grad_enabled():
            h = torch.cat([b(x).flatten(1) for b in self.branches], dim=1)
        else:
            h = torch.cat([_run_inplace_gelu(b, x).flatten(1) for b in self.branches], dim=1)
        return self.proj(h)


def _run_inplace_gelu(seq: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``seq(x)`` without autograd, with each GELU applied in place on the layer before.

    The same GELU kernel on the same values (bit-identical output); it saves allocating
    a fresh (N, hidden, L) tensor per activation, ~5 % of an encode.  Only for inference:
    in-place activations would break the backward pass.
    """
    own = False  # never write into the caller's tensor
    for layer in seq:
        if own and isinstance(layer, nn.GELU):
            torch.ops.aten.gelu_(x, approximate=layer.approximate)
        else:
            x = layer(x)
            own = True
    return x


class SpectralDecoder(nn.Module):
    """Latent → log-amplitude and phase of the patch spectrum → time signal (inverse FFT).

    With ``gain_head=True`` a third head predicts a log-gain per frequency that only the
    time signal uses: ``signal = irfft(exp(log_amp + log_gain) * phase)``.  The time-domain
    MSE then shrinks the bins whose phase the code cannot pin down through the gain, and
    ``log_amp`` stays an estimate of the patch's amplitude spectrum instead of a
    compromise between the two losses (the tokenizer fits it by the Whittle likelihood,
    so ``exp(2 * log_amp)`` estimates the expected periodogram); :meth:`spectral_signal`
    rebuilds a signal with that full amplitude.  Without it (tokenizers saved before the head
    existed) the time signal uses ``log_amp`` directly.
    """

    def __init__(self, n_times: int, dim: int, width: int, gain_head: bool = False):
        super().__init__()
        self.n_times = n_times
        self.n_freqs = n_times // 2 + 1
        self.body = nn.Sequential(nn.Linear(dim, width), nn.GELU(), nn.Linear(width, width),
                                  nn.GELU())
        self.log_amp = nn.Linear(width, self.n_freqs)
        self.phase = nn.Linear(width, 2 * self.n_freqs)
        self.log_gain = nn.Linear(width, self.n_freqs) if gain_head else None
        if gain_head:
            # start at the amplitude of unit white noise, sqrt(n): the Whittle loss then
            # begins near its floor instead of at ~n/2, which would swamp the time loss
            with torch.no_grad():
                self.log_amp.bias.fill_(0.5 * math.log(n_times))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, dim) → log-amplitude (N, F), unit phase vectors (N, F, 2), signal (N, n_times)."""
        h = self.body(z)
        log_amp = self.log_amp(h)
        ph = self.phase(h).view(-1, self.n_freqs, 2)
        ph = ph / ph.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        log_mag = log_amp if self.log_gain is None else log_amp + self.log_gain(h)
        return log_amp, ph, self._irfft(log_mag, ph)

    def _irfft(self, log_mag: torch.Tensor, ph: torch.Tensor) -> torch.Tensor:
        spec = torch.exp(log_mag) * torch.complex(ph[..., 0], ph[..., 1])
        return torch.fft.irfft(spec, n=self.n_times, dim=-1)

    def spectral_signal(self, log_amp: torch.Tensor, ph: torch.Tensor) -> torch.Tensor:
        """Time signal with the predicted full amplitude spectrum (no MSE shrinkage)."""
        return self._irfft(log_amp, ph)


class RVQAutoencoder(nn.Module):
    """Patch autoencoder with channel/type embeddings and a residual VQ bottleneck.

    Parameters
    ----------
    n_times : int
        Samples per patch (``sfreq * patch_seconds``).
    sfreq : float
        Sampling rate of the patches in Hz.
    n_channel_names : int
        Size of the channel-name vocabulary (index 0 = unknown name).
    dim, hidden, width : int
        Latent size, encoder branch channels, decoder width.
    kernel_sizes : tuple of int
    n_codebooks, codebook_size : int
    decay, commitment, dead_threshold : float
        Quantizer settings (see :class:`ResidualVQ`).
    code_dim : int or None
        Quantize in a learned ``code_dim``-dimensional projection of the latent (factorized
        codes, Yu et al. 2022, "Vector-quantized image modeling with improved VQGAN");
        ``None`` quantizes the latent itself.
    gain_head : bool
        Give the time signal its own per-frequency gain (see :class:`SpectralDecoder`).

    Examples
    --------
    >>> m = RVQAutoencoder(n_times=200, sfreq=200.0, n_channel_names=3, dim=16, hidden=4,
    ...                    width=32, kernel_sizes=(5, 15), n_codebooks=2, codebook_size=8)
    >>> out = m(torch.randn(6, 200), torch.zeros(6, dtype=torch.long),
    ...         torch.zeros(6, dtype=torch.long))
    >>> tuple(out["codes"].shape), tuple(out["signal"].shape)
    ((6, 2), (6, 200))
    >>> RVQAutoencoder.from_config(m.get_config()).get_config() == m.get_config()
    True
    """

    def __init__(self, n_times: int, sfreq: float, n_channel_names: int, *, dim: int = 64,
                 hidden: int = 16, width: int = 256, kernel_sizes: tuple[int, ...] = (5, 15, 45),
                 n_codebooks: int = 4, codebook_size: int = 64, decay: float = 0.99,
                 commitment: float = 0.25, dead_threshold: float = 0.5,
                 code_dim: int | None = None, gain_head: bool = True):
        super().__init__()
        self._config = {"n_times": int(n_times), "sfreq": float(sfreq),
                        "n_channel_names": int(n_channel_names), "dim": int(dim),
                        "hidden": int(hidden), "width": int(width),
                        "kernel_sizes": [int(k) for k in kernel_sizes],
                        "n_codebooks": int(n_codebooks), "codebook_size": int(codebook_size),
                        "decay": float(decay), "commitment": float(commitment),
                        "dead_threshold": float(dead_threshold),
                        "code_dim": None if code_dim is None else int(code_dim),
                        "gain_head": bool(gain_head)}
        self.encoder = MultiScaleEncoder(n_times, dim, hidden, tuple(kernel_sizes))
        self.name_emb = nn.Embedding(n_channel_names, dim)
        self.type_emb = nn.Embedding(len(SUPPORTED_TYPES), dim)
        nn.init.normal_(self.name_emb.weight, std=0.02)
        nn.init.normal_(self.type_emb.weight, std=0.02)
        q_dim = dim if code_dim is None else int(code_dim)
        self.to_code = nn.Identity() if code_dim is None else nn.Linear(dim, q_dim)
        self.from_code = nn.Identity() if code_dim is None else nn.Linear(q_dim, dim)
        self.quantizer = ResidualVQ(q_dim, n_codebooks, codebook_size, decay=decay,
                                    commitment=commitment, dead_threshold=dead_threshold)
        self.decoder = SpectralDecoder(n_times, dim, width, gain_head=gain_head)

    def get_config(self) -> dict[str, Any]:
        """JSON-serializable constructor arguments."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RVQAutoencoder:
        """Rebuild (untrained) from :meth:`get_config`."""
        cfg = dict(config)
        cfg.setdefault("gain_head", False)  # files written before the head existed
        return cls(cfg.pop("n_times"), cfg.pop("sfreq"), cfg.pop("n_channel_names"), **cfg)

    def _context(self, name_idx: torch.Tensor, type_idx: torch.Tensor) -> torch.Tensor:
        return self.name_emb(name_idx) + self.type_emb(type_idx)

    def embed(self, x: torch.Tensor, name_idx: torch.Tensor, type_idx: torch.Tensor
              ) -> torch.Tensor:
        """Continuous latent before quantization, (N, code_dim or dim)."""
        return self.to_code(self.encoder(x) + self._context(name_idx, type_idx))

    def decode_latent(self, zq: torch.Tensor, name_idx: torch.Tensor, type_idx: torch.Tensor):
        """Quantized latent (N, code_dim or dim) → (log-amplitude, phase, signal)."""
        return self.decoder(self.from_code(zq) + self._context(name_idx, type_idx))

    def forward(self, x: torch.Tensor, name_idx: torch.Tensor, type_idx: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """Encode, quantize and decode patches ``x`` (N, n_times)."""
        z = self.embed(x, name_idx, type_idx)
        zq, codes, commit = self.quantizer(z)
        log_amp, phase, signal = self.decode_latent(zq, name_idx, type_idx)
        return {"codes": codes, "commit": commit, "log_amp": log_amp, "phase": phase,
                "signal": signal}
