"""Shared settings of the RVQ tokenizer tests: a tiny network, one torch thread.

Test modules import both names; importing the autouse fixture applies it to the module.
"""

from __future__ import annotations

import pytest
import torch

#: A tiny tokenizer at 100 Hz that trains in seconds on CPU.
TINY = dict(sfreq=100.0, dim=32, hidden=8, width=64, kernel_sizes=(5, 15), batch_size=32,
            train_stride=None)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread (no spin-waiting on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
