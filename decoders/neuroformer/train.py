"""Training loop of the Neuroformer network: AdamW, warm-up + cosine, clipping, AMP, DDP.

* **Optimiser**: AdamW (weight decay on weight matrices only), learning rate warmed up
  linearly over ``warmup`` of the steps, then cosine-decayed to ``min_lr`` × ``lr``;
  gradient-norm clipping; bfloat16 autocast on CUDA when ``amp`` is on.
* **Reproducible**: the chunk order of epoch ``e`` is a permutation seeded by
  ``seed + e``, so a resumed run sees the same batches as an uninterrupted one.
* **Checkpoints** (``last.pt`` every epoch, ``best.pt`` on the best validation loss) hold
  only tensors, numbers and JSON strings, and are read back with
  ``torch.load(weights_only=True)``: nothing in a checkpoint can execute code.
* **Data parallel**: launched by ``torchrun`` (``WORLD_SIZE`` > 1) the loop initializes a
  process group (gloo on CPU, nccl on CUDA), wraps the network in
  ``DistributedDataParallel`` and gives rank ``r`` the chunks ``r::world`` of every global
  batch; since token losses are averaged per chunk (or, with ``token_loss="token"``,
  divided by the rank's share of the global batch's token count), the averaged gradients
  and the logged loss equal those of one process with the same global batch.  (The
  contrastive term, when used, takes its negatives from the process's own shard.)
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodata.atomic import atomic_path
from neurodata.errors import FormatError, MissingFileError
from neurodata.log import logger, progress_enabled, verbose

from .config import TrainSection
from .errors import NeuroformerError
from .tokens import TokenWindows, collate_windows

__all__ = ["TrainConfig", "train_network", "evaluate_network", "save_checkpoint",
           "load_checkpoint", "resolve_device", "distributed_context"]

CHECKPOINT_FORMAT = "neuroloom.neuroformer"
CHECKPOINT_VERSION = 1


# The optimisation settings are the YAML config's ``train`` section (one dataclass, so
# the two cannot drift apart); ``TrainConfig`` is its name on the training API.
TrainConfig = TrainSection


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def distributed_context() -> tuple[int, int]:
    """(rank, world size); initializes the process group when run under ``torchrun``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and dist.is_available():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


def _param_groups(net: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 and "emb" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _lr_factor(step: int, total: int, warmup: int, min_lr: float) -> float:
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    frac = (step - warmup) / max(total - warmup, 1)
    return min_lr + (1 - min_lr) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))


@torch.no_grad()
def evaluate_network(net: torch.nn.Module, windows: TokenWindows, *, batch_size: int = 64,
                     device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean losses over all chunks of ``windows`` (eval mode, no gradient)."""
    device = torch.device(device)
    was = net.training
    net.eval()
    sums: dict[str, float] = {}
    n = 0
    for s in range(0, len(windows), batch_size):
        idx = range(s, min(s + batch_size, len(windows)))
        batch = _to(collate_windows([windows[i] for i in idx]), device)
        out = net(batch)
        for k, v in out.items():
            if k.startswith("loss"):
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
        n += len(idx)
    net.train(was)
    return {k: v / max(n, 1) for k, v in sums.items()}


def save_checkpoint(path: str | Path, *, net: torch.nn.Module, meta: dict[str, Any],
                    optimizer: Any = None, scheduler: Any = None, epoch: int = -1,
                    step: int = 0, history: list | None = None) -> Path:
    """Write a checkpoint atomically (tensors + JSON strings only)."""
    state = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
             "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
             "meta": json.dumps(meta), "epoch": int(epoch), "step": int(step),
             "history": json.dumps(history or []), "rng": torch.get_rng_state()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; ``meta`` and ``history``
    come back parsed."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError("no such Neuroformer checkpoint; train one with "
                               "`neuroloom neuroformer train`", path=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for foreign or corrupt files
        raise FormatError(f"expected a Neuroformer checkpoint (.pt) loadable with "
                          f"weights_only=True; could not read it ({type(err).__name__}: "
                          f"{str(err)[:200]})", path=path) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FormatError(f"expected format {CHECKPOINT_FORMAT!r}, found "
                          f"{state.get('format') if isinstance(state, dict) else type(state)}",
                          path=path)
    state["meta"] = json.loads(state["meta"])
    state["history"] = json.loads(state["history"])
    return state


@verbose
def train_network(net: torch.nn.Module, train: TokenWindows, val: TokenWindows | None,
                  config: TrainConfig, *, meta: dict[str, Any] | None = None,
                  checkpoint_dir: str | Path | None = None, resume: bool = False,
                  stop_after: int | None = None,
                  verbose: bool | str | None = None) -> list[dict[str, Any]]:
    """Train ``net`` on the chunks of ``train``; validate on ``val`` every epoch.

    Parameters
    ----------
    net : NeuroformerNet
    train, val : TokenWindows
        Training and validation chunks (from disjoint time blocks).
    config : TrainConfig
    meta : dict, optional
        JSON-able description stored in checkpoints (config, vocabulary, grid).
    checkpoint_dir : path-like or None
        Where ``last.pt`` / ``best.pt`` go (rank 0 only).
    resume : bool, default=False
        Continue from ``checkpoint_dir/last.pt`` when it exists.
    stop_after : int or None
        Return after this many epochs in total (the schedule still spans
        ``config.epochs``), e.g. to fit a cluster job's time limit; ``resume`` continues.
    verbose : bool or str or None
        Log level for this call; a tqdm bar shows progress unless silenced.

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``step``, ``lr``, ``train_loss`` (and its parts),
        ``val_loss`` (and its parts), ``tokens``, ``seconds``, ``tokens_per_s``.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    if len(train) == 0:
        raise NeuroformerError("no training chunks; the training interval holds no windows")
    rank, world = distributed_context()
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", rank % torch.cuda.device_count())
    torch.manual_seed(config.seed)
    net.to(device)
    model = DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.AdamW(_param_groups(net, config.weight_decay), lr=config.lr,
                            betas=(0.9, 0.95))
    per_epoch = math.ceil(len(train) / config.batch_size)
    total = per_epoch * config.epochs
    if config.max_steps:
        total = min(total, int(config.max_steps))
    warm = int(round(config.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: _lr_factor(s, total, warm, config.min_lr))
    history: list[dict[str, Any]] = []
    start_epoch, step = 0, 0
    ckdir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and ckdir is not None and (ckdir / "last.pt").exists():
        state = load_checkpoint(ckdir / "last.pt")
        net.load_state_dict(state["model"])
        if "optimizer" in state:
            opt.load_state_dict(state["optimizer"])
        if "scheduler" in state:
            sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        start_epoch, step, history = state["epoch"] + 1, state["step"], state["history"]
        logger.info("resumed from %s at epoch %d (step %d)", ckdir / "last.pt", start_epoch,
                    step)
    use_amp = bool(config.amp) and device.type == "cuda"
    best = min((h["val_loss"] for h in history if h.get("val_loss") is not None),
               default=math.inf)
    bar = None
    if progress_enabled() and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=step, desc="neuroformer", unit="step", leave=False)
    model.train()
    last_epoch = config.epochs if stop_after is None else min(config.epochs, int(stop_after))
    for epoch in range(start_epoch, last_epoch):
        if step >= total:
            break
        order = np.random.default_rng(config.seed + epoch).permutation(len(train))
        t_epoch = time.perf_counter()
        sums: dict[str, float] = {}
        n_seen, n_tok = 0, 0
        for b0 in range(0, len(order), config.batch_size):
            if step >= total:
                break
            glob = order[b0:b0 + config.batch_size]
            if len(glob) < world:
                continue
            local = glob[rank::world]
            batch = _to(collate_windows([train[int(i)] for i in local]), device)
            if world > 1:  # per-token loss: each rank's share of the global batch's tokens
                n_glob = sum(len(train.ids[int(i)]) - 1 for i in glob)
                batch["token_norm"] = torch.tensor(n_glob / world, dtype=torch.float32,
                                                   device=device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                out = model(batch)
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            step += 1
            stats = torch.tensor([float(out[k].detach()) * len(local) for k in sorted(out)
                                  if k.startswith("loss")] + [len(local),
                                                              float(batch["mask"].sum())],
                                 dtype=torch.float64)
            if world > 1:
                dist.all_reduce(stats)
            keys = [k for k in sorted(out) if k.startswith("loss")]
            for k, v in zip(keys, stats[:-2].tolist(), strict=True):
                sums[k] = sums.get(k, 0.0) + v
            n_seen += int(stats[-2])
            n_tok += int(stats[-1])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{sums['loss'] / n_seen:.3f}")
        seconds = time.perf_counter() - t_epoch
        rec: dict[str, Any] = {"epoch": epoch, "step": step, "lr": sched.get_last_lr()[0],
                               "tokens": n_tok, "seconds": seconds,
                               "tokens_per_s": n_tok / max(seconds, 1e-9)}
        rec.update({f"train_{k}": v / max(n_seen, 1) for k, v in sums.items()})
        if val is not None and len(val):
            vl = evaluate_network(net, val, batch_size=max(config.batch_size, 64),
                                  device=device)
            rec.update({f"val_{k}": v for k, v in vl.items()})
        history.append(rec)
        logger.info("epoch %d: train loss %.4f%s, %.0f tokens/s", epoch,
                    rec.get("train_loss", float("nan")),
                    f", val loss {rec['val_loss']:.4f}" if "val_loss" in rec else "",
                    rec["tokens_per_s"])
        if ckdir is not None and rank == 0:
            ckdir.mkdir(parents=True, exist_ok=True)
            save_checkpoint(ckdir / "last.pt", net=net, meta=meta or {}, optimizer=opt,
                            scheduler=sched, epoch=epoch, step=step, history=history)
            if rec.get("val_loss", math.inf) < best:
                best = rec["val_loss"]
                save_checkpoint(ckdir / "best.pt", net=net, meta=meta or {}, epoch=epoch,
                                step=step, history=history)
    if bar is not None:
        bar.close()
    net.eval()
    return history


def config_dict(config: TrainConfig) -> dict[str, Any]:
    """The training settings as a plain dict."""
    return asdict(config)
