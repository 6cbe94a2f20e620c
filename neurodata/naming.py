"""Recording metadata (subject, session, task, run) from file names, and overrides.

Converted files carry subject/session ids so that :func:`~neurodata.load_dataset` can
group subjects and ``Dataset.select(task=...)`` finds what it should.  Many sources say
who and what only in their file name: BIDS entities (``sub-01_ses-2_task-rest_run-1``)
and the PhysioNet EEG Motor Movement/Imagery names (``S001R04.edf``: subject S001,
run 4, whose task the dataset description fixes).  :func:`metadata_from_name` parses
those; :func:`apply_metadata` writes them (and explicit overrides, which win) into a
:class:`~neurodata.Recording`'s ``subject``/``session`` before it is saved.

References: BIDS specification 1.9, "Entities" (https://bids-specification.readthedocs.io);
Schalk et al. (2004) and the PhysioNet EEGMMIDB description of runs 1-14
(https://physionet.org/content/eegmmidb/1.0.0/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["metadata_from_name", "apply_metadata", "EEGMMIDB_TASKS"]

#: Task of each EEGMMIDB run number (PhysioNet dataset description).
EEGMMIDB_TASKS: dict[int, str] = {
    1: "baseline, eyes open", 2: "baseline, eyes closed",
    **{r: "motor execution (left/right fist)" for r in (3, 7, 11)},
    **{r: "motor imagery (left/right fist)" for r in (4, 8, 12)},
    **{r: "motor execution (both fists/feet)" for r in (5, 9, 13)},
    **{r: "motor imagery (both fists/feet)" for r in (6, 10, 14)},
}

_EEGMMIDB = re.compile(r"^(S\d{3})R(\d{2})$", re.IGNORECASE)
_BIDS_ENTITY = re.compile(r"(?:^|_)(sub|ses|task|acq|run)-([A-Za-z0-9]+)")
_BIDS_KEYS = {"sub": "subject", "ses": "session", "task": "task", "acq": "acquisition",
              "run": "run"}


def _stem(path: str | os.PathLike) -> str:
    name = Path(path).name
    for suffix in (".nii.gz", ".fif.gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name.split(".")[0] if not Path(path).is_dir() else name


def metadata_from_name(path: str | os.PathLike) -> dict[str, Any]:
    """Subject, session, task and run parsed from a source's file name.

    Parameters
    ----------
    path : path-like
        A source file or folder; only its name is read (the file need not exist).

    Returns
    -------
    dict
        Any of ``subject`` (str), ``session`` (str), ``task`` (str), ``run`` (int) and
        ``acquisition`` (str) that the name states; empty when it states none.
        BIDS names give their entities; EEGMMIDB names (``S001R04``) give the subject,
        the run and the run's task.

    Examples
    --------
    >>> from neurodata.naming import metadata_from_name
    >>> metadata_from_name("S001R04.edf")
    {'subject': 'S001', 'run': 4, 'task': 'motor imagery (left/right fist)'}
    >>> metadata_from_name("sub-01_ses-2_task-rest_run-1_eeg.vhdr")
    {'subject': '01', 'session': '2', 'task': 'rest', 'run': 1}
    """
    stem = _stem(path)
    match = _EEGMMIDB.match(stem)
    if match:
        subject, run = match.group(1).upper(), int(match.group(2))
        out: dict[str, Any] = {"subject": subject, "run": run}
        if run in EEGMMIDB_TASKS:
            out["task"] = EEGMMIDB_TASKS[run]
        return out
    out = {}
    for key, value in _BIDS_ENTITY.findall(stem):
        out[_BIDS_KEYS[key]] = int(value) if key == "run" and value.isdigit() else value
    return out


def apply_metadata(rec, *, subject: str | None = None, session: str | None = None,
                   task: str | None = None, run: int | None = None,
                   from_name: str | os.PathLike | None = None) -> dict[str, Any]:
    """Set a recording's subject/session/task/run in place; return what was set.

    Values parsed from ``from_name`` (see :func:`metadata_from_name`) fill only ids the
    reader left ``"unknown"`` or empty; explicit arguments always win.  The session id
    defaults to ``"run-<run>"`` when a run is known and the reader gave no session id,
    so runs of one subject are distinct sessions in :class:`~neurodata.Dataset`.

    Parameters
    ----------
    rec : Recording
        Changed in place (its ``subject`` and ``session`` dicts).
    subject, session, task : str or None
        Explicit subject id, session id and task.
    run : int or None
        Run number, stored as ``session["run"]``.
    from_name : path-like or None
        Source whose file name is parsed for the values not given.

    Returns
    -------
    dict
        The keys that were set, with their values.

    Examples
    --------
    >>> import neurodata as nd
    >>> from neurodata.naming import apply_metadata
    >>> rec = nd.load(nd.sample_path("eegmmidb_s001r04"))
    >>> apply_metadata(rec, from_name="S001R04.edf")["run"]
    4
    >>> rec.subject["id"], rec.session["id"], rec.session["task"]
    ('S001', 'S001R04', 'motor imagery (left/right fist)')
    """
    parsed = metadata_from_name(from_name) if from_name is not None else {}

    def unset(value: Any) -> bool:
        return value is None or str(value) in ("", "unknown")

    done: dict[str, Any] = {}
    if subject is not None or (unset(rec.subject.get("id")) and "subject" in parsed):
        done["subject"] = rec.subject["id"] = str(subject if subject is not None
                                                  else parsed["subject"])
    run_value = run if run is not None else parsed.get("run")
    if run_value is not None and (run is not None or "run" not in rec.session):
        done["run"] = rec.session["run"] = int(run_value)
    if task is not None or (unset(rec.session.get("task")) and "task" in parsed):
        done["task"] = rec.session["task"] = str(task if task is not None else parsed["task"])
    if session is not None:
        done["session"] = rec.session["id"] = str(session)
    elif "session" in parsed and unset(rec.session.get("id")):
        done["session"] = rec.session["id"] = str(parsed["session"])
    elif run_value is not None and unset(rec.session.get("id")):
        done["session"] = rec.session["id"] = f"run-{int(run_value)}"
    return done
