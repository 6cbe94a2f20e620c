"""Deep models: shapes, config round trips, input checks; the sklearn wrapper on a tiny
planted synthetic task (1-3 epochs on CPU; real numbers come from the benchmark)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from decoders.models import MODELS, Deep4Net, EEGNet, ShallowConvNet
from decoders.torch_estimator import TorchClassifier

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_and_config(name):
    net = MODELS[name](n_chans=8, n_outputs=3, n_times=161, sfreq=160.0)
    assert net(torch.zeros(2, 8, 161)).shape == (2, 3)
    cfg = net.get_config()
    assert cfg["n_chans"] == 8 and cfg["sfreq"] == 160.0
    again = type(net).from_config(cfg)
    assert again.get_config() == cfg
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("cls,n_times", [(EEGNet, 16), (ShallowConvNet, 40), (Deep4Net, 60)])
def test_too_short_windows(cls, n_times):
    with pytest.raises(ValueError, match="n_times"):
        cls(n_chans=4, n_outputs=2, n_times=n_times, sfreq=160.0)


def _planted(n=40, seed=0):
    """Synthetic (planted): class 1 has a 10-Hz oscillation on channel 0, class 0 none."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 100.0
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, 4, 100)) * 0.5
    X[y == 1, 0] += 3 * np.sin(2 * np.pi * 10 * t)
    return X, y


def test_wrapper_learns_seeded_and_restores_rng():
    X, y = _planted()
    state = torch.random.get_rng_state()
    a = TorchClassifier("shallow", sfreq=100.0, max_epochs=3, batch_size=8, lr=1e-2,
                        random_state=0).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())  # caller's RNG untouched
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert len(a.history_) == 3 and {"train_loss", "valid_loss"} <= set(a.history_[0])
    assert a.score(X, y) > 0.8
    assert a.predict(X[:3]).tolist() == a.classes_[a.predict_proba(X[:3]).argmax(1)].tolist()


@pytest.mark.parametrize("model", ["eegnet", "deep4"])
def test_wrapper_runs_each_model(model):
    X, y = _planted(n=20)
    clf = TorchClassifier(model, sfreq=100.0, max_epochs=1, random_state=1).fit(X, y)
    assert clf.predict_proba(X).shape == (20, 2)
    assert clf.best_epoch_ == 1


def test_wrapper_bad_input():
    X, y = _planted(n=20)
    with pytest.raises(ValueError, match="n_epochs, n_channels, n_times"):
        TorchClassifier(max_epochs=1).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="two classes"):
        TorchClassifier(max_epochs=1).fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="model must be one of"):
        TorchClassifier("resnet", max_epochs=1).fit(X, y)
    clf = TorchClassifier("eegnet", sfreq=100.0, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="channels"):
        clf.predict(X[:, :3])
