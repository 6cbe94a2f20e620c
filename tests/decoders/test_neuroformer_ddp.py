"""Neuroformer data-parallel training: 2 gloo CPU processes match 1 process (synthetic).

Synthetic ground truth (the simulated circuit).  Two processes each take half of every
global batch; with per-chunk loss averaging (or per-token averaging, each rank dividing by
its share of the global batch's tokens) their averaged gradients equal one process's on
the whole batch, so the loss curves must agree to float precision.
"""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

KW = dict(n_head=2, n_layer=1, block_size=16, past_block_size=32, batch_size=16,
          dropout=0.0, lr=3e-3, epochs=2, contrastive=False, random_state=0, device="cpu",
          verbose=False)


def _windows():
    from decoders.neuroformer import make_windows, simulate_circuit
    from decoders.tokenizers import SpikeTokenizer

    sim = simulate_circuit(n_neurons=6, n_trials=6, random_state=2)
    st = sim.recording.spikes["units"]
    tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    w = make_windows(st, tok, behaviour=sim.recording.timeseries["behavior"], block_size=16,
                     max_past=32)
    return w.subset(range(64))  # 4 full global batches per epoch


def _worker(rank: int, world: int, port: int, out: str, token_loss: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    import torch.distributed as dist

    from decoders.neuroformer import Neuroformer

    m = Neuroformer(16, token_loss=token_loss, **KW).fit(_windows())
    if rank == 0:
        with open(out, "w") as f:
            json.dump([h["train_loss"] for h in m.history_], f)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("token_loss", ["chunk", "token"])
def test_two_gloo_processes_match_one(tmp_path, token_loss):
    from decoders.neuroformer import Neuroformer

    torch.set_num_threads(1)
    single = Neuroformer(16, token_loss=token_loss, **KW).fit(_windows())
    out = tmp_path / "ddp.json"
    mp.start_processes(_worker, args=(2, _free_port(), str(out), token_loss), nprocs=2,
                       join=True, start_method="fork")
    ddp = json.loads(out.read_text())
    np.testing.assert_allclose(ddp, [h["train_loss"] for h in single.history_], rtol=1e-4)
    assert ddp[-1] < ddp[0]
