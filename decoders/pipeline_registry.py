"""Pipeline names → estimator factories, for the benchmark grid and the CLI.

A pipeline is named in a benchmark config by a registered name: a built-in (``csp_lda``,
``fbcsp``, ``ts_lr``, ``ts_svm``, ``aug_cov``, ``eegnet``, ``shallow``, ``deep4``,
``rvq_tokens_lr``), a plug-in declared by an installed package under the entry-point
group ``neuroloom.pipelines`` (``[project.entry-points."neuroloom.pipelines"]
my_pipe = "my_pkg.pipes:make_my_pipe"``) or one registered at run time with
:func:`register_pipeline`.  A name is only ever looked up, never imported: a config
cannot make neuroloom import a module or call an attribute (``builtins:exec`` is an
unknown pipeline).  A factory takes keyword-only ``sfreq`` (Hz) and ``random_state`` and
returns an unfitted scikit-learn estimator on (n_epochs, n_channels, n_times) arrays.
The benchmark runner resolves names in the main process and hands the factory itself to
its workers, so run-time registrations reach them too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from neurodata.errors import ValidationError

from . import pipelines_classical as pc
from . import pipelines_tokens as pt

__all__ = ["PIPELINES", "ENTRY_POINT_GROUP", "make_pipeline", "list_pipelines",
           "register_pipeline", "resolve_pipeline"]

#: Entry-point group of pipeline plug-ins.
ENTRY_POINT_GROUP = "neuroloom.pipelines"


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


_REGISTERED: dict[str, tuple[Callable[..., Any], str]] = {}


def register_pipeline(name: str, factory: Callable[..., Any], description: str = "") -> None:
    """Register ``factory`` under ``name`` for this process (configs can then name it).

    Parameters
    ----------
    name : str
        The name configs use; must not shadow a built-in.
    factory : callable
        ``factory(*, sfreq, random_state)`` → unfitted estimator.
    description : str
        One line for :func:`list_pipelines`.

    Examples
    --------
    >>> from decoders.pipelines_classical import make_ts_lr
    >>> register_pipeline("my_ts_lr", make_ts_lr, "tangent space + LR, my settings")
    >>> "my_ts_lr" in list_pipelines()
    True
    """
    if name in PIPELINES:
        raise ValidationError(f"pipeline name {name!r} is built in; choose another name")
    if not callable(factory):
        raise ValidationError(f"pipeline {name!r}: the factory must be callable; got "
                              f"{type(factory).__name__}")
    _REGISTERED[name] = (factory, description)


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def list_pipelines() -> dict[str, str]:
    """Registered pipeline names (built-ins, plug-ins, run-time) and their descriptions."""
    out = {name: desc for name, (_, desc) in PIPELINES.items()}
    out.update({name: f"plug-in {ep.value}" for name, ep in _entry_points().items()
                if name not in out})
    out.update({name: desc for name, (_, desc) in _REGISTERED.items()})
    return out


def resolve_pipeline(name: str) -> Callable[..., Any]:
    """The factory registered under ``name`` (never imports ``name`` itself).

    Raises
    ------
    ValidationError
        ``name`` is not registered (the message lists the names that are).
    """
    if not isinstance(name, str):
        raise ValidationError(f"a pipeline name must be a string; got {name!r}")
    if name in PIPELINES:
        return PIPELINES[name][0]
    if name in _REGISTERED:
        return _REGISTERED[name][0]
    ep = _entry_points().get(name)
    if ep is not None:  # declared by an installed package, not by the config
        try:
            return ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is a config problem
            raise ValidationError(f"pipeline plug-in {name!r} ({ep.value}) failed to load: "
                                  f"{type(exc).__name__}: {exc}") from None
    hint = (" (import paths like 'module:attr' are not accepted: a config never makes "
            "neuroloom import code; register the factory with "
            "decoders.pipeline_registry.register_pipeline or declare it under the "
            f"entry-point group {ENTRY_POINT_GROUP!r})") if ":" in name or "." in name else ""
    raise ValidationError(f"unknown pipeline {name!r}; choose from "
                          f"{sorted(list_pipelines())}{hint}")


def make_pipeline(name: str | Callable[..., Any], *, sfreq: float = 160.0, random_state: Any = None,
                  params: dict[str, Any] | None = None) -> Any:
    """A fresh, unfitted estimator for pipeline ``name``.

    Parameters
    ----------
    name : str or callable
        Registered name (see :func:`list_pipelines`) or a factory already resolved by
        :func:`resolve_pipeline`.
    sfreq : float, default=160.0
        Sampling rate of the epochs, Hz.
    random_state : int or None
        Seed passed to the factory.
    params : dict or None
        ``set_params`` overrides, e.g. ``{"max_epochs": 3}`` or ``{"lda__solver": "lsqr"}``.

    Raises
    ------
    ValidationError
        Unknown name or a plug-in that fails to load.

    Examples
    --------
    >>> make_pipeline("csp_lda").steps[-1][0]
    'lda'
    """
    factory = name if callable(name) else resolve_pipeline(name)
    est = factory(sfreq=sfreq, random_state=random_state)
    if params:
        try:
            est.set_params(**params)
        except ValueError as exc:
            raise ValidationError(f"pipeline {name!r}: bad parameter override {params} "
                                  f"({exc})") from None
    return est
