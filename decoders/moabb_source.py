"""MOABB datasets as decoding sources: :func:`moabb_sources` (optional ``neuroloom[moabb]``).

MOABB (Aristimunho et al., "Mother of all BCI Benchmarks", Jayaram & Barachant 2018,
J. Neural Eng. 15 066011) wraps public BCI datasets; ``dataset.get_data(subjects)``
returns ``{subject: {session: {run: mne.io.Raw}}}``.  :func:`moabb_sources` converts each
raw with :func:`neurodata.from_mne` into an in-memory :class:`neurodata.Recording` and
returns the dicts :func:`decoders.epochs.make_epochs` takes (recording + subject, session
and run ids), so a MOABB dataset runs through the same epoching, pipelines and benchmark
grid as any converted recording.

What the labels are
-------------------
``get_data`` runs MOABB's default raw step (``SetRawAnnotations``): each trial becomes an
annotation named by the dataset's ``event_id`` key (PhysionetMI: ``left_hand``,
``right_hand``, ``hands``, ``feet``, ``rest``; BNCI2014_001: ``left_hand``, ``right_hand``,
``feet``, ``tongue``), placed at the **start of the dataset's task interval**
(``event + dataset.interval[0]``) with the interval's length as duration.  Those
annotations become the recording's events (label = ``event_id`` key, value = its code);
stim-channel pulses are not added a second time.  So ``classes`` name ``event_id`` keys
(``["left_hand", "right_hand"]``) and ``tmin``/``tmax`` count from the interval start, as
in MOABB's own paradigms (``tmin=0`` is ``dataset.interval[0]`` after the cue).

MOABB downloads into ``MNE_DATA`` (or ``MNE_DATASETS_<SIGN>_PATH``) on first use; this
module never downloads by itself, it only calls ``get_data``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from neurodata.errors import MissingDependencyError, ValidationError
from neurodata.log import logger, verbose

__all__ = ["moabb_sources", "moabb_fingerprint", "resolve_moabb_dataset", "import_moabb",
           "MissingDependencyError"]

_INSTALL_HINT = ("install the optional extra: pip install 'neuroloom[moabb]' "
                 "(or pip install moabb)")


def import_moabb() -> Any:
    """Import and return the ``moabb`` package, or raise a clear error when it is missing.

    Raises
    ------
    MissingDependencyError
        ``moabb`` is not installed (also an ``ImportError``); the message says how to
        install it.
    """
    try:
        return importlib.import_module("moabb")
    except ImportError as exc:
        raise MissingDependencyError(f"MOABB datasets need the 'moabb' package, which is not "
                          f"importable ({exc}); {_INSTALL_HINT}") from None


def _check_dataset(dataset: Any) -> None:
    import_moabb()
    from moabb.datasets.base import BaseDataset

    if not isinstance(dataset, BaseDataset):
        raise ValidationError(
            f"expected a MOABB dataset object (moabb.datasets.base.BaseDataset); got "
            f"{type(dataset).__name__}. Pass e.g. moabb.datasets.PhysionetMI()")


def resolve_moabb_dataset(spec: Any) -> Any:
    """A MOABB dataset object from an object, a class name or ``{dataset:, params:}``.

    Parameters
    ----------
    spec : BaseDataset or str or dict
        A dataset object (returned as is); a class name in ``moabb.datasets``
        (``"PhysionetMI"`` → ``moabb.datasets.PhysionetMI()``); or a dict
        ``{"dataset": "PhysionetMI", "params": {"imagined": True}}`` whose params go to
        the constructor.

    Returns
    -------
    moabb.datasets.base.BaseDataset

    Raises
    ------
    MissingDependencyError
        ``moabb`` is not installed (an ``ImportError``).
    ValidationError
        Unknown class name, bad constructor parameters, or not a dataset.

    Examples
    --------
    >>> ds = resolve_moabb_dataset("PhysionetMI")  # doctest: +SKIP
    >>> ds.event_id  # doctest: +SKIP
    {'left_hand': 2, 'right_hand': 3, 'feet': 5, 'hands': 4, 'rest': 1}
    """
    moabb = import_moabb()
    if isinstance(spec, str | dict):
        name, params = (spec, {}) if isinstance(spec, str) else (spec.get("dataset"),
                                                                 spec.get("params") or {})
        import moabb.datasets as mdatasets

        cls = getattr(mdatasets, str(name), None)
        if not isinstance(cls, type):
            raise ValidationError(
                f"moabb.datasets has no dataset {name!r} (moabb {moabb.__version__}); give a "
                "class name such as 'PhysionetMI' or 'BNCI2014_001'")
        try:
            spec = cls(**params)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"moabb.datasets.{name}({params}) failed: {exc}") from None
    _check_dataset(spec)
    return spec


def _check_subjects(dataset: Any, subjects: Iterable[Any] | None) -> list[Any]:
    if subjects is None:
        raise ValidationError(
            f"give the subjects of MOABB dataset {dataset.code} to use (a list, e.g. "
            f"subjects: [1]); it has {len(dataset.subject_list)}: "
            f"{list(dataset.subject_list)[:10]}{' ...' if len(dataset.subject_list) > 10 else ''}")
    subjects = list(subjects) if not isinstance(subjects, str | int) else [subjects]
    unknown = [s for s in subjects if s not in dataset.subject_list]
    if not subjects or unknown:
        raise ValidationError(
            f"MOABB dataset {dataset.code}: subjects {unknown or subjects} are not among its "
            f"subjects {list(dataset.subject_list)[:10]}"
            f"{' ...' if len(dataset.subject_list) > 10 else ''}")
    return subjects


def _simple(value: Any) -> bool:
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, list | tuple):
        return all(_simple(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _simple(v) for k, v in value.items())
    return False


def moabb_fingerprint(dataset: Any, subjects: Sequence[Any]) -> dict[str, Any]:
    """What identifies the data a MOABB dataset yields, for cache keys and manifests.

    MOABB files are downloaded on demand, so instead of file checksums the key holds the
    dataset's class (module and name), its code, the subjects, the moabb version and the
    dataset object's plain public attributes (``event_id``, ``interval``, run selections
    such as PhysionetMI's ``hand_runs``), which change what ``get_data`` returns.

    Parameters
    ----------
    dataset : moabb.datasets.base.BaseDataset
    subjects : list
        Subject ids as the dataset numbers them.

    Returns
    -------
    dict
        JSON-serializable.
    """
    moabb = import_moabb()
    cls = type(dataset)
    attrs = {k: v for k, v in sorted(vars(dataset).items())
             if not k.startswith("_") and k not in ("subject_list",) and _simple(v)}
    return {"dataset": f"{cls.__module__}.{cls.__qualname__}", "code": dataset.code,
            "subjects": list(subjects), "moabb_version": moabb.__version__,
            "attributes": attrs}


def _event_code(value: Any) -> int:
    return int(value[0]) if isinstance(value, list | tuple) else int(value)


@verbose
def moabb_sources(
    dataset: Any,
    subjects: Iterable[Any] | None,
    *,
    labels: Iterable[str] | None = None,
    verbose: bool | str | None = None,
) -> list[dict[str, Any]]:
    """Load MOABB subjects as in-memory recordings that :func:`make_epochs` accepts.

    Parameters
    ----------
    dataset : moabb.datasets.base.BaseDataset
        e.g. ``moabb.datasets.PhysionetMI()``; may download on first use (MOABB's own
        downloader, into ``MNE_DATA``).
    subjects : list
        Subject ids as the dataset numbers them (``dataset.subject_list``).
    labels : iterable of str or None
        Event labels (``event_id`` keys) the caller will epoch; runs that carry none of
        them are skipped (PhysionetMI's feet runs when decoding left vs right hand, as
        MOABB's paradigms do).  None keeps every run.
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    list of dict
        One per run: ``recording`` (:class:`neurodata.Recording`, EEG block in volts,
        events labelled by ``event_id`` keys at the task interval start), ``subject``,
        ``session`` and ``run`` (strings, MOABB's names).

    Raises
    ------
    MissingDependencyError
        ``moabb`` is not installed (an ``ImportError``).
    ValidationError
        Not a MOABB dataset, unknown subjects, or no run with any of ``labels``.

    Examples
    --------
    >>> from moabb.datasets import PhysionetMI  # doctest: +SKIP
    >>> from decoders.epochs import make_epochs
    >>> hands = ["left_hand", "right_hand"]
    >>> src = moabb_sources(PhysionetMI(), [1], labels=hands)  # doctest: +SKIP
    >>> ep = make_epochs(src, hands, tmin=1.0, tmax=2.0, l_freq=7.0, h_freq=30.0)  # doctest: +SKIP
    >>> ep.metadata[["subject", "session", "run", "label"]].iloc[0].tolist()  # doctest: +SKIP
    ['1', '0', '0', 'right_hand']
    """
    import pandas as pd

    import neurodata as nd
    from neurodata.provenance import make_provenance

    _check_dataset(dataset)
    subjects = _check_subjects(dataset, subjects)
    wanted = None if labels is None else {str(x) for x in labels}
    codes = {str(k): _event_code(v) for k, v in dataset.event_id.items()}
    data = dataset.get_data(subjects)
    out: list[dict[str, Any]] = []
    n_skipped = 0
    for subject, sessions in data.items():
        for session, runs in sessions.items():
            for run, raw in runs.items():
                prov = make_provenance(
                    loader="decoders.moabb_source.moabb_sources",
                    parameters={"moabb": moabb_fingerprint(dataset, [subject]),
                                "session": str(session), "run": str(run)},
                    packages=("mne", "moabb"))
                # SetRawAnnotations already turned stim pulses into annotations; reading
                # the stim channel as well would add each trial twice.
                rec = nd.from_mne(raw, subject={"id": str(subject)},
                                  session={"id": str(session),
                                           "task": str(dataset.paradigm),
                                           "description": f"MOABB {dataset.code} run {run}"},
                                  events_from_stim=False, provenance=prov, verbose=False)
                ev = rec.events.to_dataframe()
                if wanted is not None and not ev["label"].astype(str).isin(wanted).any():
                    n_skipped += 1
                    continue
                if len(ev):  # value = MOABB's event code, not from_mne's enumeration
                    ev["value"] = [codes.get(str(lab), -1) for lab in ev["label"]]
                    rec.events = nd.Events.from_dataframe(pd.DataFrame(ev))
                out.append({"recording": rec, "subject": str(subject),
                            "session": str(session), "run": str(run)})
    if n_skipped:
        logger.info("MOABB %s: %d run(s) without events %s skipped", dataset.code,
                    n_skipped, sorted(wanted or ()))
    if not out:
        raise ValidationError(
            f"MOABB dataset {dataset.code}, subjects {subjects}: no run has events "
            f"{sorted(wanted or ())}; its event labels are {sorted(codes)}")
    logger.info("MOABB %s: %d run(s) of %d subject(s) converted", dataset.code, len(out),
                len(subjects))
    return out
