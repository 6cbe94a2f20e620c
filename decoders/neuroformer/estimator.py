"""The Neuroformer estimator: build, train, save/load, decode behaviour, generate.

:class:`Neuroformer` follows the scikit-learn contract: the constructor stores its
hyper-parameters, :meth:`Neuroformer.fit` builds the network from the training windows
(vocabulary, time grid, stimulus shape, behaviour size) and trains it with
:func:`decoders.neuroformer.train.train_network`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from neurodata.log import deprecated_fit_verbose

from .errors import NeuroformerError
from .tokens import TokenWindows, collate_windows

__all__ = ["Neuroformer"]


class Neuroformer(BaseEstimator):
    """Neuroformer-style multimodal generative transformer on spike / event tokens.

    Joshi et al. 2023, "Neuroformer: Multimodal and Multitask Generative Pretraining for
    Brain Data" (ICLR 2024); the implementation is our own.

    Parameters
    ----------
    n_embd : int, default=64
        Embedding width (the paper: 256).
    n_head : int, default=4
        Attention heads (the paper: 8).
    n_layer : int, default=2
        Layers per stack: past encoder and current decoder (the paper: 6).
    n_past_layer : int or None, default=None
        Depth of the past encoder when it should differ from ``n_layer`` (0: the current
        window attends to the raw past tokens).
    dropout : float, default=0.1
    block_size : int, default=64
        Current-window context in tokens (must be >= the windows' ``block_size``).
    past_block_size : int, default=128
        Past-window context in tokens.
    behaviour : {"regression", "classification", None}, default="regression"
        Head for the windows' behaviour targets (ignored when they carry none).
        Windows that carry a behaviour *input* (``make_windows(behaviour_input=...)``,
        past window only) get a behaviour cross-attention layer in every decoder block.
    contrastive : bool, default=True
        InfoNCE between the pooled neural embedding and the stimulus (or, without a
        stimulus, the behaviour) embedding.
    neuron_attention : bool, default=False
        Add the neuron-query attention head whose weights read out directed
        connectivity (:meth:`NeuroformerNet.neuron_attention`).
    token_loss : {"token", "chunk"}, default="token"
        Average the ID and offset losses over every target token (the likelihood of the
        data), or per chunk then over chunks ("chunk", the earlier rule: it over-weights
        the end-of-window token of sparse windows, so generation under-counts spikes).
    loss_weights : dict or None
        Overrides of ``{"id": 0.45, "dt": 0.30, "contrastive": 0.25, "behaviour": 1.0}``.
    temperature : float, default=0.5
        InfoNCE temperature.
    epochs, batch_size, lr, weight_decay, warmup, min_lr, grad_clip, amp, device, max_steps
        Optimisation settings (see :class:`decoders.neuroformer.train.TrainConfig`).
    checkpoint_dir : str or None
        Folder for ``last.pt`` / ``best.pt`` during training.
    random_state : int, default=0
    verbose : bool or str or int or None, default=None
        Log level of :meth:`fit` (``True`` shows per-epoch progress;
        :mod:`neurodata.log`).  Not saved with the model.

    Attributes
    ----------
    net_ : NeuroformerNet
    config_ : NeuroformerConfig
    units_ : list of str
        The neuron vocabulary.
    grid_ : dict
        ``window``, ``past_window``, ``dt`` (s) of the tokens it was trained on.
    history_ : list of dict
        Per-epoch losses and throughput.
    behaviour_mean_, behaviour_std_ : ndarray or None
        Standardization of regression targets.

    Examples
    --------
    >>> from decoders.neuroformer import simulate_circuit, make_windows
    >>> from decoders.tokenizers import SpikeTokenizer
    >>> sim = simulate_circuit(n_neurons=6, n_trials=4, random_state=0)
    >>> st = sim.recording.spikes["units"]
    >>> tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    >>> w = make_windows(st, tok, block_size=16, max_past=32)
    >>> m = Neuroformer(16, n_head=2, n_layer=1, block_size=16, past_block_size=32,
    ...                 epochs=1, batch_size=16, verbose=False).fit(w)
    >>> len(m.history_)
    1
    """

    def __init__(self, n_embd: int = 64, *, n_head: int = 4, n_layer: int = 2,
                 n_past_layer: int | None = None, dropout: float = 0.1,
                 block_size: int = 64, past_block_size: int = 128,
                 behaviour: str | None = "regression", contrastive: bool = True,
                 neuron_attention: bool = False, token_loss: str = "token",
                 loss_weights: dict[str, float] | None = None, temperature: float = 0.5,
                 epochs: int = 10, batch_size: int = 32, lr: float = 3e-4,
                 weight_decay: float = 0.1, warmup: float = 0.05, min_lr: float = 0.1,
                 grad_clip: float = 1.0, amp: bool = True, device: str = "auto",
                 max_steps: int | None = None, checkpoint_dir: str | None = None,
                 random_state: int = 0, verbose: bool | str | int | None = None):
        self.n_embd = n_embd
        self.n_head = n_head
        self.n_layer = n_layer
        self.n_past_layer = n_past_layer
        self.dropout = dropout
        self.block_size = block_size
        self.past_block_size = past_block_size
        self.behaviour = behaviour
        self.contrastive = contrastive
        self.neuron_attention = neuron_attention
        self.token_loss = token_loss
        self.loss_weights = loss_weights
        self.temperature = temperature
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.min_lr = min_lr
        self.grad_clip = grad_clip
        self.amp = amp
        self.device = device
        self.max_steps = max_steps
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers -----------------------------------------------------------------------
    def _train_config(self):
        from .train import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, warmup=self.warmup,
                           min_lr=self.min_lr, grad_clip=self.grad_clip, amp=self.amp,
                           device=self.device, seed=int(self.random_state),
                           max_steps=self.max_steps)

    def _build_config(self, w: TokenWindows):
        from .model import DEFAULT_LOSS_WEIGHTS, NeuroformerConfig

        n_dt = 4 + max(int(round(w.window / w.dt)), int(round(w.past_window / w.dt)))
        stim_kind = stim_shape = None
        if w.stimulus is not None:
            stim_shape = tuple(int(s) for s in w.stimulus.shape[1:])
            stim_kind = "features" if len(stim_shape) == 2 else "frames"
        n_beh = classes = 0
        if w.behaviour is not None and self.behaviour is not None:
            if self.behaviour == "classification":
                classes = int(np.max(w.behaviour[:, 0])) + 1
            elif self.behaviour == "regression":
                n_beh = int(w.behaviour.shape[1])
            else:
                raise NeuroformerError(f"behaviour must be 'regression', 'classification' or "
                                       f"None; got {self.behaviour!r}")
        n_in = steps = 0
        if w.behaviour_input is not None:
            steps, n_in = (int(v) for v in w.behaviour_input.shape[1:])
        con = None
        if self.contrastive:
            con = "stimulus" if stim_kind else ("behaviour" if n_beh else None)
        lw = {**DEFAULT_LOSS_WEIGHTS, **(self.loss_weights or {})}
        return NeuroformerConfig(
            id_vocab_size=4 + len(w.units), dt_vocab_size=n_dt, block_size=self.block_size,
            past_block_size=self.past_block_size, n_embd=self.n_embd, n_head=self.n_head,
            n_layer=self.n_layer, n_past_layer=self.n_past_layer, dropout=self.dropout,
            stimulus_kind=stim_kind,
            stimulus_shape=stim_shape, n_behaviour=n_beh, behaviour_classes=classes,
            n_behaviour_input=n_in, behaviour_input_steps=steps,
            contrastive_with=con, neuron_attention=bool(self.neuron_attention),
            token_loss=self.token_loss,
            temperature=self.temperature, loss_weights=lw)

    def _meta(self) -> dict[str, Any]:
        # verbose is how chatty a run is, not part of the model: not written
        params = {k: v for k, v in self.get_params().items() if k != "verbose"}
        return {"estimator": params, "config": self.config_.to_dict(),
                "units": list(self.units_), "grid": dict(self.grid_),
                "behaviour_mean": None if self.behaviour_mean_ is None
                else self.behaviour_mean_.tolist(),
                "behaviour_std": None if self.behaviour_std_ is None
                else self.behaviour_std_.tolist()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NeuroformerError("this Neuroformer is not fitted; call fit(windows) or "
                                   "Neuroformer.load(checkpoint)")

    def check_windows(self, w: TokenWindows) -> None:
        """Raise :class:`NeuroformerError` unless ``w`` uses this model's vocabulary and grid."""
        if not hasattr(self, "units_"):
            self._check_fitted()
        if list(w.units) != list(self.units_):
            extra = sorted(set(w.units) - set(self.units_))[:5]
            raise NeuroformerError(
                f"the windows use a vocabulary of {len(w.units)} units, the model was trained "
                f"on {len(self.units_)} (e.g. not in the model: {extra}); tokenize with the "
                "model's vocabulary (vocabulary_tokenizer(model.units_, ...))")
        grid = {"window": w.window, "past_window": w.past_window, "dt": w.dt}
        if any(abs(grid[k] - self.grid_[k]) > 1e-9 for k in grid):
            raise NeuroformerError(f"the windows' time grid {grid} differs from the model's "
                                   f"{self.grid_}; tokenize with the same window/dt")

    def _batch(self, w: TokenWindows, idx) -> dict[str, Any]:
        import torch

        batch = collate_windows([w[int(i)] for i in idx])
        if "behaviour" in batch and self.behaviour_mean_ is not None:
            batch["behaviour"] = (batch["behaviour"] - torch.as_tensor(self.behaviour_mean_)) / \
                torch.as_tensor(self.behaviour_std_)
        dev = next(self.net_.parameters()).device
        return {k: v.to(dev) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _standardized(self, w: TokenWindows) -> TokenWindows:
        if w.behaviour is None or self.behaviour_mean_ is None:
            return w
        out = w.subset(np.arange(len(w)))
        out.behaviour = ((w.behaviour - self.behaviour_mean_) / self.behaviour_std_).astype(
            np.float32)
        return out

    # -- fit ---------------------------------------------------------------------------
    @deprecated_fit_verbose
    def fit(self, windows: TokenWindows, val: TokenWindows | None = None, *,
            resume: bool = False, stop_after: int | None = None,
            verbose: bool | str | None = None) -> Neuroformer:
        """Build the network for ``windows`` and train it.

        Parameters
        ----------
        windows : TokenWindows
            Training chunks (:func:`make_windows` on the training block).
        val : TokenWindows or None
            Validation chunks from a disjoint block (same vocabulary and grid).
        resume : bool, default=False
            Continue from ``checkpoint_dir/last.pt`` (must hold the same vocabulary).
        stop_after : int or None
            Stop after this many epochs (the learning-rate schedule still spans
            ``epochs``); a later ``fit(..., resume=True)`` continues the same run.
        verbose : bool or str or None
            Deprecated: pass ``verbose`` to the constructor.  When given it still applies
            to this call, with a ``FutureWarning``.

        Returns
        -------
        self : Neuroformer
        """
        import torch

        from .model import NeuroformerNet
        from .train import load_checkpoint, train_network

        if not isinstance(windows, TokenWindows) or len(windows) == 0:
            raise NeuroformerError("fit expects non-empty TokenWindows (make_windows)")
        torch.manual_seed(int(self.random_state))
        self.units_ = list(windows.units)
        self.grid_ = {"window": windows.window, "past_window": windows.past_window,
                      "dt": windows.dt}
        self.config_ = self._build_config(windows)
        self.behaviour_mean_ = self.behaviour_std_ = None
        if self.config_.n_behaviour:
            self.behaviour_mean_ = windows.behaviour.mean(0).astype(np.float32)
            self.behaviour_std_ = (windows.behaviour.std(0) + 1e-6).astype(np.float32)
        if val is not None:
            self.check_windows(val)
        if resume and self.checkpoint_dir and (Path(self.checkpoint_dir) / "last.pt").exists():
            old = load_checkpoint(Path(self.checkpoint_dir) / "last.pt")["meta"]
            if old.get("units") != self.units_:
                raise NeuroformerError(
                    "cannot resume: the checkpoint was trained on another vocabulary "
                    f"({len(old.get('units', []))} units vs {len(self.units_)})",
                    path=Path(self.checkpoint_dir) / "last.pt")
        self.net_ = NeuroformerNet(self.config_)
        if self.config_.n_behaviour_input:
            # standardize the behaviour input with the training windows' observed bins
            x = windows.behaviour_input[windows.behaviour_input_mask]
            if x.size == 0:
                raise NeuroformerError("the behaviour input has no sample in the training "
                                       "windows' past; check its timeline")
            self.net_.beh_in_loc.copy_(torch.as_tensor(x.mean(0)))
            self.net_.beh_in_scale.copy_(torch.as_tensor(x.std(0) + 1e-6))
        self.history_ = train_network(
            self.net_, self._standardized(windows),
            None if val is None else self._standardized(val), self._train_config(),
            meta=self._meta(), checkpoint_dir=self.checkpoint_dir, resume=resume,
            stop_after=stop_after)
        return self

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write weights, configuration and vocabulary (loadable with weights_only)."""
        from .train import save_checkpoint

        self._check_fitted()
        return save_checkpoint(path, net=self.net_, meta=self._meta(), history=self.history_)

    @classmethod
    def load(cls, path: str | Path, *, units: list[str] | None = None,
             device: str = "cpu") -> Neuroformer:
        """Read a checkpoint (``torch.load(weights_only=True)``).

        Parameters
        ----------
        path : path-like
        units : list of str or None
            The vocabulary the caller's data uses; a checkpoint from another vocabulary
            raises :class:`NeuroformerError`.
        device : str, default="cpu"
        """
        from .model import NeuroformerConfig, NeuroformerNet
        from .train import load_checkpoint

        state = load_checkpoint(path)
        meta = state["meta"]
        if units is not None and list(units) != list(meta["units"]):
            raise NeuroformerError(
                f"the checkpoint was trained on another vocabulary ({len(meta['units'])} "
                f"units, e.g. {meta['units'][:3]}) than the data ({len(units)} units, e.g. "
                f"{list(units)[:3]}); use the matching checkpoint or retrain", path=path)
        # checkpoints written before token_loss existed were trained per chunk
        params = {"token_loss": "chunk", **meta["estimator"]}
        params.pop("verbose", None)
        est = cls(**params)
        est.config_ = NeuroformerConfig.from_dict(meta["config"])
        est.units_ = list(meta["units"])
        est.grid_ = dict(meta["grid"])
        est.behaviour_mean_ = None if meta["behaviour_mean"] is None else np.asarray(
            meta["behaviour_mean"], np.float32)
        est.behaviour_std_ = None if meta["behaviour_std"] is None else np.asarray(
            meta["behaviour_std"], np.float32)
        est.net_ = NeuroformerNet(est.config_)
        est.net_.load_state_dict(state["model"])
        est.net_.to(device).eval()
        est.history_ = state["history"]
        return est

    # -- read-outs ---------------------------------------------------------------------
    def predict_behaviour(self, windows: TokenWindows, *, batch_size: int = 128) -> np.ndarray:
        """Behaviour per window (chunks of a window averaged), in window order.

        Returns
        -------
        pred : ndarray (n_windows, n_behaviour), or class indices (n_windows,) for a
            classification head.
        """
        import torch

        self.check_windows(windows)
        if not (self.config_.n_behaviour or self.config_.behaviour_classes):
            raise NeuroformerError("this model has no behaviour head; train it on windows "
                                   "with behaviour (make_windows(behaviour=...))")
        self.net_.eval()
        outs = []
        with torch.no_grad():
            for s in range(0, len(windows), batch_size):
                b = self._batch(windows, range(s, min(s + batch_size, len(windows))))
                b.pop("behaviour", None)
                outs.append(self.net_(b)["behaviour"].float().cpu().numpy())
        pred = np.concatenate(outs)
        uniq, inv = np.unique(windows.window_index, return_inverse=True)
        agg = np.zeros((uniq.size, pred.shape[1]))
        np.add.at(agg, inv, pred)
        agg /= np.bincount(inv)[:, None]
        if self.config_.behaviour_classes:
            return agg.argmax(1)
        return agg * self.behaviour_std_ + self.behaviour_mean_

    def score_losses(self, windows: TokenWindows) -> dict[str, float]:
        """Mean losses (ID, dt, behaviour...) on ``windows`` (e.g. the test block)."""
        from .train import evaluate_network

        self.check_windows(windows)
        return evaluate_network(self.net_, self._standardized(windows),
                                device=next(self.net_.parameters()).device)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        self._check_fitted()
        return int(sum(p.numel() for p in self.net_.parameters() if p.requires_grad))
