"""Neuroformer: a multimodal generative transformer on spike and calcium-event tokens.

After Joshi et al. 2023, "Neuroformer: Multimodal and Multitask Generative Pretraining for
Brain Data" (ICLR 2024); our own implementation on the ``Recording`` format.

* :mod:`~decoders.neuroformer.tokens` — windows of (neuron-ID, time-offset) tokens from
  spikes or calcium events (:class:`decoders.tokenizers.SpikeTokenizer` format), chunking,
  time-blocked splits, behaviour / stimulus alignment;
* :mod:`~decoders.neuroformer.model` — the torch network; :mod:`~.train` — the training
  loop (AdamW, warm-up + cosine, AMP, checkpoints, DDP); :class:`Neuroformer` — the
  estimator;
* :mod:`~decoders.neuroformer.generate` — sampling with a KV cache → ``SpikeTrains``;
* :mod:`~decoders.neuroformer.readouts` — behaviour decoding, few-shot fine-tuning,
  attention connectivity, token F1 and the baselines;
* :mod:`~decoders.neuroformer.simulate` — a recurrent spiking circuit with known wiring.
"""

from .errors import NeuroformerError
from .estimator import Neuroformer
from .generate import generate
from .model import DEFAULT_LOSS_WEIGHTS, NeuroformerConfig, NeuroformerNet
from .readouts import (
    attention_connectivity,
    connectivity_auroc,
    finetune_behaviour,
    gru_baseline,
    rate_baseline_f1,
    ridge_baseline,
    token_f1,
)
from .simulate import SimulatedCircuit, simulate_circuit, trial_psth
from .tokens import (
    TokenWindows,
    calcium_event_trains,
    collate_windows,
    make_windows,
    time_blocked_split,
    vocabulary_tokenizer,
)
from .train import TrainConfig, load_checkpoint, save_checkpoint, train_network

__all__ = [
    "NeuroformerError", "Neuroformer", "NeuroformerConfig", "NeuroformerNet",
    "DEFAULT_LOSS_WEIGHTS", "TokenWindows", "make_windows", "collate_windows",
    "time_blocked_split", "calcium_event_trains", "vocabulary_tokenizer", "TrainConfig",
    "train_network", "save_checkpoint", "load_checkpoint", "generate",
    "attention_connectivity", "connectivity_auroc", "finetune_behaviour", "token_f1",
    "ridge_baseline", "gru_baseline", "rate_baseline_f1", "SimulatedCircuit",
    "simulate_circuit", "trial_psth",
]
