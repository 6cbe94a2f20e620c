"""Evaluation schemes for decoding pipelines on :class:`decoders.epochs.Epochs`.

- ``within_session``: stratified k-fold inside each (subject, session);
- ``cross_session``: per subject, leave one session (or run: ``group_by="run"``) out;
- ``cross_subject``: leave one subject out.

Scores are ROC-AUC for two classes and balanced accuracy otherwise (MOABB's choice), one
row per fold with fit and score times.  A permutation chance level — the same splits
refitted on labels shuffled within each evaluation unit (Ojala & Garriga 2010,
"Permutation tests for studying classifier performance", JMLR 11) — comes with each unit:
``chance_level`` (mean of the null scores), ``chance_p95`` and ``p_value``.  With few
trials the empirical chance level of ROC-AUC stays near 0.5 but its 95th percentile is far
above it (Combrisson & Jerbi 2015, J. Neurosci. Methods 250), which is why both are kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
from sklearn.utils.validation import check_random_state

from neurodata.errors import ValidationError
from neurodata.log import logger, verbose, warn

from .epochs import Epochs

__all__ = ["evaluate", "SCHEMES", "default_scoring"]

SCHEMES: tuple[str, ...] = ("within_session", "cross_session", "cross_subject")

RESULT_COLUMNS = [
    "pipeline", "scheme", "subject", "session", "fold", "score", "scoring", "n_train",
    "n_test", "fit_time_s", "score_time_s", "chance_level", "chance_p95", "p_value",
    "chance_theory", "n_permutations",
]


def default_scoring(n_classes: int) -> str:
    """``"roc_auc"`` for two classes, else ``"balanced_accuracy"``."""
    return "roc_auc" if n_classes == 2 else "balanced_accuracy"


def _units(epochs: Epochs, scheme: str, group_by: str | None, n_splits: int, cv: Any,
           seed: int) -> Iterator[tuple[str, str, np.ndarray, list]]:
    """Yield (subject, session, indices, splits) per evaluation unit.

    ``splits`` is a callable y -> list of (train, test) position arrays within ``indices``,
    so permutations can re-split on shuffled labels exactly as the real run did.
    """
    meta = epochs.metadata
    if scheme == "within_session":
        for (subj, sess), rows in meta.groupby(["subject", "session"], sort=True):
            idx = rows.index.to_numpy()
            counts = np.bincount(epochs.y[idx], minlength=len(epochs.classes))
            present = counts[counts > 0]
            if present.size < 2:
                raise ValidationError(
                    f"subject {subj!r} session {sess!r} has one class only "
                    f"({epochs.counts()}); within-session decoding needs two")
            k = n_splits
            if cv is None and present.min() < k:
                k = int(present.min())
                if k < 2:
                    raise ValidationError(
                        f"subject {subj!r} session {sess!r}: the smallest class has "
                        f"{present.min()} epoch(s); {n_splits}-fold CV needs at least 2")
                warn(f"subject {subj} session {sess}: {n_splits} folds reduced to {k} "
                     "(smallest class)")
            splitter = cv if cv is not None else StratifiedKFold(k, shuffle=True,
                                                                  random_state=seed)

            def splits(y, _s=splitter):
                return list(_s.split(np.zeros((len(y), 1)), y))

            yield str(subj), str(sess), idx, splits
    elif scheme == "cross_session":
        key = group_by or "session"
        if key not in meta:
            raise ValidationError(f"group_by={key!r} is not an epochs metadata column; "
                                  f"choose from {list(meta.columns)}")
        for subj, rows in meta.groupby("subject", sort=True):
            idx = rows.index.to_numpy()
            groups = rows[key].astype(str).to_numpy()
            if len(set(groups)) < 2:
                raise ValidationError(
                    f"cross-session evaluation needs at least two {key}s for subject "
                    f"{subj!r}; found {sorted(set(groups))}. Give recordings distinct "
                    f"'{key}' ids, or use within_session")

            def splits(y, _g=groups):
                return list(LeaveOneGroupOut().split(np.zeros((len(_g), 1)), y, _g))

            yield str(subj), "*", idx, splits
    elif scheme == "cross_subject":
        groups = meta["subject"].astype(str).to_numpy()
        if len(set(groups)) < 2:
            raise ValidationError(
                f"cross-subject evaluation needs at least two subjects; found "
                f"{sorted(set(groups))}. Add recordings of other subjects (with distinct "
                "'subject' ids) or use within_session / cross_session")
        idx = np.arange(len(meta))

        def splits(y, _g=groups):
            return list(LeaveOneGroupOut().split(np.zeros((len(_g), 1)), y, _g))

        yield "*", "*", idx, splits
    else:
        raise ValidationError(f"unknown evaluation scheme {scheme!r}; choose from "
                              f"{list(SCHEMES)}")


def _fit_score(est: Any, scorer: Any, X: np.ndarray, y: np.ndarray, train: np.ndarray,
               test: np.ndarray) -> tuple[float, float, float]:
    model = clone(est)
    t0 = time.perf_counter()
    model.fit(X[train], y[train])
    t1 = time.perf_counter()
    if np.unique(y[test]).size < 2 and "roc_auc" in str(scorer):
        score = np.nan  # ROC-AUC is undefined on a one-class test fold
    else:
        score = float(scorer(model, X[test], y[test]))
    return score, t1 - t0, time.perf_counter() - t1


def _quiet_mne() -> Any:
    try:
        import mne

        return mne.utils.use_log_level("WARNING")
    except ImportError:  # pragma: no cover - mne is a core dependency
        return nullcontext()


@verbose
def evaluate(
    epochs: Epochs,
    pipeline: Any,
    *,
    scheme: str = "within_session",
    n_splits: int = 5,
    cv: Any = None,
    group_by: str | None = None,
    scoring: str | None = None,
    n_permutations: int = 0,
    params: dict[str, Any] | None = None,
    pipeline_name: str | None = None,
    random_state: int | None = 42,
    verbose: bool | str | None = None,
) -> pd.DataFrame:
    """Cross-validate one pipeline on epochs; one row per fold, with chance levels.

    Parameters
    ----------
    epochs : Epochs
        From :func:`decoders.epochs.make_epochs`.
    pipeline : str or estimator
        A pipeline name (see :func:`decoders.pipeline_registry.list_pipelines`) or an
        unfitted scikit-learn estimator on (n_epochs, n_channels, n_times).
    scheme : {"within_session", "cross_session", "cross_subject"}
    n_splits : int, default=5
        Folds of the within-session stratified k-fold (shuffled, seeded).
    cv : splitter or None
        Replaces the within-session k-fold (e.g. ``ShuffleSplit(10, test_size=0.2)``).
    group_by : str or None
        Metadata column whose values are left out in ``cross_session`` (default
        ``"session"``; ``"run"`` leaves one run out).
    scoring : str or None
        scikit-learn scorer name; default :func:`default_scoring`.
    n_permutations : int, default=0
        Label permutations for the chance level (0: chance columns are NaN).
    params : dict or None
        ``set_params`` overrides when ``pipeline`` is a name.
    pipeline_name : str or None
        Name written in the ``pipeline`` column (default: the name or the class name).
    random_state : int or None, default=42
        Seeds the folds, the permutations and the pipeline.
    verbose : bool or str or None

    Returns
    -------
    pandas.DataFrame
        Columns ``pipeline, scheme, subject, session, fold, score, scoring, n_train,
        n_test, fit_time_s, score_time_s, chance_level, chance_p95, p_value, chance_theory,
        n_permutations``; ``session`` is the held-out group in cross-session rows and
        ``subject`` the held-out subject in cross-subject rows.

    Raises
    ------
    ValidationError
        Unknown scheme or pipeline, one class only, or too few sessions/subjects.

    Examples
    --------
    >>> from decoders.epochs import Epochs
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4, 64)); y = np.repeat([0, 1], 20)
    >>> X[y == 1, 0] *= 3.0                 # planted: class 1 has more power on channel 0
    >>> ep = Epochs(X, y, ("a", "b"), 64.0, 0.0, list("ABCD"),
    ...             pd.DataFrame({"subject": ["s1"] * 40, "session": ["0"] * 40}))
    >>> res = evaluate(ep, "ts_lr", n_splits=4)
    >>> float(round(res["score"].mean(), 2))
    1.0
    """
    from .pipeline_registry import make_pipeline

    if scheme not in SCHEMES:
        raise ValidationError(f"unknown evaluation scheme {scheme!r}; choose from "
                              f"{list(SCHEMES)}")
    if isinstance(pipeline, str):
        name = pipeline_name or pipeline
        est = make_pipeline(pipeline, sfreq=epochs.sfreq, random_state=random_state,
                            params=params)
    else:
        name = pipeline_name or type(pipeline).__name__
        est = pipeline
    n_classes = len(epochs.classes)
    scoring = scoring or default_scoring(n_classes)
    scorer = get_scorer(scoring)
    theory = 0.5 if scoring == "roc_auc" else (1.0 / n_classes
                                               if scoring == "balanced_accuracy" else np.nan)
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))
    X = epochs.X
    rows = []
    with _quiet_mne():
        for subj, sess, idx, splits in _units(epochs, scheme, group_by, n_splits, cv, seed):
            Xu, yu = np.asarray(X[idx]), epochs.y[idx]
            meta_u = epochs.metadata.iloc[idx]
            unit_rows = []
            for fold, (train, test) in enumerate(splits(yu)):
                score, fit_s, score_s = _fit_score(est, scorer, Xu, yu, train, test)
                held_subj = subj if scheme != "cross_subject" else str(
                    meta_u["subject"].iloc[test[0]])
                held_sess = sess if scheme == "within_session" else (
                    str(meta_u[group_by or "session"].iloc[test[0]])
                    if scheme == "cross_session" else "*")
                unit_rows.append({"pipeline": name, "scheme": scheme, "subject": held_subj,
                                  "session": held_sess, "fold": fold, "score": score,
                                  "scoring": scoring, "n_train": len(train),
                                  "n_test": len(test), "fit_time_s": fit_s,
                                  "score_time_s": score_s})
                logger.debug("%s %s %s/%s fold %d: %s=%.3f", name, scheme, subj, sess, fold,
                             scoring, score)
            observed = np.nanmean([r["score"] for r in unit_rows])
            null = []
            for _ in range(n_permutations):
                y_perm = yu[rng.permutation(len(yu))]
                null.append(np.nanmean([_fit_score(est, scorer, Xu, y_perm, tr, te)[0]
                                        for tr, te in splits(y_perm)]))
            null = np.asarray(null, dtype=float)
            chance = {
                "chance_level": float(np.mean(null)) if null.size else np.nan,
                "chance_p95": float(np.percentile(null, 95)) if null.size else np.nan,
                "p_value": float((1 + np.sum(null >= observed)) / (1 + null.size))
                if null.size else np.nan,
                "chance_theory": theory, "n_permutations": int(n_permutations),
            }
            for r in unit_rows:
                r.update(chance)
            rows.extend(unit_rows)
            logger.info("%s %s subject %s session %s: %s %.3f (chance %.3f)", name, scheme,
                        subj, sess, scoring, observed, chance["chance_level"])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
