"""Read-outs of a trained Neuroformer and the baselines it is compared with.

* :func:`attention_connectivity` — a directed neuron → neuron estimate from attention: when
  the model predicts a spike of neuron ``j``, how much attention (cross-attention to the
  past window and causal self-attention to earlier spikes of the current window, averaged
  over heads and layers) falls on the spikes of neuron ``i``, relative to the share of
  ``i``'s spikes among the attended tokens.  This follows Neuroformer's use of attention
  to recover simulated circuit connectivity (Joshi et al. 2023, ICLR 2024).
* :func:`finetune_behaviour` — few-shot fine-tuning of the behaviour head from a
  pretrained model (backbone frozen or not).
* :func:`token_f1` — Neuroformer's token metric: precision / recall / F1 of the neuron IDs
  generated in each window against the recorded ones (multiset overlap per window).
* Baselines: ridge regression and a GRU on binned counts (:func:`ridge_baseline`,
  :func:`gru_baseline`) and a per-neuron rate model for token F1
  (:func:`rate_baseline_f1`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from neurodata.spikes import SpikeTrains

from .errors import NeuroformerError
from .tokens import N_SPECIAL, TokenWindows

__all__ = ["attention_connectivity", "connectivity_auroc", "finetune_behaviour", "token_f1",
           "binned_features", "ridge_baseline", "gru_baseline", "rate_baseline_f1"]


def attention_connectivity(model: Any, windows: TokenWindows, *, method: str = "attention",
                           batch_size: int = 64, include_self: bool = True,
                           layers: list[int] | None = None) -> np.ndarray:
    """Directed connectivity ``C[i, j]`` (influence of neuron ``i`` on ``j``) from attention.

    Keys are the past-window tokens (cross-attention) and, with ``include_self``, the
    earlier current-window tokens (causal self-attention); each query is a position whose
    next-token target is a spike of neuron ``j``.

    * ``method="attention"``: the attention weight on keys of neuron ``i``, averaged over
      heads and layers, divided by the fraction of keys that belong to ``i`` (1 = no
      preference); ``C[i, j]`` is its mean over ``j``'s predictions.
    * ``method="neuron_attention"`` (models built with ``neuron_attention=True``): in the
      neuron-query head, neuron ``j``'s own query attends over the raw earlier spikes and
      each key ``k`` adds exactly ``A[q, j, k] (u_j · v_k)`` to ``j``'s logit; ``C[i, j]``
      is that attention-weighted contribution summed over ``i``'s spikes, averaged over
      the query positions where ``i`` has spikes in view (every position and every ``j``
      counts, not only the observed targets).
    * ``method="attention_grad"``: attention × its gradient (the attribution of Chefer et
      al. 2021) of ``log p(target = j)``, summed over heads and layers and over the keys of
      neuron ``i``, averaged over ``j``'s predictions: how much attending to ``i``'s spikes
      raised the probability of ``j`` firing next.

    Parameters
    ----------
    model : Neuroformer
        A fitted estimator.
    windows : TokenWindows
    method : {"attention", "attention_grad", "neuron_attention"}, default="attention"
    batch_size : int, default=64
    include_self : bool, default=True
    layers : list of int or None
        Decoder layers whose attention is used (default all).

    Returns
    -------
    C : float array (n_units, n_units)
        NaN where a pair was never observed.
    """
    if method not in ("attention", "attention_grad", "neuron_attention"):
        raise NeuroformerError(f"method must be 'attention', 'attention_grad' or "
                               f"'neuron_attention'; got {method!r}")
    model.check_windows(windows)
    if method == "neuron_attention":
        return _neuron_attention_connectivity(model, windows, batch_size=batch_size)
    net = model.net_.eval()
    dev = next(net.parameters()).device
    n = len(model.units_)
    num = np.zeros((n, n))
    cnt = np.zeros((n, n))
    grad = method == "attention_grad"
    for s in range(0, len(windows), batch_size):
        b = model._batch(windows, range(s, min(s + batch_size, len(windows))))
        with torch.set_grad_enabled(grad):
            out = net(b, need_weights=True)
        y = b["y_id"] - N_SPECIAL  # target neuron of each query position
        qmask = b["mask"] & (y >= 0)
        if grad:
            for pair in out["attention"]:
                for w in pair:
                    w.retain_grad()
            logp = torch.log_softmax(out["logits_id"].float(), -1).gather(
                -1, b["y_id"][..., None])[..., 0]
            net.zero_grad(set_to_none=True)
            (logp * qmask).sum().backward()
        keys = [(b["past_id"] - N_SPECIAL, b["past_mask"], 0)]
        if include_self:
            keys.append((b["x_id"] - N_SPECIAL, b["mask"], 1))
        pairs = [out["attention"][i] for i in (layers or range(len(out["attention"])))]
        tgt = torch.nn.functional.one_hot(y.clamp(min=0), n).float() * qmask[..., None]
        for key_ids, key_mask, which in keys:
            if grad:  # (B, Lq, Lk): attention x gradient, summed over heads and layers
                att = sum((p[which] * p[which].grad).sum(1) for p in pairs)
            else:  # (B, Lq, Lk): attention averaged over heads and layers
                att = torch.stack([p[which] for p in pairs]).mean(0).mean(1)
            att = att.detach().float()
            if which == 0:
                att = att[:, :, 1:]  # the always-present null slot is no neuron
            valid_k = key_mask & (key_ids >= 0)
            if which == 1:
                lq = att.shape[1]
                causal = torch.ones(lq, lq, dtype=torch.bool, device=dev).tril()
                kmask = valid_k[:, None, :] & causal[None]
            else:
                kmask = valid_k[:, None, :].expand(-1, att.shape[1], -1)
            onehot = torch.nn.functional.one_hot(key_ids.clamp(min=0), n).float()
            onehot = onehot * valid_k[..., None]
            kf = kmask.float()
            mass = torch.einsum("bqk,bki->bqi", att * kf, onehot)  # on the keys of unit i
            share = torch.einsum("bqk,bki->bqi", kf, onehot)
            present = (share > 0) & qmask[..., None]
            if grad:
                r = mass
            else:
                total = kf.sum(-1, keepdim=True).clamp(min=1)
                tot_att = (att * kf).sum(-1, keepdim=True).clamp(min=1e-12)
                r = (mass / tot_att) / (share / total).clamp(min=1e-12)
            r = torch.where(present, r, torch.zeros_like(r))
            num += torch.einsum("bqj,bqi->ij", tgt, r).double().cpu().numpy()
            cnt += torch.einsum("bqj,bqi->ij", tgt, present.float()).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / cnt


@torch.no_grad()
def _neuron_attention_connectivity(model: Any, windows: TokenWindows, *,
                                   batch_size: int) -> np.ndarray:
    net = model.net_.eval()
    if not net.config.neuron_attention:
        raise NeuroformerError("method='neuron_attention' needs a model trained with "
                               "neuron_attention=True")
    n = len(model.units_)
    num = np.zeros((n, n))
    cnt = np.zeros(n)
    for s in range(0, len(windows), batch_size):
        b = model._batch(windows, range(s, min(s + batch_size, len(windows))))
        mem = net.encode_memory(b)
        h, _, raw = net.decode(b["x_id"], b["x_dt"], mem)
        _, a = net.neuron_attention(h, mem, raw)  # (B, L, n, K): K = null + past + current
        values = net.na_val(torch.cat([mem["past_raw"], raw], dim=1))  # (B, K, e)
        # exact contribution of key k to neuron j's logit: A[q, j, k] * (u_j . v_k)
        contrib = a * torch.einsum("bke,ne->bnk", values, net.na_out.weight[4:])[:, None]
        key_ids = torch.cat([torch.full_like(b["past_id"][:, :1], -1),
                             b["past_id"] - N_SPECIAL, b["x_id"] - N_SPECIAL], dim=1)
        key_ok = torch.cat([torch.zeros_like(b["past_mask"][:, :1]), b["past_mask"],
                            b["mask"]], dim=1) & (key_ids >= 0)
        lq, p1 = a.shape[1], b["past_id"].shape[1] + 1
        causal = torch.ones(lq, key_ids.shape[1], dtype=torch.bool, device=a.device)
        causal[:, p1:] = torch.ones(lq, lq, dtype=torch.bool, device=a.device).tril()
        kf = (key_ok[:, None, :] & causal[None] & b["mask"][..., None]).float()  # (B, L, K)
        onehot = torch.nn.functional.one_hot(key_ids.clamp(min=0), n).float()
        num += torch.einsum("blnk,blk,bki->in", contrib.float(), kf, onehot).double().numpy()
        present = torch.einsum("blk,bki->bli", kf, onehot) > 0
        cnt += present.float().sum((0, 1)).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / cnt[:, None]


def connectivity_auroc(estimate: np.ndarray, adjacency: np.ndarray) -> float:
    """AUROC of a directed estimate against the true directed graph (off-diagonal pairs;
    NaN estimates count as the lowest score).

    Examples
    --------
    >>> import numpy as np
    >>> connectivity_auroc(np.array([[0, .9], [.1, 0]]), np.array([[0, 1], [0, 0]]))
    1.0
    """
    from sklearn.metrics import roc_auc_score

    est = np.asarray(estimate, np.float64)
    adj = np.asarray(adjacency, bool)
    if est.shape != adj.shape or est.ndim != 2 or est.shape[0] != est.shape[1]:
        raise NeuroformerError(f"estimate {est.shape} and adjacency {adj.shape} must be the "
                               "same square shape")
    off = ~np.eye(est.shape[0], dtype=bool)
    score = np.where(np.isfinite(est), est, np.nanmin(est[off]) - 1 if np.isfinite(
        est[off]).any() else 0.0)
    y = adj[off]
    if y.all() or not y.any():
        raise NeuroformerError("the true graph needs both connected and unconnected pairs")
    return float(roc_auc_score(y, score[off]))


def finetune_behaviour(model: Any, windows: TokenWindows, *, n_windows: int | None = None,
                       epochs: int = 20, lr: float = 1e-3, freeze_backbone: bool = True,
                       batch_size: int = 32, random_state: int = 0) -> Any:
    """Few-shot fine-tuning of the behaviour head of a pretrained model.

    Parameters
    ----------
    model : Neuroformer
        Pretrained (e.g. :meth:`Neuroformer.load`); it must have a behaviour head.
    windows : TokenWindows
        Windows with behaviour targets (same vocabulary).
    n_windows : int or None
        Use only the first ``n_windows`` windows (the "shots"); all by default.
    epochs : int, default=20
    lr : float, default=1e-3
    freeze_backbone : bool, default=True
        Train only the behaviour head (the rest of the network stays as pretrained).
    batch_size : int, default=32
    random_state : int, default=0

    Returns
    -------
    tuned : Neuroformer
        A copy; ``model`` is unchanged.  ``tuned.finetune_history_`` holds the losses.
    """
    model.check_windows(windows)
    if windows.behaviour is None or not hasattr(model.net_, "head_beh"):
        raise NeuroformerError("fine-tuning needs a model with a behaviour head and windows "
                               "with behaviour targets")
    tuned = copy.deepcopy(model)
    net = tuned.net_
    if n_windows is not None:
        keep = np.flatnonzero(windows.window_index < np.unique(windows.window_index)[
            min(int(n_windows), windows.n_windows) - 1] + 1)
        windows = windows.subset(keep)
    params = list(net.head_beh.parameters()) if freeze_backbone else list(net.parameters())
    for p in net.parameters():
        p.requires_grad_(not freeze_backbone)
    for p in net.head_beh.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    hist = []
    for _ in range(epochs):
        net.train()
        if freeze_backbone:  # keep dropout of the frozen backbone off
            net.eval()
            net.head_beh.train()
        order = rng.permutation(len(windows))
        tot = 0.0
        for s in range(0, len(order), batch_size):
            b = tuned._batch(windows, order[s:s + batch_size])
            out = net(b)
            loss = out["loss_behaviour"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(order[s:s + batch_size])
        hist.append(tot / len(order))
    for p in net.parameters():
        p.requires_grad_(True)
    net.eval()
    tuned.finetune_history_ = hist
    return tuned


def token_f1(real: SpikeTrains, generated: SpikeTrains, *, window: float,
             t_start: float | None = None, t_stop: float | None = None) -> dict[str, float]:
    """Precision, recall and F1 of generated neuron IDs per window against the real ones.

    Both blocks are counted per unit in windows of ``window`` s; the true positives of a
    window are ``Σ_u min(real_u, generated_u)`` (multiset overlap).  Sums run over all
    windows (micro average).

    Examples
    --------
    >>> a = SpikeTrains.from_unit_times({"x": [0.01, 0.02], "y": [0.07]}, t_start=0, t_stop=0.1)
    >>> b = SpikeTrains.from_unit_times({"x": [0.03], "y": [0.01]}, t_start=0, t_stop=0.1)
    >>> token_f1(a, b, window=0.05)["precision"]
    0.5
    """
    t0 = max(real.t_start, generated.t_start) if t_start is None else t_start
    t1 = min(real.t_stop, generated.t_stop) if t_stop is None else t_stop
    if real.units["name"].tolist() != generated.units["name"].tolist():
        raise NeuroformerError("real and generated spikes must share the unit table")
    r = real.bin(window, t_start=t0, t_stop=t1)
    g = generated.bin(window, t_start=t0, t_stop=t1)
    tp = float(np.minimum(r, g).sum())
    p = tp / g.sum() if g.sum() else 0.0
    rc = tp / r.sum() if r.sum() else 0.0
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    return {"precision": float(p), "recall": float(rc), "f1": float(f1),
            "n_real": int(r.sum()), "n_generated": int(g.sum())}


def rate_baseline_f1(train: SpikeTrains, test: SpikeTrains, *, window: float,
                     n_repeats: int = 20, random_state: int = 0) -> dict[str, float]:
    """Token F1 of a per-neuron rate model: each neuron fires a Poisson number of spikes
    per window at its training-block rate (independent of the past).  Averaged over
    ``n_repeats`` samples."""
    rng = np.random.default_rng(random_state)
    rates = np.bincount(train.unit_index, minlength=train.n_units) / max(
        train.t_stop - train.t_start, 1e-12)
    real = test.bin(window)
    scores = []
    for _ in range(n_repeats):
        g = rng.poisson(rates * window, size=real.shape)
        tp = float(np.minimum(real, g).sum())
        p = tp / g.sum() if g.sum() else 0.0
        r = tp / real.sum() if real.sum() else 0.0
        scores.append((p, r, 2 * p * r / (p + r) if p + r else 0.0))
    p, r, f = np.mean(scores, axis=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def binned_features(spikes: SpikeTrains, window_start: np.ndarray, *, window: float,
                    past_window: float, bin_size: float) -> np.ndarray:
    """Spike counts of the past + current span of each window, shape
    ``(n_windows, n_bins, n_units)`` with ``n_bins = (past_window + window) / bin_size``
    (the same information a Neuroformer window sees)."""
    span = past_window + window
    n_bins = int(round(span / bin_size))
    out = np.zeros((len(window_start), n_bins, spikes.n_units), np.float32)
    for k, s in enumerate(np.asarray(window_start)):
        a = s - past_window
        i0, i1 = np.searchsorted(spikes.times, [a, a + span])
        b = np.floor((spikes.times[i0:i1] - a) / bin_size + 1e-9).astype(np.int64)
        b = b.clip(0, n_bins - 1)
        np.add.at(out[k], (b, spikes.unit_index[i0:i1]), 1.0)
    return out


def ridge_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Ridge regression (alpha by leave-one-out CV over 1e-2..1e4) on flattened counts."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    m = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
    m.fit(x_train.reshape(len(x_train), -1), y_train)
    return m.predict(x_test.reshape(len(x_test), -1)).reshape(len(x_test), -1)


def gru_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *,
                 hidden: int = 64, epochs: int = 30, lr: float = 3e-3, batch_size: int = 64,
                 random_state: int = 0) -> tuple[np.ndarray, int]:
    """A GRU over the binned counts of each window's span → behaviour (MSE, AdamW).

    Returns the test predictions and the number of parameters (to match model sizes).
    """
    torch.manual_seed(random_state)
    xt = torch.as_tensor(np.log1p(x_train), dtype=torch.float32)
    mu, sd = y_train.mean(0), y_train.std(0) + 1e-6
    yt = torch.as_tensor((y_train - mu) / sd, dtype=torch.float32).reshape(len(y_train), -1)

    class _GRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(xt.shape[-1], hidden, batch_first=True, num_layers=2)
            self.out = torch.nn.Linear(hidden, yt.shape[1])

        def forward(self, x):
            return self.out(self.gru(x)[0][:, -1])

    net = _GRU()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    rng = np.random.default_rng(random_state)
    for _ in range(epochs):
        order = rng.permutation(len(xt))
        for s in range(0, len(order), batch_size):
            i = order[s:s + batch_size]
            loss = torch.nn.functional.mse_loss(net(xt[i]), yt[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        pred = net(torch.as_tensor(np.log1p(x_test), dtype=torch.float32)).numpy()
    n_par = sum(p.numel() for p in net.parameters())
    return pred * sd + mu, int(n_par)
