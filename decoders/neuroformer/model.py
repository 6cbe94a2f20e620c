"""The Neuroformer network (torch): past encoder, multimodal cross-attention, causal decoder.

Architecture after Joshi et al. 2023 (Neuroformer, ICLR 2024; github a-antoniades/
Neuroformer), written from the paper's description:

* tokens embed as ``E_id[id] + E_dt[dt] + E_pos[position]`` (learned);
* the **past window** is encoded by ``n_layer`` self-attention blocks;
* each of the ``n_layer`` **decoder** blocks lets the current window cross-attend to the
  encoded past, then to the other modalities (stimulus features, or frames through a
  small 3-D convolution; optional), then to the behaviour time series of the past window
  (a linear projection of each bin's samples + a learned embedding of its time in the
  past window; optional), then runs causal self-attention and an MLP;
* two heads predict the **next** token's neuron ID and time offset (the offset head also
  sees the embedding of the ID it is predicting for, so ``P(id, dt) = P(id) P(dt | id)``);
* optional behaviour head (regression or classification) on the pooled current window;
* a CLIP-style InfoNCE loss (temperature 0.5) aligns the pooled neural embedding with the
  pooled stimulus (or behaviour) embedding.

Loss = ``w_id CE_id + w_dt CE_dt + w_con InfoNCE (+ w_beh behaviour)`` with the paper
code's defaults 0.45 / 0.30 / 0.25.  Token losses are averaged inside each chunk and then
over chunks (``token_loss="chunk"``), or over every target token of the batch
(``token_loss="token"``, the default: the data's likelihood; the per-chunk mean
over-weights the EOS of sparse windows and under-counts spikes, see docs/neuroformer.md);
either way a data-parallel run over equal shards
has exactly the loss of one process.
Every attention layer supports a key/value cache for fast autoregressive generation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import NeuroformerError

__all__ = ["NeuroformerConfig", "NeuroformerNet", "DEFAULT_LOSS_WEIGHTS"]

#: Loss weights of the published code: ID 3/5 (1-1/4), dt 2/5 (1-1/4), contrastive 1/4.
DEFAULT_LOSS_WEIGHTS = {"id": 0.45, "dt": 0.30, "contrastive": 0.25, "behaviour": 1.0}


@dataclass
class NeuroformerConfig:
    """Sizes and options of :class:`NeuroformerNet` (JSON-able; ``to_dict``/``from_dict``).

    ``n_embd=256, n_head=8, n_layer=6`` are the paper's sizes; the defaults are small.
    ``n_past_layer`` is the depth of the past encoder (default ``n_layer``); 0 lets the
    current window attend to the raw past tokens, which keeps each key one neuron's spike
    (what attention-derived connectivity reads).
    ``stimulus_shape`` is ``(n_steps, n_features)`` for feature tokens or
    ``(n_steps, H, W)`` for frames (``stimulus_kind="frames"``).  ``n_behaviour`` > 0
    adds a regression head, ``behaviour_classes`` > 0 a classification head.
    ``token_loss`` is ``"token"`` (mean over all target tokens, the default) or
    ``"chunk"`` (mean per chunk, then over chunks; checkpoints written before this option
    existed were trained so and read back so).
    ``n_behaviour_input`` > 0 adds a cross-attention input of ``behaviour_input_steps``
    past-window bins of that many behaviour channels (standardized inside the network
    with the training windows' mean and standard deviation).
    """

    id_vocab_size: int
    dt_vocab_size: int
    block_size: int = 64
    past_block_size: int = 128
    n_embd: int = 64
    n_head: int = 4
    n_layer: int = 2
    n_past_layer: int | None = None
    dropout: float = 0.1
    stimulus_kind: str | None = None
    stimulus_shape: tuple[int, ...] | None = None
    n_behaviour: int = 0
    behaviour_classes: int = 0
    n_behaviour_input: int = 0
    behaviour_input_steps: int = 0
    contrastive_with: str | None = None  # "stimulus" | "behaviour" | None
    neuron_attention: bool = False
    token_loss: str = "token"
    temperature: float = 0.5
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LOSS_WEIGHTS))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stimulus_shape"] = None if self.stimulus_shape is None else list(self.stimulus_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NeuroformerConfig:
        d = dict(d)
        d.setdefault("token_loss", "chunk")  # what checkpoints without the key used
        if d.get("stimulus_shape") is not None:
            d["stimulus_shape"] = tuple(int(x) for x in d["stimulus_shape"])
        return cls(**d)

    def check(self) -> None:
        if self.n_embd % self.n_head:
            raise NeuroformerError(f"n_embd={self.n_embd} must be a multiple of "
                                   f"n_head={self.n_head}")
        if self.stimulus_kind not in (None, "features", "frames"):
            raise NeuroformerError(f"stimulus_kind must be None, 'features' or 'frames'; got "
                                   f"{self.stimulus_kind!r}")
        if self.token_loss not in ("chunk", "token"):
            raise NeuroformerError(f"token_loss must be 'chunk' or 'token'; got "
                                   f"{self.token_loss!r}")
        if self.contrastive_with not in (None, "stimulus", "behaviour"):
            raise NeuroformerError("contrastive_with must be None, 'stimulus' or 'behaviour'; "
                                   f"got {self.contrastive_with!r}")
        if (self.n_behaviour_input > 0) != (self.behaviour_input_steps > 0):
            raise NeuroformerError(
                "a behaviour input needs both n_behaviour_input and behaviour_input_steps "
                f"> 0; got {self.n_behaviour_input} and {self.behaviour_input_steps}")
        unknown = set(self.loss_weights) - set(DEFAULT_LOSS_WEIGHTS)
        if unknown:
            raise NeuroformerError(f"unknown loss weight(s) {sorted(unknown)}; allowed: "
                                   f"{sorted(DEFAULT_LOSS_WEIGHTS)}")


class Attention(nn.Module):
    """Multi-head attention with optional causal mask, key padding and a KV cache."""

    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head = n_head
        self.q = nn.Linear(n_embd, n_embd)
        self.kv = nn.Linear(n_embd, 2 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.drop = dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, e = x.shape
        return x.view(b, t, self.n_head, e // self.n_head).transpose(1, 2)

    def forward(self, x: torch.Tensor, mem: torch.Tensor | None = None, *,
                key_mask: torch.Tensor | None = None, causal: bool = False,
                cache: dict | None = None, need_weights: bool = False):
        q = self._heads(self.q(x))
        if mem is None:  # self-attention: new keys are appended to the cache
            k, v = (self._heads(t) for t in self.kv(x).chunk(2, dim=-1))
            if cache is not None:
                if "k" in cache:
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        elif cache is not None and "k" in cache:  # cross-attention memory is fixed
            k, v = cache["k"], cache["v"]
        else:
            k, v = (self._heads(t) for t in self.kv(mem).chunk(2, dim=-1))
            if cache is not None:
                cache["k"], cache["v"] = k, v
        lq, lk = q.shape[2], k.shape[2]
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]
        if causal and lq > 1:
            cm = torch.ones(lq, lk, dtype=torch.bool, device=x.device).tril(lk - lq)
            mask = cm[None, None] if mask is None else mask & cm[None, None]
        p = self.drop if self.training else 0.0
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            w = att.softmax(dim=-1)
            y = F.dropout(w, p, self.training) @ v
        else:
            w = None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(x.shape)
        return self.proj(y), w


class _MLP(nn.Sequential):
    def __init__(self, n_embd: int, dropout: float):
        super().__init__(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                         nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    """Pre-norm self-attention + MLP (past window)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.att = Attention(n_embd, n_head, dropout)
        self.mlp = _MLP(n_embd, dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.att(self.ln1(x), key_mask=key_mask)[0]
        return x + self.mlp(self.ln2(x))


class DecoderBlock(nn.Module):
    """Cross-attention to the past, to the stimulus, to behaviour; causal self-attention;
    MLP."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, modal: bool,
                 behav: bool = False):
        super().__init__()
        self.ln_past, self.ln_self, self.ln_mlp = (nn.LayerNorm(n_embd) for _ in range(3))
        self.past = Attention(n_embd, n_head, dropout)
        self.modal = Attention(n_embd, n_head, dropout) if modal else None
        self.ln_modal = nn.LayerNorm(n_embd) if modal else None
        self.behav = Attention(n_embd, n_head, dropout) if behav else None
        self.ln_behav = nn.LayerNorm(n_embd) if behav else None
        self.self_att = Attention(n_embd, n_head, dropout)
        self.mlp = _MLP(n_embd, dropout)

    def forward(self, x, past, past_mask, modal, modal_mask, *, cache=None,
                need_weights=False, behav=None, behav_mask=None):
        c = cache if cache is not None else {}
        a, w_past = self.past(self.ln_past(x), past, key_mask=past_mask,
                              cache=c.setdefault("past", {}) if cache is not None else None,
                              need_weights=need_weights)
        x = x + a
        if self.modal is not None:
            a, _ = self.modal(self.ln_modal(x), modal, key_mask=modal_mask,
                              cache=c.setdefault("modal", {}) if cache is not None else None)
            x = x + a
        if self.behav is not None:
            a, _ = self.behav(self.ln_behav(x), behav, key_mask=behav_mask,
                              cache=c.setdefault("behav", {}) if cache is not None else None)
            x = x + a
        a, w_self = self.self_att(self.ln_self(x), causal=True,
                                  cache=c.setdefault("self", {}) if cache is not None else None,
                                  need_weights=need_weights)
        x = x + a
        return x + self.mlp(self.ln_mlp(x)), w_past, w_self


class FrameEncoder(nn.Module):
    """Frames ``(B, T, H, W)`` → ``(B, T, n_embd)`` tokens through a small 3-D convolution."""

    def __init__(self, n_embd: int, shape: tuple[int, ...]):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv3d(1, 16, kernel_size=(3, 5, 5), padding=(1, 2, 2), stride=(1, 2, 2)),
            nn.GELU(),
            nn.Conv3d(16, 32, kernel_size=(3, 3, 3), padding=1, stride=(1, 2, 2)), nn.GELU())
        with torch.no_grad():
            n = self.conv(torch.zeros(1, 1, *shape)).shape
        self.out = nn.Linear(n[1] * n[3] * n[4], n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x[:, None])  # (B, C, T, H', W')
        b, c, t = y.shape[:3]
        return self.out(y.permute(0, 2, 1, 3, 4).reshape(b, t, -1))


class NeuroformerNet(nn.Module):
    """Neuroformer network; see the module docstring.  Build from a
    :class:`NeuroformerConfig`.

    Examples
    --------
    >>> cfg = NeuroformerConfig(id_vocab_size=10, dt_vocab_size=9, n_embd=16, n_head=2,
    ...                         n_layer=1)
    >>> net = NeuroformerNet(cfg)
    >>> b = {"x_id": torch.tensor([[1, 5]]), "x_dt": torch.tensor([[1, 4]]),
    ...      "y_id": torch.tensor([[5, 2]]), "y_dt": torch.tensor([[4, 2]]),
    ...      "mask": torch.tensor([[True, True]]), "past_id": torch.tensor([[0]]),
    ...      "past_dt": torch.tensor([[0]]), "past_mask": torch.tensor([[False]])}
    >>> out = net(b)
    >>> tuple(out["logits_id"].shape), bool(out["loss"] > 0)
    ((1, 2, 10), True)
    """

    def __init__(self, config: NeuroformerConfig):
        super().__init__()
        config.check()
        self.config = c = config
        e = c.n_embd
        self.id_emb = nn.Embedding(c.id_vocab_size, e)
        self.dt_emb = nn.Embedding(c.dt_vocab_size, e)
        self.pos_emb = nn.Embedding(c.block_size, e)
        self.past_pos_emb = nn.Embedding(c.past_block_size, e)
        self.null = nn.Parameter(torch.zeros(1, 1, e))  # always-present memory slot
        self.drop = nn.Dropout(c.dropout)
        n_past = c.n_layer if c.n_past_layer is None else c.n_past_layer
        self.encoder = nn.ModuleList(EncoderBlock(e, c.n_head, c.dropout)
                                     for _ in range(n_past))
        has_modal = c.stimulus_kind is not None
        if c.stimulus_kind == "features":
            self.stim_enc = nn.Linear(c.stimulus_shape[-1], e)
        elif c.stimulus_kind == "frames":
            self.stim_enc = FrameEncoder(e, c.stimulus_shape)
        if has_modal:
            self.stim_pos = nn.Parameter(torch.zeros(1, c.stimulus_shape[0], e))
        has_behav = c.n_behaviour_input > 0
        if has_behav:
            self.beh_in_enc = nn.Linear(c.n_behaviour_input, e)
            self.beh_in_pos = nn.Parameter(torch.zeros(1, c.behaviour_input_steps, e))
            # standardization of the input channels (set from the training windows)
            self.register_buffer("beh_in_loc", torch.zeros(c.n_behaviour_input))
            self.register_buffer("beh_in_scale", torch.ones(c.n_behaviour_input))
        self.decoder = nn.ModuleList(DecoderBlock(e, c.n_head, c.dropout, has_modal, has_behav)
                                     for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(e)
        self.head_id = nn.Linear(e, c.id_vocab_size)
        self.id_out_emb = nn.Embedding(c.id_vocab_size, e)
        self.head_dt = nn.Linear(e, c.dt_vocab_size)
        n_out = c.behaviour_classes or c.n_behaviour
        if n_out:
            self.head_beh = nn.Sequential(nn.Linear(2 * e, 2 * e), nn.GELU(),
                                          nn.Linear(2 * e, n_out))
        if c.neuron_attention:
            self.na_query = nn.Embedding(c.id_vocab_size, e)
            self.na_ctx = nn.Linear(e, e)
            self.na_key = nn.Linear(e, e)
            self.na_val = nn.Linear(e, e)
            self.na_out = nn.Embedding(c.id_vocab_size, e)
        if c.contrastive_with is not None:
            self.proj_neural = nn.Linear(e, e)
            self.proj_modal = nn.Linear(e, e)
            if c.contrastive_with == "behaviour":
                self.beh_enc = nn.Sequential(nn.Linear(max(c.n_behaviour, 1), e), nn.GELU(),
                                             nn.Linear(e, e))
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    # -- pieces used by training and by generation -----------------------------------
    def encode_memory(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Encode the past window (and stimulus) of a batch: the decoder's memory."""
        c = self.config
        pid, pdt, pmask = batch["past_id"], batch["past_dt"], batch["past_mask"]
        if pid.shape[1] > c.past_block_size:
            raise NeuroformerError(f"past window has {pid.shape[1]} tokens; the model holds "
                                   f"{c.past_block_size} (make_windows(max_past=...))")
        b = pid.shape[0]
        pos = torch.arange(pid.shape[1], device=pid.device)
        x = self.drop(self.id_emb(pid) + self.dt_emb(pdt) + self.past_pos_emb(pos))
        x = torch.cat([self.null.expand(b, 1, -1), x], dim=1)
        mask = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=pid.device), pmask], dim=1)
        raw = x
        for blk in self.encoder:
            x = blk(x, mask)
        mem = {"past": x, "past_mask": mask, "modal": None, "modal_mask": None,
               "past_raw": raw}
        if c.stimulus_kind is not None:
            if "stimulus" not in batch:
                raise NeuroformerError("this model was built with a stimulus input; the "
                                       "windows carry none (make_windows(stimulus=...))")
            s = batch["stimulus"]
            if tuple(s.shape[1:]) != tuple(c.stimulus_shape):
                raise NeuroformerError(f"stimulus per window has shape {tuple(s.shape[1:])}; "
                                       f"the model expects {tuple(c.stimulus_shape)}")
            m = self.stim_enc(s) + self.stim_pos
            m = torch.cat([self.null.expand(b, 1, -1), m], dim=1)
            mem["modal"] = m
            mem["modal_mask"] = torch.ones(m.shape[:2], dtype=torch.bool, device=m.device)
        mem["behav"] = mem["behav_mask"] = None
        if c.n_behaviour_input:
            mem["behav"], mem["behav_mask"] = self.encode_behaviour_input(batch)
        return mem

    def encode_behaviour_input(self, batch: dict[str, torch.Tensor]
                               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Past-window behaviour bins → cross-attention memory ``(B, 1 + S, n_embd)`` and
        its key mask (the first slot is the always-present null slot)."""
        c = self.config
        if "behaviour_input" not in batch:
            raise NeuroformerError("this model was built with a behaviour input; the windows "
                                   "carry none (make_windows(behaviour_input=...))")
        x = batch["behaviour_input"]
        want = (c.behaviour_input_steps, c.n_behaviour_input)
        if x.ndim != 3 or tuple(x.shape[1:]) != want:
            raise NeuroformerError(
                f"behaviour input per window has shape {tuple(x.shape[1:])}; the model "
                f"expects {want} (behaviour_steps, channels)")
        b = x.shape[0]
        ok = batch.get("behaviour_input_mask")
        if ok is None:
            ok = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        z = (x - self.beh_in_loc) / self.beh_in_scale
        z = torch.where(ok[..., None], z, torch.zeros_like(z))
        m = self.beh_in_enc(z) + self.beh_in_pos
        m = torch.cat([self.null.expand(b, 1, -1), m], dim=1)
        mask = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), ok], dim=1)
        return m, mask

    def decode(self, x_id: torch.Tensor, x_dt: torch.Tensor, mem: dict[str, torch.Tensor], *,
               start: int = 0, cache: list | None = None, need_weights: bool = False):
        """Hidden states of current tokens ``(B, L, n_embd)`` (positions from ``start``).

        Returns ``(h, attention, raw)``; ``raw`` are the input embeddings of the tokens
        (the keys of the neuron-query attention head).
        """
        if start + x_id.shape[1] > self.config.block_size:
            raise NeuroformerError(f"{start + x_id.shape[1]} current tokens exceed the "
                                   f"context of {self.config.block_size}; chunk the window "
                                   "(make_windows(block_size=...))")
        pos = torch.arange(start, start + x_id.shape[1], device=x_id.device)
        x = self.drop(self.id_emb(x_id) + self.dt_emb(x_dt) + self.pos_emb(pos))
        raw = x
        weights = []
        for i, blk in enumerate(self.decoder):
            x, wp, ws = blk(x, mem["past"], mem["past_mask"], mem["modal"], mem["modal_mask"],
                            cache=None if cache is None else cache[i],
                            need_weights=need_weights, behav=mem.get("behav"),
                            behav_mask=mem.get("behav_mask"))
            weights.append((wp, ws))
        return self.ln_f(x), weights, raw

    def neuron_attention(self, h: torch.Tensor, mem: dict, cur_raw: torch.Tensor, *,
                         start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Neuron-query attention: extra ID logits ``(B, L, n_units)`` and the weights.

        For every query position and every candidate neuron ``j`` a query
        ``E_q[j] + W h`` attends over the raw (un-mixed) tokens of the past window and of
        the current window up to the query; the attended values, projected on a
        per-neuron read-out ``u_j``, add to ``j``'s logit.  The weights
        ``A[b, q, j, k]`` say which earlier spikes the model used for ``j`` — one neuron
        per key, so they read directly as directed connectivity (our addition to the
        Neuroformer design, for interpretable attention).

        ``cur_raw`` holds the raw embeddings of the current tokens ``0 .. start + L - 1``.
        """
        b, L, e = h.shape
        keys_raw = torch.cat([mem["past_raw"], cur_raw], dim=1)
        k = self.na_key(keys_raw)
        v = self.na_val(keys_raw)
        q = self.na_query.weight[4:][None, None] + self.na_ctx(h)[:, :, None, :]
        s = torch.einsum("blne,bke->blnk", q, k) / math.sqrt(e)
        p1, lc = mem["past_raw"].shape[1], cur_raw.shape[1]
        qpos = torch.arange(start, start + L, device=h.device)
        kpos = torch.arange(lc, device=h.device)
        km = torch.cat([mem["past_mask"][:, None, :].expand(b, L, p1),
                        (kpos[None, :] <= qpos[:, None])[None].expand(b, L, lc)], dim=2)
        a = s.masked_fill(~km[:, :, None, :], float("-inf")).softmax(-1)
        o = torch.einsum("blnk,bke->blne", self.drop(a), v)
        return (o * self.na_out.weight[4:][None, None]).sum(-1), a

    def id_logits(self, h: torch.Tensor, mem: dict, cur_raw: torch.Tensor, *,
                  start: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next-token neuron-ID logits (and neuron-query attention weights, if any)."""
        logits = self.head_id(h)
        if not self.config.neuron_attention:
            return logits, None
        extra, a = self.neuron_attention(h, mem, cur_raw, start=start)
        pad = torch.zeros(*extra.shape[:2], 4, dtype=extra.dtype, device=extra.device)
        return logits + torch.cat([pad, extra], dim=-1), a

    def dt_logits(self, h: torch.Tensor, next_id: torch.Tensor) -> torch.Tensor:
        """Offset logits of the next token given its neuron ID."""
        return self.head_dt(h + self.id_out_emb(next_id))

    def pooled(self, h: torch.Tensor, mask: torch.Tensor, mem: dict) -> torch.Tensor:
        """Masked mean of current hidden states beside the mean of the encoded past."""
        m = mask.unsqueeze(-1).to(h.dtype)
        cur = (h * m).sum(1) / m.sum(1).clamp(min=1)
        pm = mem["past_mask"].unsqueeze(-1).to(h.dtype)
        past = (mem["past"] * pm).sum(1) / pm.sum(1)
        return torch.cat([cur, past], dim=-1)

    # -- training forward ------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor], *, need_weights: bool = False
                ) -> dict[str, Any]:
        c = self.config
        w = {**DEFAULT_LOSS_WEIGHTS, **c.loss_weights}
        mem = self.encode_memory(batch)
        h, att, raw = self.decode(batch["x_id"], batch["x_dt"], mem, need_weights=need_weights)
        mask = batch["mask"]
        logits_id, na = self.id_logits(h, mem, raw)
        logits_dt = self.dt_logits(h, batch["y_id"])
        n_tok = mask.sum(1).clamp(min=1).to(h.dtype)
        # "token": the mean over every target token (the likelihood of the data; a DDP
        # rank divides by its share of the global batch's tokens, ``token_norm``)
        norm = batch.get("token_norm")
        if norm is None:
            norm = mask.sum().clamp(min=1).to(h.dtype)

        def per_chunk(logits, target):
            ce = F.cross_entropy(logits.transpose(1, 2).float(), target, reduction="none")
            if c.token_loss == "token":
                return (ce * mask).sum() / norm
            return ((ce * mask).sum(1) / n_tok).mean()

        loss_id = per_chunk(logits_id, batch["y_id"])
        loss_dt = per_chunk(logits_dt, batch["y_dt"])
        loss = w["id"] * loss_id + w["dt"] * loss_dt
        out: dict[str, Any] = {"loss_id": loss_id, "loss_dt": loss_dt, "logits_id": logits_id,
                               "logits_dt": logits_dt, "attention": att,
                               "neuron_attention": na}
        pooled = self.pooled(h, mask, mem)
        if c.n_behaviour or c.behaviour_classes:
            pred = self.head_beh(pooled)
            out["behaviour"] = pred
            if "behaviour" in batch:
                target = batch["behaviour"]
                if c.behaviour_classes:
                    lb = F.cross_entropy(pred.float(), target[:, 0].long())
                else:
                    lb = F.mse_loss(pred.float(), target)
                out["loss_behaviour"] = lb
                loss = loss + w["behaviour"] * lb
        if c.contrastive_with is not None:
            neural = self.proj_neural(pooled[:, : c.n_embd])
            if c.contrastive_with == "stimulus":
                modal = self.proj_modal(mem["modal"][:, 1:].mean(1))
            elif "behaviour" in batch:
                modal = self.proj_modal(self.beh_enc(batch["behaviour"]))
            else:
                modal = None
            if modal is not None and neural.shape[0] > 1:
                lc = info_nce(neural, modal, c.temperature)
                out["loss_contrastive"] = lc
                loss = loss + w["contrastive"] * lc
        out["loss"] = loss
        return out


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Symmetric CLIP loss between matched rows of ``a`` and ``b`` (Radford et al. 2021)."""
    a = F.normalize(a.float(), dim=-1)
    b = F.normalize(b.float(), dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
