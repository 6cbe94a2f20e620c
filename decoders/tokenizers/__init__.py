"""Tokenizers: Neuroformer spike tokens and residual-vector-quantized signal tokens.

* :class:`SpikeTokenizer` — spikes (or calcium events) → (neuron-ID, time-offset) token
  sequences per window with past-state context; exact round trip at ``dt``.
* :class:`RVQTokenizer` — EEG/MEG/sEEG/ECoG → integer codes (channels, patches,
  codebooks) with a multi-scale conv encoder, residual VQ and a spectral decoder.
* Baselines at equal bits (:class:`KMeansPatchVQ`, :func:`make_vqvae`) and metrics
  (:mod:`decoders.tokenizers.metrics`).

Heavy dependencies (torch) are imported when a model is built, not on import.
"""

from .baselines import KMeansPatchVQ, make_vqvae
from .metrics import (
    BANDS,
    band_power_error,
    code_histograms,
    codebook_perplexity,
    group_code_histograms,
    normalized_mse,
    pearson_r,
    reconstruction_report,
)
from .rvq import RVQCodes, RVQTokenizer
from .spike import (
    EOS,
    PAD,
    SOS,
    SPECIAL_TOKENS,
    UNK,
    SpikeTokenizer,
    SpikeTokens,
    calcium_events,
    collate_spike_tokens,
)

__all__ = [
    "SpikeTokenizer", "SpikeTokens", "collate_spike_tokens", "calcium_events",
    "PAD", "SOS", "EOS", "UNK", "SPECIAL_TOKENS",
    "RVQTokenizer", "RVQCodes", "KMeansPatchVQ", "make_vqvae",
    "BANDS", "normalized_mse", "pearson_r", "band_power_error", "codebook_perplexity",
    "code_histograms", "group_code_histograms", "reconstruction_report",
]
