"""Pipeline names → estimator factories, for the benchmark grid and the CLI.

A pipeline is named in a benchmark config either by a registered name (``csp_lda``,
``fbcsp``, ``ts_lr``, ``ts_svm``, ``aug_cov``, ``eegnet``, ``shallow``, ``deep4``) or by
an import path ``"package.module:factory"``; a factory takes keyword-only ``sfreq`` (Hz)
and ``random_state`` and returns an unfitted scikit-learn estimator on
(n_epochs, n_channels, n_times) arrays.  Import paths work in worker processes too,
which a runtime registration would not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from typing import Any

from neurodata.errors import ValidationError

from . import pipelines_classical as pc
from . import pipelines_tokens as pt

__all__ = ["PIPELINES", "make_pipeline", "list_pipelines"]


def _deep(model: str, *, sfreq: float = 160.0, random_state: Any = None) -> Any:
    from .torch_estimator import TorchClassifier

    return TorchClassifier(model, sfreq=sfreq, max_epochs=150, patience=20, batch_size=16,
                           lr=1e-3, random_state=random_state)


#: name → (factory, one-line description)
PIPELINES: dict[str, tuple[Callable[..., Any], str]] = {
    "csp_lda": (pc.make_csp_lda, "CSP (4 comp., log-power) + LDA"),
    "fbcsp": (pc.make_fbcsp, "filter-bank CSP (6 bands 8-32 Hz) + shrinkage LDA"),
    "ts_lr": (pc.make_ts_lr, "OAS cov. + Riemannian tangent space + logistic regression"),
    "ts_svm": (pc.make_ts_svm, "OAS cov. + Riemannian tangent space + linear SVM"),
    "aug_cov": (pc.make_aug_cov, "augmented (time-delay) cov. + tangent space + SVM"),
    "eegnet": (partial(_deep, "eegnet"), "EEGNet-8,2 (Lawhern 2018), early stopping"),
    "shallow": (partial(_deep, "shallow"), "ShallowConvNet (Schirrmeister 2017)"),
    "deep4": (partial(_deep, "deep4"), "Deep4Net (Schirrmeister 2017)"),
    "rvq_tokens_lr": (pt.make_rvq_tokens_lr,
                      "RVQ code histograms per channel (tokenizer fit per fold) + LR"),
}


def list_pipelines() -> dict[str, str]:
    """Registered pipeline names and their descriptions."""
    return {name: desc for name, (_, desc) in PIPELINES.items()}


def _resolve(name: str) -> Callable[..., Any]:
    if name in PIPELINES:
        return PIPELINES[name][0]
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise ValidationError(f"pipeline {name!r}: cannot import {attr!r} from {mod!r} "
                                  f"({exc})") from None
    raise ValidationError(
        f"unknown pipeline {name!r}; choose from {sorted(PIPELINES)} or give "
        "'package.module:factory'")


def make_pipeline(name: str, *, sfreq: float = 160.0, random_state: Any = None,
                  params: dict[str, Any] | None = None) -> Any:
    """A fresh, unfitted estimator for pipeline ``name``.

    Parameters
    ----------
    name : str
        Registered name (see :func:`list_pipelines`) or ``"package.module:factory"``.
    sfreq : float, default=160.0
        Sampling rate of the epochs, Hz.
    random_state : int or None
        Seed passed to the factory.
    params : dict or None
        ``set_params`` overrides, e.g. ``{"max_epochs": 3}`` or ``{"lda__solver": "lsqr"}``.

    Raises
    ------
    ValidationError
        Unknown name or unimportable factory.

    Examples
    --------
    >>> make_pipeline("csp_lda").steps[-1][0]
    'lda'
    """
    est = _resolve(name)(sfreq=sfreq, random_state=random_state)
    if params:
        try:
            est.set_params(**params)
        except ValueError as exc:
            raise ValidationError(f"pipeline {name!r}: bad parameter override {params} "
                                  f"({exc})") from None
    return est
