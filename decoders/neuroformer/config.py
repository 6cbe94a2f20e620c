"""YAML configuration of a Neuroformer run: one dataclass per section, unknown keys refused.

A config file has the sections ``data``, ``tokens``, ``model``, ``train``, ``generate``
(every key optional except ``data.recording``).  :func:`load_config` reads it with
``yaml.safe_load`` (nothing in it can execute) and raises :class:`NeuroformerError` naming
the file, the section and the allowed keys for any unknown key or wrongly typed value.

Example (``pipelines/configs/neuroformer_simulation.yaml``)::

    data:
      recording: sim.h5
      behaviour: behavior
      stimulus: stimulus
    tokens: {window: 0.05, past_window: 0.1, dt: 0.01}
    model: {n_embd: 64, n_layer: 2}
    train: {epochs: 8}
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import NeuroformerError

__all__ = ["DataSection", "TokenSection", "ModelSection", "TrainSection", "GenerateSection",
           "RunConfig", "load_config", "config_from_dict"]


@dataclass
class DataSection:
    """Which recording and blocks: ``source`` is ``"spikes"`` or ``"calcium"``.

    ``behaviour`` names the timeseries block decoded (the target, averaged over each
    current window); ``behaviour_input`` a timeseries block the model reads as a
    cross-attention input, from the past window only (it may be the same block: decoding
    then uses past behaviour + spikes, never the window's own values).  Off when unset.
    """

    recording: str = ""
    source: str = "spikes"
    block: str | None = None
    behaviour: str | None = None
    behaviour_channels: list[str] | None = None
    behaviour_input: str | None = None
    behaviour_input_channels: list[str] | None = None
    stimulus: str | None = None
    interval: list[float] | None = None
    split: list[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])
    gap: float = 0.0
    calcium_threshold: float = 2.5
    calcium_deconvolved: bool = False
    calcium_tau: float = 1.0
    truth: str | None = None


@dataclass
class TokenSection:
    """Token grid and context sizes (seconds, tokens)."""

    window: float = 0.05
    past_window: float = 0.15
    dt: float = 0.01
    block_size: int = 64
    max_past: int = 128
    stimulus_steps: int = 4
    behaviour_steps: int = 4


@dataclass
class ModelSection:
    """Network sizes and losses (see :class:`~decoders.neuroformer.Neuroformer`)."""

    n_embd: int = 64
    n_head: int = 4
    n_layer: int = 2
    n_past_layer: int | None = None
    dropout: float = 0.1
    behaviour: str | None = "regression"
    contrastive: bool = True
    neuron_attention: bool = False
    token_loss: str = "token"
    temperature: float = 0.5
    loss_weights: dict[str, float] | None = None


@dataclass
class TrainSection:
    """Optimisation settings of :func:`~decoders.neuroformer.train.train_network` (all
    JSON-able); also available as ``decoders.neuroformer.train.TrainConfig``."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.1
    warmup: float = 0.05
    min_lr: float = 0.1
    grad_clip: float = 1.0
    amp: bool = True
    device: str = "auto"
    seed: int = 0
    max_steps: int | None = None


@dataclass
class GenerateSection:
    """Sampling for ``generate`` and the evaluation of ``train``."""

    n_samples: int = 4
    condition: str = "generated"
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    use_cache: bool = True
    max_windows: int | None = 400


@dataclass
class RunConfig:
    """A whole run: the five sections."""

    data: DataSection = field(default_factory=DataSection)
    tokens: TokenSection = field(default_factory=TokenSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    generate: GenerateSection = field(default_factory=GenerateSection)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS = {"data": DataSection, "tokens": TokenSection, "model": ModelSection,
             "train": TrainSection, "generate": GenerateSection}


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (inner,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(v, inner) for v in value)
    if origin is dict:
        _, inner = typing.get_args(hint)
        return isinstance(value, dict) and all(_type_ok(v, inner) for v in value.values())
    return isinstance(value, hint)


def config_from_dict(raw: dict[str, Any], *, path: str | Path | None = None) -> RunConfig:
    """Validate a config mapping and build a :class:`RunConfig`.

    Examples
    --------
    >>> config_from_dict({"data": {"recording": "r.h5"}, "train": {"epochs": 2}}).train.epochs
    2
    >>> try:
    ...     config_from_dict({"train": {"epoch": 2}})
    ... except NeuroformerError as err:
    ...     print(str(err)[:48])
    unknown key 'epoch' in section 'train'; allowed:
    """
    if not isinstance(raw, dict):
        raise NeuroformerError(f"a Neuroformer config is a mapping of sections; got "
                               f"{type(raw).__name__}", path=path)
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise NeuroformerError(f"unknown section(s) {unknown}; allowed: "
                               f"{', '.join(_SECTIONS)}", path=path)
    built = {}
    for name, cls in _SECTIONS.items():
        sec = raw.get(name) or {}
        if not isinstance(sec, dict):
            raise NeuroformerError(f"section {name!r} must be a mapping; got "
                                   f"{type(sec).__name__}", path=path)
        hints = typing.get_type_hints(cls)
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key, value in sec.items():
            if key not in hints:
                raise NeuroformerError(f"unknown key {key!r} in section {name!r}; allowed: "
                                       f"{', '.join(sorted(allowed))}", path=path)
            if not _type_ok(value, hints[key]):
                raise NeuroformerError(
                    f"{name}.{key} = {value!r} has the wrong type; expected {hints[key]}",
                    path=path)
        built[name] = cls(**sec)
    cfg = RunConfig(**built)
    if cfg.data.source not in ("spikes", "calcium"):
        raise NeuroformerError(f"data.source must be 'spikes' or 'calcium'; got "
                               f"{cfg.data.source!r}", path=path)
    if cfg.model.token_loss not in ("chunk", "token"):
        raise NeuroformerError(f"model.token_loss must be 'chunk' or 'token'; got "
                               f"{cfg.model.token_loss!r}", path=path)
    if cfg.generate.condition not in ("generated", "real"):
        raise NeuroformerError(f"generate.condition must be 'generated' or 'real'; got "
                               f"{cfg.generate.condition!r}", path=path)
    if cfg.tokens.behaviour_steps < 1 or cfg.tokens.stimulus_steps < 1:
        raise NeuroformerError(f"tokens.behaviour_steps and tokens.stimulus_steps must be >= 1; "
                               f"got {cfg.tokens.behaviour_steps}, {cfg.tokens.stimulus_steps}",
                               path=path)
    if cfg.data.behaviour_input_channels and not cfg.data.behaviour_input:
        raise NeuroformerError("data.behaviour_input_channels needs data.behaviour_input (the "
                               "timeseries block to read them from)", path=path)
    if cfg.data.behaviour_input and not cfg.tokens.past_window:
        raise NeuroformerError("data.behaviour_input reads the past window; set "
                               "tokens.past_window > 0", path=path)
    if len(cfg.data.split) not in (2, 3):
        raise NeuroformerError(f"data.split lists 2 or 3 fractions (train, validation[, "
                               f"test]); got {cfg.data.split}", path=path)
    return cfg


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run config (``yaml.safe_load``).

    ``data.recording`` may be relative to the config file's folder.
    """
    from neurodata.results import load_yaml_mapping

    path = Path(path)
    raw = load_yaml_mapping(path, what="Neuroformer config")
    cfg = config_from_dict(raw, path=path)
    if cfg.data.recording and not Path(cfg.data.recording).is_absolute():
        cand = path.parent / cfg.data.recording
        if cand.exists():
            cfg.data.recording = str(cand)
    return cfg
