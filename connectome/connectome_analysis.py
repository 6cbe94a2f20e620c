"""The whole dynamic-connectome analysis of one or more recordings.

:func:`connectome_analysis` is what ``neuroloom connectome`` runs: it reads one block per
animal on one rate and neuron vocabulary (:func:`neurodata.load_traces`), runs
:func:`connectome.dynamic_connectome` (sliding-window affinities → non-negative tensor
factorization → communities of every component; Dyballa et al., ICLR 2024), optionally a
rank selection (:func:`connectome.rank_selection`), and with a structural connectome tests
whether community co-membership is enriched for its edges against degree-preserving
shuffles (:func:`connectome.enrichment_table`).  The result is a
:class:`ConnectomeAnalysis`; writing it to a result folder is the caller's business.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from neurodata import errors
from neurodata.log import verbose
from neurodata.traces import AnimalTraces, load_traces

from .structural import enrichment_table, load_structural

__all__ = ["ConnectomeAnalysis", "connectome_analysis"]


@dataclass
class ConnectomeAnalysis:
    """Result of :func:`connectome_analysis`.

    Attributes
    ----------
    data : neurodata.AnimalTraces
        The aligned traces.
    window, step : int
        Window length and step in samples.
    n_windows, n_neurons : int
        Tensor sizes.
    dc : DynamicConnectome
        Affinities, factorization and communities.
    selection : RankSelection or None
        With ``ranks``.
    enrichment : pandas.DataFrame or None
        With ``structural``: one row per (component, edge set).
    """

    data: AnimalTraces
    window: int
    step: int
    n_windows: int
    n_neurons: int
    dc: Any
    selection: Any = None
    enrichment: Any = None

    def figures(self) -> Iterator[tuple[str, Any]]:
        """Time courses, affinity matrix and graph per component, animal loadings, rank
        selection and enrichment, as ``(file name, matplotlib Figure)`` pairs.

        A generator: each figure is drawn when asked for, so a caller that saves and
        closes it (:func:`neurodata.results.save_figure`) holds one open figure at a time.
        """
        # no backend switch: savefig works with any backend, and matplotlib already falls
        # back to Agg without a display
        import matplotlib.pyplot as plt

        dc, data, sel, table = self.dc, self.data, self.selection, self.enrichment
        beh = None
        if data.behavior is not None:
            beh = (data.behavior[0], data.behavior[1])
        yield "time_courses.png", dc.plot_time_courses(
            events=data.events if len(data.events) else None, behavior=beh,
            behavior_label=data.behavior[2] if data.behavior else "behaviour")
        for r in range(dc.rank):
            yield f"affinity_component{r}.png", dc.plot_affinity_matrix(r)
            yield f"graph_component{r}.png", dc.plot_graph(r)
        if len(data.traces) > 1:
            yield "animal_loadings.png", dc.plot_animal_loadings()
        if sel is not None:
            yield "rank_selection.png", sel.plot()
        if table is not None:
            sub = table[table["edges"] == "chemical+electrical"]
            fig, ax = plt.subplots(figsize=(1.2 + 1.0 * len(sub), 3))
            ax.bar(sub["component"], sub["z"].clip(upper=50), color="C2")
            ax.axhline(1.645, color="0.4", ls="--", lw=0.8, label="z = 1.645 (p ≈ 0.05)")
            ax.set_xlabel("component")
            ax.set_ylabel("z vs degree-preserving shuffles")
            ax.set_xticks(list(sub["component"]))
            ax.set_title("structural edges within communities")
            ax.legend(fontsize=7)
            yield "enrichment.png", fig


def _seconds_to_samples(seconds: float, rate: float, what: str) -> int:
    if not (math.isfinite(seconds) and seconds > 0):
        raise errors.ValidationError(f"--{what} must be a positive number of seconds; "
                                     f"got {seconds!r}")
    return max(1, int(round(seconds * rate)))


def _check_sizes(data: AnimalTraces, window: int, step: int, rank: int,
                 ranks: list[int]) -> tuple[int, int]:
    """Window and rank limits, checked before any fitting."""
    if window < 3:
        raise errors.ValidationError(
            f"--window is {window} sample(s) at {data.rate:g} Hz; expected at least 3 samples; "
            "use a longer window")
    for x, p in zip(data.traces, data.paths, strict=True):
        if window > x.shape[0]:
            raise errors.ValidationError(
                f"--window {window / data.rate:g} s ({window} samples) is longer than the "
                f"recording ({x.shape[0]} samples = {x.shape[0] / data.rate:g} s at "
                f"{data.rate:g} Hz); use a shorter window", path=p)
    n_windows = (max(x.shape[0] for x in data.traces) - window) // step + 1
    n_neurons = len({n for ns in data.neuron_names for n in ns})
    sizes = {"pairs": n_neurons * (n_neurons - 1) // 2, "windows": n_windows,
             "animals": len(data.traces)}
    limit = min(v for v in sizes.values() if v > 1) if any(v > 1 for v in sizes.values()) else 1
    for r, what in [(rank, "--rank"), *((r, "--rank-selection") for r in ranks)]:
        if r < 1 or r > limit:
            dims = ", ".join(f"{v} {k}" for k, v in sizes.items())
            raise errors.ValidationError(
                f"{what} {r} is larger than the smallest tensor dimension ({dims}); expected "
                f"1 <= rank <= {limit}; lower the rank or use a shorter --step / more animals")
    return n_windows, n_neurons


@verbose
def connectome_analysis(
    paths: Sequence[str | os.PathLike],
    *,
    rank: int,
    window: float = 60.0,
    step: float | None = None,
    block: str | None = None,
    rate: float | None = None,
    vocabulary: str = "auto",
    drop_invalid: bool = False,
    behavior_channel: str | None = None,
    affinity: str = "differential",
    communities: str = "sbm",
    ranks: Sequence[int] = (),
    n_restarts: int = 5,
    n_iter_max: int = 500,
    tol: float = 1e-7,
    random_state: int | None = 0,
    backend: str = "numpy",
    device: str | None = None,
    threads: int | None = 1,
    structural: str | os.PathLike | None = None,
    n_shuffles: int = 1000,
    verbose: bool | str | None = None,
) -> ConnectomeAnalysis:
    """Dynamic functional connectome of recordings (one per animal), end to end.

    Parameters
    ----------
    paths : sequence of path-like
        Converted recordings (``.h5``) or source files, one per animal.
    rank : int
        Number of NTF components.
    window : float, default=60.0
        Window length in seconds.
    step : float, optional
        Step between windows in seconds (default: the window, no overlap).
    block, rate, vocabulary, drop_invalid, behavior_channel
        Passed to :func:`neurodata.load_traces`.
    affinity, communities, n_restarts, n_iter_max, tol, random_state, backend, device
        Passed to :func:`connectome.dynamic_connectome`.
    ranks : sequence of int, default=()
        Also run :func:`connectome.rank_selection` over these ranks.
    threads : int or None, default=1
        BLAS threads during the fit (0 or None: the library default).
    structural : path-like, optional
        Structural connectome (:func:`load_structural`) to test the communities against.
    n_shuffles : int, default=1000
        Degree-preserving shuffles per enrichment test.
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    ConnectomeAnalysis

    Raises
    ------
    neurodata.errors.NeurodataError
        Bad settings or inputs (missing files, window longer than a recording, a rank
        above the smallest tensor dimension, too few neurons named in the structural
        connectome, ...).

    Examples
    --------
    >>> import neurodata as nd
    >>> res = connectome_analysis([nd.sample_path("celegans_atanas2023")], rank=2,
    ...                           rate=1.6, window=60, n_restarts=1, n_iter_max=50)
    >>> res.dc.rank, res.n_windows
    (2, 16)
    """
    from threadpoolctl import threadpool_limits

    from .communities import dynamic_connectome
    from .rank_selection import rank_selection

    if rank < 1:
        raise errors.ValidationError(f"--rank must be >= 1; got {rank}")
    if n_restarts < 1 or n_shuffles < 1:
        raise errors.ValidationError("--restarts and --shuffles must be >= 1")
    ranks = list(ranks)
    data = load_traces(paths, block=block, rate=rate, vocabulary=vocabulary,
                       drop_invalid=drop_invalid, behavior_channel=behavior_channel)
    win = _seconds_to_samples(window, data.rate, "window")
    stp = win if step is None else _seconds_to_samples(step, data.rate, "step")
    n_windows, n_neurons = _check_sizes(data, win, stp, rank, ranks)
    matrices = None
    if structural:
        matrices = load_structural(structural)
        shared = set(matrices[1]) & {n for ns in data.neuron_names for n in ns}
        if len(shared) < 3:
            raise errors.ValidationError(
                f"only {len(shared)} recorded neuron(s) are named in the structural "
                "connectome; expected at least 3 shared names (use --vocabulary celegans "
                "for C. elegans recordings)", path=structural)
    limits = threadpool_limits(threads) if threads else contextlib.nullcontext()
    with limits:
        dc = dynamic_connectome(
            data.traces, window=win, step=stp, rank=rank, affinity=affinity,
            neuron_names=data.neuron_names, animal_names=data.animal_names,
            rate=data.rate, t0=data.t0, community_method=communities,
            n_restarts=n_restarts, n_iter_max=n_iter_max, tol=tol,
            backend=backend, device=device, random_state=random_state)
        sel = None
        if ranks:
            sel = rank_selection(dc.affinity.values, ranks, mask=dc.affinity.mask,
                                 n_restarts=max(2, n_restarts), n_iter_max=n_iter_max,
                                 tol=tol, random_state=random_state,
                                 backend=backend, device=device, verbose=False)
        table = None
        if matrices is not None:
            table = enrichment_table(dc, matrices[0], matrices[1],
                                     n_shuffles=n_shuffles, random_state=random_state)
    return ConnectomeAnalysis(data=data, window=win, step=stp, n_windows=n_windows,
                              n_neurons=n_neurons, dc=dc, selection=sel, enrichment=table)
