"""Batch decoding benchmark: datasets × pipelines × evaluations, cached, resumable, isolated.

:func:`run_benchmark` reads a config (YAML file or dict), cuts each dataset's epochs once
into ``<output>/cache/epochs/<dataset>-<hash>/`` (memory-mapped by the workers), runs
every grid cell in parallel jobs (joblib/loky), and writes each finished cell atomically
to ``<output>/cells/<dataset>__<pipeline>__<scheme>-<hash>.csv``.  A rerun skips every
cell whose file exists; the hash covers the cell's whole specification (dataset,
epoching, pipeline, evaluation, seeds, input file checksums or the MOABB dataset's
identity), so a changed config recomputes exactly the affected cells.  ``cells/`` and
``cache/`` are shared by every config that writes to the same output folder.

Failures are isolated: an exception inside a cell is caught in the worker, the other
cells go on, the finished ones are written and summarized, the failed ones are listed
(name, error type, message) in the run's ``manifest.json``, and :class:`DecodingError`
is raised at the end.  A rerun computes only the failed or missing cells.  A hard kill
(the process killed, a worker dying) loses at most the cells running at that moment,
``n_jobs`` of them.

Outputs of one run go to ``<output>/<config-hash>/`` (the hash of the resolved config
without ``output``, ``n_jobs`` and ``cache_epochs``, which do not change results),
written in a staging folder and renamed into place: ``results.csv`` (tidy, one row per
fold), ``summary.csv`` / ``summary.md`` (mean ± std per dataset, scheme and pipeline,
with chance levels), ``scores.png`` (score distributions), ``paired.png`` (fold-paired
differences between pipelines) and ``manifest.json`` (config, config hash, software
versions, input checksums, cells run, skipped and failed).  ``<output>/latest.json``
points at the last run folder.

Config (YAML)::

    name: decoding_eegmmidb
    output: ../../results/decoding_eegmmidb   # relative to the config file
    n_jobs: 2
    random_state: 42
    n_permutations: 20
    datasets:
      - name: eegmmidb_imagery
        classes: {left_fist: T1, right_fist: T2}
        epochs: {tmin: 1.0, tmax: 2.0, l_freq: 7.0, h_freq: 30.0}
        recordings:
          - {path: S001R04.edf, subject: S001, session: "0", run: "4"}
      - name: physionet_mi            # a MOABB dataset (optional extra neuroloom[moabb])
        moabb: PhysionetMI            # moabb.datasets.PhysionetMI(); a dict config may
        subjects: [1]                 # pass the dataset object itself
        classes: [left_hand, right_hand]   # MOABB event_id keys
        epochs: {tmin: 0.0, tmax: 2.0, l_freq: 7.0, h_freq: 30.0}
    pipelines: [csp_lda, ts_lr, {name: eegnet, params: {max_epochs: 30}, n_permutations: 0}]
    evaluations: [within_session, {scheme: cross_session, group_by: run}]
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodata import results as results_io
from neurodata.errors import MissingFileError, NeurodataError, ValidationError
from neurodata.log import logger, progress_enabled, verbose

from .epochs import Epochs, make_epochs
from .evaluation import SCHEMES, evaluate

__all__ = ["run_benchmark", "load_config", "BenchmarkResult", "summarize", "config_hash",
           "DecodingError"]

_EPOCH_KEYS = {"tmin", "tmax", "block", "picks", "exclude_bad", "l_freq", "h_freq",
               "resample", "baseline", "reject"}
_TOP_KEYS = {"name", "output", "n_jobs", "random_state", "n_permutations", "cache_epochs",
             "datasets", "pipelines", "evaluations"}
_DATASET_KEYS = {"name", "classes", "epochs", "recordings", "moabb", "subjects"}
# Settings that change where and how fast a run goes, not its numbers: kept out of the
# config hash so the same grid lands in the same run folder.
_NOT_HASHED = ("output", "n_jobs", "cache_epochs")
# The MOABB dataset object travels in the dataset dict under this key; it is dropped
# from hashes and manifests (its identity is in "moabb", see moabb_fingerprint).
_MOABB_OBJ = "moabb_dataset"


class DecodingError(NeurodataError):
    """A decoding run could not finish all its work (e.g. grid cells raised).

    Bad input raises :class:`~neurodata.errors.ValidationError` before any work starts;
    this error means the work itself failed somewhere.

    Attributes
    ----------
    failed : list of dict
        One per failed cell: ``cell``, ``error`` (exception type), ``message``,
        ``traceback``.
    run_dir : Path or None
        The run folder whose ``manifest.json`` lists the failures.
    """

    def __init__(self, message: str, path: Any = None, *, failed: list[dict] | None = None,
                 run_dir: Path | None = None):
        super().__init__(message, path=path)
        self.failed = list(failed or [])
        self.run_dir = run_dir


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` returns.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per fold (tidy), columns of :func:`decoders.evaluation.evaluate` plus
        ``dataset`` and ``cell``.
    summary : pandas.DataFrame
        Per dataset × scheme × pipeline: ``mean``, ``std``, ``n_folds``, chance levels.
    ran, skipped : list of str
        Cells computed in this call, and cells found finished and skipped.
    output : Path
        The output folder (holds the shared ``cells/`` and ``cache/``).
    run_dir : Path
        This run's folder, ``<output>/<config_hash>/`` (results, summary, plots, manifest).
    config_hash : str
        12 hex characters, see :func:`config_hash`.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    output: Path = Path(".")
    run_dir: Path = Path(".")
    config_hash: str = ""


def _hash(obj: Any, n: int = 12) -> str:
    return results_io.config_hash(obj, length=n)


def _as_list(value: Any, what: str, path: Any) -> list:
    if value is None:
        raise ValidationError(f"config needs a non-empty '{what}' list", path=path)
    if not isinstance(value, list) or not value:
        raise ValidationError(f"'{what}' must be a non-empty list; got {value!r}", path=path)
    return value


def _load_dataset(d: Any, base: Path, where: Path | None) -> dict[str, Any]:
    """Check one dataset entry; resolve its recording paths or its MOABB dataset."""
    if not isinstance(d, dict) or "name" not in d:
        raise ValidationError(f"each dataset needs a 'name'; got {d!r}", path=where)
    name = str(d["name"])
    unknown = set(d) - _DATASET_KEYS
    if unknown:
        raise ValidationError(f"dataset {name!r}: unknown key(s) {sorted(unknown)}; allowed: "
                              f"{sorted(_DATASET_KEYS)}", path=where)
    if ("recordings" in d) == ("moabb" in d):
        raise ValidationError(f"dataset {name!r} needs exactly one source: 'recordings' (a "
                              "list of files) or 'moabb' (a MOABB dataset)", path=where)
    for key in ("classes", "epochs"):
        if key not in d:
            raise ValidationError(f"dataset {name!r} lacks '{key}'", path=where)
    if not isinstance(d["epochs"], dict):
        raise ValidationError(f"dataset {name!r}: 'epochs' must be a mapping with tmin and "
                              f"tmax; got {d['epochs']!r}", path=where)
    bad = set(d["epochs"]) - _EPOCH_KEYS
    if bad:
        raise ValidationError(f"dataset {name!r}: unknown epochs option(s) "
                              f"{sorted(bad)}; allowed: {sorted(_EPOCH_KEYS)}", path=where)
    if "tmin" not in d["epochs"] or "tmax" not in d["epochs"]:
        raise ValidationError(f"dataset {name!r}: epochs need tmin and tmax "
                              "(seconds from the event)", path=where)
    out = {"name": name, "classes": d["classes"], "epochs": dict(d["epochs"])}
    if "moabb" in d:
        from .moabb_source import _check_subjects, moabb_fingerprint, resolve_moabb_dataset

        try:
            obj = resolve_moabb_dataset(d["moabb"])
            subjects = _check_subjects(obj, d.get("subjects"))
        except ValidationError as exc:
            raise ValidationError(f"dataset {name!r}: {exc.message}", path=where) from None
        out.update(subjects=subjects, moabb=moabb_fingerprint(obj, subjects))
        out[_MOABB_OBJ] = obj
        return out
    if "subjects" in d:
        raise ValidationError(f"dataset {name!r}: 'subjects' applies to MOABB datasets; give "
                              "each recording's subject in its entry instead", path=where)
    recs = []
    for r in _as_list(d["recordings"], f"datasets[{name}].recordings", where):
        r = dict(r) if isinstance(r, dict) else {"path": r}
        if "path" not in r:
            raise ValidationError(f"dataset {name!r}: a recording entry needs 'path'; got "
                                  f"{r!r}", path=where)
        p = Path(os.path.expandvars(str(r["path"])))
        r["path"] = str(p if p.is_absolute() else base / p)
        recs.append(r)
    out["recordings"] = recs
    return out


def _public(obj: Any) -> Any:
    """The config without MOABB dataset objects (for hashes and manifests)."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if k != _MOABB_OBJ}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


def config_hash(cfg: Mapping[str, Any]) -> str:
    """12-hex-digit hash of a resolved config (:func:`load_config`), naming its run folder.

    ``output``, ``n_jobs`` and ``cache_epochs`` are left out: they change where and how
    fast the grid runs, not its numbers.  MOABB datasets enter by their fingerprint
    (class, subjects, moabb version, attributes).
    """
    return _hash({k: v for k, v in _public(dict(cfg)).items() if k not in _NOT_HASHED})


def load_config(config: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a benchmark config; resolve paths against the config's folder.

    Parameters
    ----------
    config : path or dict
        A YAML file, or the same structure as a dict (relative paths then resolve against
        the current directory).

    Returns
    -------
    dict
        Normalized config: ``datasets``, ``pipelines`` and ``evaluations`` as lists of
        dicts, absolute recording paths, defaults filled in.

    Raises
    ------
    MissingFileError, ValidationError
        Missing file, unknown keys, unknown scheme or pipeline, bad values.

    Examples
    --------
    >>> cfg = load_config({"datasets": [{"name": "d", "classes": ["T1", "T2"],
    ...     "epochs": {"tmin": 0, "tmax": 1}, "recordings": ["a.edf"]}],
    ...     "pipelines": ["csp_lda"], "evaluations": ["within_session"]})
    >>> cfg["pipelines"][0]["name"], cfg["evaluations"][0]["scheme"]
    ('csp_lda', 'within_session')
    """
    from .pipeline_registry import resolve_pipeline

    if isinstance(config, Mapping):
        raw, where, base = dict(config), None, Path.cwd()
    else:
        where = Path(config)
        raw = results_io.load_yaml_mapping(where, what="benchmark config")
        base = where.resolve().parent
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ValidationError(f"unknown config key(s) {sorted(unknown)}; allowed: "
                              f"{sorted(_TOP_KEYS)}", path=where)
    cfg: dict[str, Any] = {
        "name": str(raw.get("name", where.stem if where else "benchmark")),
        "output": str(base / raw["output"]) if raw.get("output") else None,
        "n_jobs": int(raw.get("n_jobs", 1)),
        "random_state": int(raw.get("random_state", 42)),
        "n_permutations": int(raw.get("n_permutations", 0)),
        "cache_epochs": bool(raw.get("cache_epochs", True)),
    }
    datasets = [_load_dataset(d, base, where)
                for d in _as_list(raw.get("datasets"), "datasets", where)]
    names = [d["name"] for d in datasets]
    if len(set(names)) != len(names):
        raise ValidationError(f"dataset names must be unique; got {names}", path=where)
    pipelines = []
    for p in _as_list(raw.get("pipelines"), "pipelines", where):
        p = dict(p) if isinstance(p, dict) else {"name": str(p)}
        if "name" not in p:
            raise ValidationError(f"a pipeline entry needs 'name'; got {p!r}", path=where)
        try:  # names are looked up in the registry, never imported
            resolve_pipeline(p["name"])
        except ValidationError as exc:
            raise ValidationError(exc.message, path=where) from None
        pipelines.append({"name": p["name"], "label": p.get("label", p["name"]),
                          "params": p.get("params") or {},
                          "n_permutations": p.get("n_permutations")})
    evaluations = []
    for e in _as_list(raw.get("evaluations"), "evaluations", where):
        e = dict(e) if isinstance(e, dict) else {"scheme": str(e)}
        if e.get("scheme") not in SCHEMES:
            raise ValidationError(f"unknown evaluation scheme {e.get('scheme')!r}; choose "
                                  f"from {list(SCHEMES)}", path=where)
        evaluations.append({"scheme": e["scheme"], "n_splits": int(e.get("n_splits", 5)),
                            "group_by": e.get("group_by")})
    cfg.update(datasets=datasets, pipelines=pipelines, evaluations=evaluations)
    return cfg


def _input_key(dataset: dict[str, Any]) -> Any:
    """Input identity of a dataset: its files' sha256, or a MOABB dataset's fingerprint."""
    from neurodata.provenance import sha256_file

    if "moabb" in dataset:
        return dataset["moabb"]
    out = []
    for r in dataset["recordings"]:
        if not Path(r["path"]).exists():
            raise MissingFileError(f"recording of dataset {dataset['name']!r} not found",
                                   path=r["path"])
        out.append(sha256_file(r["path"]))
    return out


def _class_labels(classes: Any) -> list[str]:
    if isinstance(classes, Mapping):
        return [str(x) for v in classes.values()
                for x in ([v] if isinstance(v, str | int) else v)]
    return [str(c) for c in classes]


def _epochs_for(dataset: dict[str, Any], verbose: Any = None) -> Epochs:
    if _MOABB_OBJ in dataset:
        from .moabb_source import moabb_sources

        sources: Any = moabb_sources(dataset[_MOABB_OBJ], dataset["subjects"],
                                     labels=_class_labels(dataset["classes"]), verbose=verbose)
    else:
        sources = dataset["recordings"]
    return make_epochs(sources, dataset["classes"], **dataset["epochs"], verbose=verbose)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _factory(name: str) -> Any:
    from .pipeline_registry import resolve_pipeline

    return resolve_pipeline(name)


def _compute_cell(cell: dict[str, Any]) -> None:
    """Evaluate one cell and write its CSV atomically."""
    if cell["cache_dir"]:
        ep = Epochs.load(cell["cache_dir"])
    else:
        ep = _epochs_for(cell["dataset"])
    p = cell["pipeline"]
    n_perm = p["n_permutations"] if p["n_permutations"] is not None else cell["n_perm"]
    ev = cell["evaluation"]
    # The factory was resolved from the registry in the main process (run-time
    # registrations included); a worker never resolves or imports a name itself.
    from .pipeline_registry import make_pipeline

    est = make_pipeline(cell["factory"], sfreq=ep.sfreq, random_state=cell["random_state"],
                        params=p["params"]) if cell.get("factory") else p["name"]
    df = evaluate(ep, est, scheme=ev["scheme"], n_splits=ev["n_splits"],
                  group_by=ev["group_by"], n_permutations=int(n_perm),
                  params=p["params"], pipeline_name=p["label"],
                  random_state=cell["random_state"])
    df.insert(0, "dataset", cell["dataset"]["name"])
    df.insert(1, "cell", cell["key"])
    # temporary file + fsync + rename; leftovers of killed workers are removed
    results_io.write_csv(cell["file"], df)


def _run_cell(cell: dict[str, Any], n_threads: int | None) -> dict[str, Any]:
    """Compute one cell in a worker process; an exception is returned, not raised, so one
    failing cell never stops the grid."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    limits = threadpool_limits(n_threads) if n_threads else None
    torch_threads = None
    try:
        if n_threads and cell["pipeline"]["name"] in ("eegnet", "shallow", "deep4"):
            import torch

            torch_threads = torch.get_num_threads()
            torch.set_num_threads(n_threads)
        _compute_cell(cell)
    except Exception as exc:  # noqa: BLE001 - isolated per cell, reported by the caller
        return {"cell": cell["key"], "ok": False, "seconds": time.perf_counter() - t0,
                "error": type(exc).__name__, "message": _one_line(exc),
                "traceback": traceback.format_exc(limit=-6)}
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)
    return {"cell": cell["key"], "ok": True, "seconds": time.perf_counter() - t0}


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std of the fold scores per dataset, scheme and pipeline, with chance levels.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results (``results.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, scheme, pipeline, scoring, mean, std, n_folds, chance_level,
        chance_p95, p_value, fit_time_s``.
    """
    g = results.groupby(["dataset", "scheme", "pipeline"], sort=False)
    out = g.agg(scoring=("scoring", "first"), mean=("score", "mean"), std=("score", "std"),
                n_folds=("score", "size"), chance_level=("chance_level", "mean"),
                chance_p95=("chance_p95", "mean"), p_value=("p_value", "max"),
                fit_time_s=("fit_time_s", "mean"))
    return out.reset_index()


def _markdown(summary: pd.DataFrame) -> str:
    lines = ["| dataset | scheme | pipeline | score (mean ± std) | folds | chance (perm. mean) "
             "| chance 95th pct | p | fit s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        def f(v: float, d: int = 3) -> str:
            return "–" if pd.isna(v) else f"{v:.{d}f}"
        lines.append(f"| {r.dataset} | {r.scheme} | {r.pipeline} | {r.scoring} "
                     f"{f(r.mean)} ± {f(r.std)} | {r.n_folds} | {f(r.chance_level)} | "
                     f"{f(r.chance_p95)} | {f(r.p_value)} | {f(r.fit_time_s, 2)} |")
    return "\n".join(lines) + "\n"


def _plots(results: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    paths = []
    groups = list(results.groupby(["dataset", "scheme"], sort=False))
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 2.8 * len(groups)), squeeze=False)
    for ax, ((ds, sch), df) in zip(axes[:, 0], groups, strict=True):
        names = list(dict.fromkeys(df["pipeline"]))
        data = [df.loc[df["pipeline"] == n, "score"].dropna().to_numpy() for n in names]
        ax.boxplot(data, tick_labels=names, showfliers=False)
        rng = np.random.default_rng(0)  # jitter only, for visibility
        for i, d in enumerate(data):
            ax.plot(i + 1 + rng.uniform(-0.12, 0.12, d.size), d, "o", ms=3, alpha=0.6)
        chance = df.groupby("pipeline")["chance_p95"].mean().reindex(names).to_numpy()
        if np.isfinite(chance).any():
            ax.plot(np.arange(1, len(names) + 1), chance, "r_", ms=22, mew=2,
                    label="permutation 95th pct")
            ax.legend(loc="lower right", fontsize=8)
        ax.axhline(df["chance_theory"].iloc[0], color="grey", ls="--", lw=0.8)
        ax.set_title(f"{ds} · {sch}", fontsize=10)
        ax.set_ylabel(df["scoring"].iloc[0])
    fig.tight_layout()
    results_io.save_figure(fig, out / "scores.png", dpi=100, tight=False)
    paths.append(out / "scores.png")

    # Paired comparison: mean fold-wise score difference (row - column) and the share of
    # folds where the row pipeline wins; folds are paired by identical splits and seeds.
    ds, sch = groups[0][0]
    df = groups[0][1]
    wide = df.pivot_table(index=["subject", "session", "fold"], columns="pipeline",
                          values="score", sort=False)
    names = list(wide.columns)
    diff = np.array([[np.nanmean(wide[a] - wide[b]) for b in names] for a in names])
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(names), 0.8 + 0.6 * len(names)))
    lim = np.nanmax(np.abs(diff)) or 1.0
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j:
                ax.text(j, i, f"{diff[i, j]:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="mean score difference (row − column)")
    ax.set_title(f"paired folds: {ds} · {sch}", fontsize=9)
    fig.tight_layout()
    results_io.save_figure(fig, out / "paired.png", dpi=100, tight=False)
    paths.append(out / "paired.png")
    return paths


def _precheck(ep: Epochs, dataset: str, evaluations: list[dict[str, Any]]) -> None:
    """Raise the evaluation schemes' bad-input errors (one class in a session, a single
    subject for cross_subject, ...) before any cell runs, instead of in every cell."""
    import warnings

    from .evaluation import _units

    for ev in evaluations:
        with warnings.catch_warnings():  # fold reductions are warned by the cells
            warnings.simplefilter("ignore")
            try:
                for _ in _units(ep, ev["scheme"], ev["group_by"], ev["n_splits"], None, 0):
                    pass
            except ValidationError as exc:
                raise ValidationError(f"dataset {dataset!r}, {ev['scheme']}: "
                                      f"{exc.message}") from None


def _keep_plots(old: Path, new: Path) -> None:
    """Carry the previous run's figures over when results.csv did not change (plots are a
    function of it), so a rerun with ``plots=False`` does not drop valid figures."""
    import shutil

    if (old / "results.csv").exists() and (
            (old / "results.csv").read_bytes() == (new / "results.csv").read_bytes()):
        for name in ("scores.png", "paired.png"):
            if (old / name).exists():
                shutil.copy2(old / name, new / name)


@verbose
def run_benchmark(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    output: str | os.PathLike | None = None,
    n_jobs: int | None = None,
    cache_epochs: bool | None = None,
    force: bool = False,
    plots: bool = True,
    verbose: bool | str | None = None,
) -> BenchmarkResult:
    """Run the datasets × pipelines × evaluations grid of a benchmark config.

    Parameters
    ----------
    config : path or dict
        See the module docstring and :func:`load_config`.  A dict may give a MOABB
        dataset object: ``{"name": ..., "moabb": moabb.datasets.PhysionetMI(),
        "subjects": [1], "classes": [...], "epochs": {...}}``.
    output : path or None
        Output folder; default the config's ``output`` or ``results/<name>``.  It holds
        the shared ``cells/`` and ``cache/``, one ``<config-hash>/`` folder per config
        and ``latest.json``.
    n_jobs : int or None
        Parallel cells (loky processes); default the config's ``n_jobs``.  Each worker
        limits its BLAS/torch threads to ``max(1, cpu_count // n_jobs)``.
    cache_epochs : bool or None
        Cut each dataset's epochs once and share them (default the config's, True);
        False makes every cell cut its own (the benchmark's uncached baseline).
    force : bool, default=False
        Recompute finished cells (and the epoch cache).
    plots : bool, default=True
        Write ``scores.png`` and ``paired.png``.  With False, the figures of the previous
        run of the same config are kept when its ``results.csv`` is unchanged.
    verbose : bool or str or None

    Returns
    -------
    BenchmarkResult
        ``run_dir`` is ``<output>/<config_hash>/``.

    Raises
    ------
    ValidationError, MissingFileError
        Bad config, unknown pipeline or scheme, missing recordings, epochs that cannot
        be cut (no events of the classes, one class only, window longer than a
        recording), or an evaluation the epochs cannot support (one subject for
        cross_subject); raised before any cell runs.
    DecodingError
        Some cells raised while running.  Every other cell ran; the finished ones are
        saved, summarized in the run folder, and the failures listed in its
        ``manifest.json``.  Rerunning computes only the failed cells.
    MissingDependencyError
        A config names a MOABB dataset and ``moabb`` is not installed.

    Examples
    --------
    >>> res = run_benchmark("pipelines/configs/decoding_eegmmidb.yaml")  # doctest: +SKIP
    >>> res.summary[["pipeline", "mean", "chance_level"]]  # doctest: +SKIP
    >>> res.run_dir  # doctest: +SKIP
    PosixPath('results/decoding_eegmmidb/3f2a9c0d1e4b')
    """
    from joblib import Parallel, delayed

    cfg = load_config(config)
    out = Path(output or cfg["output"] or Path("results") / cfg["name"])
    (out / "cells").mkdir(parents=True, exist_ok=True)
    n_jobs = int(n_jobs if n_jobs is not None else cfg["n_jobs"])
    use_cache = cfg["cache_epochs"] if cache_epochs is None else bool(cache_epochs)
    chash = config_hash(cfg)
    run_dir = out / chash

    cells, inputs = [], {}
    for ds in cfg["datasets"]:
        inputs[ds["name"]] = _input_key(ds)
        ds_key = _hash({"dataset": _public(ds), "sums": inputs[ds["name"]]})
        cache_dir = out / "cache" / "epochs" / f"{ds['name']}-{ds_key}"
        if use_cache:
            if force and cache_dir.exists():
                import shutil

                shutil.rmtree(cache_dir)
            if not (cache_dir / "info.json").exists():
                t = time.perf_counter()
                _epochs_for(ds).save(cache_dir)
                logger.info("epochs of %s cached in %.1f s", ds["name"], time.perf_counter() - t)
            ep = Epochs.load(cache_dir)
        else:
            # Fail on bad epoching here, once, rather than in every cell.
            ep = _epochs_for(ds)
        _precheck(ep, ds["name"], cfg["evaluations"])
        del ep
        for p in cfg["pipelines"]:
            for ev in cfg["evaluations"]:
                spec = {"dataset": ds_key, "pipeline": p, "evaluation": ev,
                        "random_state": cfg["random_state"], "n_perm": cfg["n_permutations"]}
                key = f"{ds['name']}__{p['label']}__{ev['scheme']}"
                if ev["group_by"]:
                    key += f"-{ev['group_by']}"
                cells.append({"key": key, "dataset": ds, "pipeline": p, "evaluation": ev,
                              "factory": _factory(p["name"]),
                              "random_state": cfg["random_state"],
                              "n_perm": cfg["n_permutations"],
                              "cache_dir": str(cache_dir) if use_cache else None,
                              "file": str(out / "cells" / f"{key}-{_hash(spec)}.csv")})
    keys = [c["key"] for c in cells]
    if len(set(keys)) != len(keys):
        raise ValidationError(f"two grid cells share a name ({keys}); give repeated "
                              "pipelines distinct 'label's")
    todo = [c for c in cells if force or not Path(c["file"]).exists()]
    skipped = [c["key"] for c in cells if c not in todo]
    if skipped:
        logger.info("%d finished cell(s) skipped: %s", len(skipped), ", ".join(skipped))
    n_threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    ran: list[str] = []
    failed: list[dict[str, Any]] = []

    def _record(outcome: dict[str, Any]) -> None:
        if outcome["ok"]:
            logger.info("cell %s done in %.1f s", outcome["cell"], outcome["seconds"])
            ran.append(outcome["cell"])
        else:
            # one line per failed cell; the traceback is in the manifest and at DEBUG level
            logger.warning("cell %s failed: %s: %s", outcome["cell"], outcome["error"],
                           " ".join(str(outcome["message"]).split()))
            logger.debug("%s", outcome["traceback"])
            failed.append(outcome)

    if todo:
        logger.info("running %d cell(s) on %d job(s)", len(todo), n_jobs)
        if n_jobs == 1:
            from tqdm.auto import tqdm

            for c in tqdm(todo, disable=not progress_enabled(), desc="cells"):
                _record(_run_cell(c, n_threads))
        else:
            jobs = (delayed(_run_cell)(c, n_threads) for c in todo)
            try:
                for outcome in Parallel(n_jobs=n_jobs, backend="loky",
                                        return_as="generator_unordered")(jobs):
                    _record(outcome)
            except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                # Cells are computed and written inside the workers, so everything that
                # finished is on disk; the ones in flight or queued count as failed.
                seen = set(ran) | {f["cell"] for f in failed}
                for c in todo:
                    if c["key"] not in seen:
                        failed.append({"cell": c["key"], "ok": False, "seconds": 0.0,
                                       "error": type(exc).__name__,
                                       "message": _one_line(f"the worker pool stopped: {exc}"),
                                       "traceback": ""})

    order = {k: i for i, k in enumerate(keys)}  # grid order, whatever finished first
    ran.sort(key=order.__getitem__)
    failed.sort(key=lambda f: order[f["cell"]])
    done = [c for c in cells if Path(c["file"]).exists()]
    if done:
        results = pd.concat([pd.read_csv(c["file"], dtype={"subject": str, "session": str})
                             for c in done], ignore_index=True)
    else:
        from .evaluation import RESULT_COLUMNS

        results = pd.DataFrame(columns=["dataset", "cell", *RESULT_COLUMNS])
    summary = summarize(results) if len(results) else pd.DataFrame()
    failed_info = [{k: f[k] for k in ("cell", "error", "message", "traceback")}
                   for f in failed]
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    packages = ["numpy", "scikit-learn", "mne", "pyriemann", "torch"]
    if any("moabb" in ds for ds in cfg["datasets"]):
        packages.append("moabb")
    manifest = {"config": _public(cfg), "config_hash": chash, "input_sha256": inputs,
                "software": results_io.software_versions(*packages),
                "cells": keys, "ran": ran, "skipped": skipped,
                "failed": failed_info, "complete": not failed,
                "cell_files": {c["key"]: str(Path(c["file"]).relative_to(out)) for c in cells},
                "finished": finished}
    with results_io.run_folder(run_dir) as tmp:
        if len(results):
            results.to_csv(tmp / "results.csv", index=False)
            summary.to_csv(tmp / "summary.csv", index=False)
            (tmp / "summary.md").write_text(_markdown(summary))
            if plots:
                try:
                    _plots(results, tmp)
                except Exception as exc:  # noqa: BLE001 - plots must never lose results
                    logger.warning("plots failed (%s); results.csv and summary are written",
                                   exc)
            else:
                _keep_plots(run_dir, tmp)
        results_io.write_json(tmp / "manifest.json", manifest)
    results_io.write_json(out / "latest.json", {
        "run_dir": chash, "path": str(run_dir.resolve()), "name": cfg["name"],
        "config_hash": chash, "complete": not failed,
        "failed": [f["cell"] for f in failed], "finished": finished}, newline=True)
    if failed:
        names = "; ".join(f"{f['cell']} ({f['error']}: {_one_line(f['message'], 160)})"
                          for f in failed)
        raise DecodingError(
            f"{len(failed)} of {len(cells)} cell(s) failed: {names}. The other "
            f"{len(done)} finished cell(s) are saved and summarized in this folder; rerun "
            "the same command to compute only the failed cells (tracebacks in "
            "manifest.json)", path=run_dir, failed=failed_info, run_dir=run_dir)
    return BenchmarkResult(results=results, summary=summary, ran=ran, skipped=skipped,
                           output=out, run_dir=run_dir, config_hash=chash)
