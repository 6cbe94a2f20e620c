"""Compact torch implementations of the EEG decoding networks used as baselines.

Each network takes input of shape (batch, n_chans, n_times), declares ``n_chans``,
``n_outputs``, ``n_times`` and ``sfreq``, and can be rebuilt from ``get_config()`` with
``from_config``.  :data:`MODELS` maps the names the sklearn wrapper
(:class:`decoders.torch_estimator.TorchClassifier`) accepts to the classes.
"""

from .deep4 import Deep4Net
from .eegnet import EEGNet
from .shallow import ShallowConvNet

MODELS = {"eegnet": EEGNet, "shallow": ShallowConvNet, "deep4": Deep4Net}

__all__ = ["EEGNet", "ShallowConvNet", "Deep4Net", "MODELS"]
