"""Batch decoding benchmark: datasets × pipelines × evaluations, cached and resumable.

:func:`run_benchmark` reads a config (YAML file or dict), cuts each dataset's epochs once
into ``<output>/cache/epochs/<dataset>-<hash>/`` (memory-mapped by the workers), runs
every grid cell in parallel jobs (joblib/loky), and writes each finished cell atomically
to ``<output>/cells/<dataset>__<pipeline>__<scheme>-<hash>.csv``.  A rerun skips every
cell whose file exists, so a crash loses at most the cells that were running; the hash
covers the cell's whole specification (dataset, epoching, pipeline, evaluation, seeds,
input file checksums), so a changed config recomputes exactly the affected cells.

Outputs: ``results.csv`` (tidy, one row per fold), ``summary.csv`` / ``summary.md``
(mean ± std per dataset, scheme and pipeline, with chance levels), ``scores.png`` (score
distributions), ``paired.png`` (fold-paired differences between pipelines) and
``manifest.json`` (config, config hash, software versions, input checksums, cells run).

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
    pipelines: [csp_lda, ts_lr, {name: eegnet, params: {max_epochs: 30}, n_permutations: 0}]
    evaluations: [within_session, {scheme: cross_session, group_by: run}]
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodata._logging import logger, progress_enabled, verbose
from neurodata.errors import MissingFileError, ValidationError

from .epochs import Epochs, make_epochs
from .evaluation import SCHEMES, evaluate

__all__ = ["run_benchmark", "load_config", "BenchmarkResult", "summarize"]

_EPOCH_KEYS = {"tmin", "tmax", "block", "picks", "exclude_bad", "l_freq", "h_freq",
               "resample", "baseline", "reject"}
_TOP_KEYS = {"name", "output", "n_jobs", "random_state", "n_permutations", "cache_epochs",
             "datasets", "pipelines", "evaluations"}


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
        The output folder.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    output: Path = Path(".")


def _hash(obj: Any, n: int = 12) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def _as_list(value: Any, what: str, path: Any) -> list:
    if value is None:
        raise ValidationError(f"config needs a non-empty '{what}' list", path=path)
    if not isinstance(value, list) or not value:
        raise ValidationError(f"'{what}' must be a non-empty list; got {value!r}", path=path)
    return value


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
    from .pipeline_registry import PIPELINES

    if isinstance(config, Mapping):
        raw, where, base = dict(config), None, Path.cwd()
    else:
        import yaml

        where = Path(config)
        if not where.exists():
            raise MissingFileError("benchmark config not found", path=where)
        try:
            raw = yaml.safe_load(where.read_text())
        except yaml.YAMLError as exc:
            raise ValidationError(f"not valid YAML ({exc})", path=where) from None
        if not isinstance(raw, dict):
            raise ValidationError(f"expected a YAML mapping at the top; got "
                                  f"{type(raw).__name__}", path=where)
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
    datasets = []
    for d in _as_list(raw.get("datasets"), "datasets", where):
        if not isinstance(d, dict) or "name" not in d:
            raise ValidationError(f"each dataset needs a 'name'; got {d!r}", path=where)
        for key in ("classes", "recordings", "epochs"):
            if key not in d:
                raise ValidationError(f"dataset {d['name']!r} lacks '{key}'", path=where)
        bad = set(d["epochs"]) - _EPOCH_KEYS
        if bad:
            raise ValidationError(f"dataset {d['name']!r}: unknown epochs option(s) "
                                  f"{sorted(bad)}; allowed: {sorted(_EPOCH_KEYS)}", path=where)
        if "tmin" not in d["epochs"] or "tmax" not in d["epochs"]:
            raise ValidationError(f"dataset {d['name']!r}: epochs need tmin and tmax "
                                  "(seconds from the event)", path=where)
        recs = []
        for r in _as_list(d["recordings"], f"datasets[{d['name']}].recordings", where):
            r = dict(r) if isinstance(r, dict) else {"path": r}
            p = Path(os.path.expandvars(str(r["path"])))
            r["path"] = str(p if p.is_absolute() else base / p)
            recs.append(r)
        datasets.append({"name": str(d["name"]), "classes": d["classes"],
                         "epochs": dict(d["epochs"]), "recordings": recs})
    names = [d["name"] for d in datasets]
    if len(set(names)) != len(names):
        raise ValidationError(f"dataset names must be unique; got {names}", path=where)
    pipelines = []
    for p in _as_list(raw.get("pipelines"), "pipelines", where):
        p = dict(p) if isinstance(p, dict) else {"name": str(p)}
        if "name" not in p:
            raise ValidationError(f"a pipeline entry needs 'name'; got {p!r}", path=where)
        if p["name"] not in PIPELINES and ":" not in p["name"]:
            raise ValidationError(
                f"unknown pipeline {p['name']!r}; choose from {sorted(PIPELINES)} or give "
                "'package.module:factory'", path=where)
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


def _file_sums(dataset: dict[str, Any]) -> list[str]:
    from neurodata.provenance import sha256_file

    out = []
    for r in dataset["recordings"]:
        if not Path(r["path"]).exists():
            raise MissingFileError(f"recording of dataset {dataset['name']!r} not found",
                                   path=r["path"])
        out.append(sha256_file(r["path"]))
    return out


def _epochs_for(dataset: dict[str, Any], verbose: Any = None) -> Epochs:
    return make_epochs(dataset["recordings"], dataset["classes"], **dataset["epochs"],
                       verbose=verbose)


def _run_cell(cell: dict[str, Any], n_threads: int | None) -> tuple[str, float]:
    """Compute one cell and write its CSV atomically; runs in a worker process."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    limits = threadpool_limits(n_threads) if n_threads else None
    torch_threads = None
    if n_threads and cell["pipeline"]["name"] in ("eegnet", "shallow", "deep4"):
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(n_threads)
    try:
        if cell["cache_dir"]:
            ep = Epochs.load(cell["cache_dir"])
        else:
            ep = _epochs_for(cell["dataset"])
        p = cell["pipeline"]
        n_perm = p["n_permutations"] if p["n_permutations"] is not None else cell["n_perm"]
        ev = cell["evaluation"]
        df = evaluate(ep, p["name"], scheme=ev["scheme"], n_splits=ev["n_splits"],
                      group_by=ev["group_by"], n_permutations=int(n_perm),
                      params=p["params"], pipeline_name=p["label"],
                      random_state=cell["random_state"])
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)
    df.insert(0, "dataset", cell["dataset"]["name"])
    df.insert(1, "cell", cell["key"])
    out = Path(cell["file"])
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    df.to_csv(tmp, index=False)
    with open(tmp, "rb") as fh:  # fsync so a finished cell survives a crash
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return cell["key"], time.perf_counter() - t0


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
    fig.savefig(out / "scores.png", dpi=100)
    plt.close(fig)
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
    fig.savefig(out / "paired.png", dpi=100)
    plt.close(fig)
    paths.append(out / "paired.png")
    return paths


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
        See the module docstring and :func:`load_config`.
    output : path or None
        Output folder; default the config's ``output`` or ``results/<name>``.
    n_jobs : int or None
        Parallel cells (loky processes); default the config's ``n_jobs``.  Each worker
        limits its BLAS/torch threads to ``max(1, cpu_count // n_jobs)``.
    cache_epochs : bool or None
        Cut each dataset's epochs once and share them (default the config's, True);
        False makes every cell cut its own (the benchmark's uncached baseline).
    force : bool, default=False
        Recompute finished cells (and the epoch cache).
    plots : bool, default=True
        Write ``scores.png`` and ``paired.png``.
    verbose : bool or str or None

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ValidationError, MissingFileError
        Bad config, unknown pipeline or scheme, missing recordings, or epochs that cannot
        be cut (no events of the classes, one class only, window longer than a recording).

    Examples
    --------
    >>> res = run_benchmark("pipelines/configs/decoding_eegmmidb.yaml")  # doctest: +SKIP
    >>> res.summary[["pipeline", "mean", "chance_level"]]  # doctest: +SKIP
    """
    from joblib import Parallel, delayed

    from neurodata.provenance import software_versions

    cfg = load_config(config)
    out = Path(output or cfg["output"] or Path("results") / cfg["name"])
    (out / "cells").mkdir(parents=True, exist_ok=True)
    n_jobs = int(n_jobs if n_jobs is not None else cfg["n_jobs"])
    use_cache = cfg["cache_epochs"] if cache_epochs is None else bool(cache_epochs)

    cells, sums = [], {}
    for ds in cfg["datasets"]:
        sums[ds["name"]] = _file_sums(ds)
        ds_key = _hash({"dataset": ds, "sums": sums[ds["name"]]})
        cache_dir = out / "cache" / "epochs" / f"{ds['name']}-{ds_key}"
        if use_cache:
            if force and cache_dir.exists():
                import shutil

                shutil.rmtree(cache_dir)
            if not (cache_dir / "info.json").exists():
                t = time.perf_counter()
                _epochs_for(ds).save(cache_dir)
                logger.info("epochs of %s cached in %.1f s", ds["name"], time.perf_counter() - t)
        else:
            # Fail on bad epoching here, once, rather than in every cell.
            _epochs_for(ds)
        for p in cfg["pipelines"]:
            for ev in cfg["evaluations"]:
                spec = {"dataset": ds_key, "pipeline": p, "evaluation": ev,
                        "random_state": cfg["random_state"], "n_perm": cfg["n_permutations"]}
                key = f"{ds['name']}__{p['label']}__{ev['scheme']}"
                if ev["group_by"]:
                    key += f"-{ev['group_by']}"
                cells.append({"key": key, "dataset": ds, "pipeline": p, "evaluation": ev,
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
    ran = []
    if todo:
        logger.info("running %d cell(s) on %d job(s)", len(todo), n_jobs)
        jobs = (delayed(_run_cell)(c, n_threads) for c in todo)
        if n_jobs == 1:
            from tqdm.auto import tqdm

            for c in tqdm(todo, disable=not progress_enabled(), desc="cells"):
                ran.append(_run_cell(c, n_threads)[0])
        else:
            for key, secs in Parallel(n_jobs=n_jobs, backend="loky",
                                      return_as="generator_unordered")(jobs):
                logger.info("cell %s done in %.1f s", key, secs)
                ran.append(key)

    results = pd.concat([pd.read_csv(c["file"], dtype={"subject": str, "session": str})
                         for c in cells], ignore_index=True)
    results.to_csv(out / "results.csv", index=False)
    summary = summarize(results)
    summary.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(_markdown(summary))
    if plots:
        try:
            _plots(results, out)
        except Exception as exc:  # noqa: BLE001 - plots must never lose computed results
            logger.warning("plots failed (%s); results.csv and summary are written", exc)
    manifest = {"config": cfg, "config_hash": _hash(cfg), "input_sha256": sums,
                "software": software_versions("numpy", "scikit-learn", "mne", "pyriemann",
                                              "torch"),
                "cells": keys, "ran": ran, "skipped": skipped,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    return BenchmarkResult(results=results, summary=summary, ran=ran, skipped=skipped,
                           output=out)
