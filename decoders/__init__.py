"""decoders: epoching, classical and deep EEG/MEG/iEEG decoders, the batch decoding
benchmark, and tokenizers (``decoders.tokenizers``).

Torch-based names (``EEGNet``, ``ShallowConvNet``, ``Deep4Net``, ``TorchClassifier``) are
imported on first use so that ``import decoders`` does not load torch.
"""

from . import braindecoding, tokenizers
from .benchmark import BenchmarkResult, DecodingError, config_hash, load_config, run_benchmark
from .epochs import Epochs, eegmmidb_classes, make_epochs
from .evaluation import evaluate
from .moabb_source import moabb_sources
from .pipeline_registry import PIPELINES, list_pipelines, make_pipeline
from .pipelines_classical import FilterBankCSP
from .pipelines_tokens import RVQTokenHistogram, make_rvq_tokens_lr

_LAZY = {
    "TorchClassifier": "torch_estimator",
    "EEGNet": "models",
    "ShallowConvNet": "models",
    "Deep4Net": "models",
    "Neuroformer": "neuroformer",
}

__all__ = [
    "Epochs", "make_epochs", "eegmmidb_classes", "evaluate", "run_benchmark", "load_config",
    "BenchmarkResult", "DecodingError", "config_hash", "moabb_sources", "make_pipeline",
    "list_pipelines", "PIPELINES", "FilterBankCSP",
    "tokenizers", "braindecoding", "RVQTokenHistogram", "make_rvq_tokens_lr",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'decoders' has no attribute {name!r}")
