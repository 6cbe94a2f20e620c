"""Shared helpers for the benchmark scripts: wall + CPU timing, configuration, tables.

Every benchmark times with both clocks.  Wall time is what a user waits; CPU time
(``time.process_time``: this process's user + system time, all threads) is far less
sensitive to other processes on a shared machine, so ratios are reported for both.
:func:`print_config` states the BLAS / thread set-up and the machine load at the start of
a run, so that a figure can be re-measured under the same conditions.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence


def timed(func: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call of ``func``."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = func()
    return time.perf_counter() - w0, time.process_time() - c0, out


def median_times(func: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``repeats`` calls of ``func``."""
    runs = [timed(func)[:2] for _ in range(repeats)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))


def median_time(func: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``func()`` in seconds."""
    return median_times(func, repeats)[0]


def rates(func: Callable[[], int], repeats: int = 3) -> tuple[float, float]:
    """Median items per wall second and per CPU second (``func`` returns how many it did)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c, n = timed(func)
        wall.append(n / w)
        cpu.append(n / max(c, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


def best_rate(func: Callable[[], int], repeats: int = 3) -> float:
    """Median over ``repeats`` of items per wall second."""
    return rates(func, repeats)[0]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def config_lines() -> list[str]:
    """Human-readable BLAS / thread / load configuration of this process."""
    import numpy as np

    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
             f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(f"threadpool {pool.get('internal_api')} {pool.get('version')} "
                         f"({pool.get('threading_layer', 'n/a')}): "
                         f"{pool.get('num_threads')} threads, {pool.get('architecture', '')}")
    except ImportError:  # pragma: no cover
        lines.append("threadpoolctl not installed: BLAS threads unknown")
    try:
        import torch

        lines.append(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads")
    except ImportError:  # pragma: no cover
        pass
    try:
        import numba

        lines.append(f"numba {numba.__version__}: {numba.config.NUMBA_NUM_THREADS} threads")
    except ImportError:
        lines.append("numba not installed (compiled kernels fall back to numpy)")
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    if env:
        lines.append("environment: " + " ".join(f"{k}={v}" for k, v in env.items()))
    return lines


def print_config(title: str) -> None:
    """Print ``# title`` and the configuration lines (as Markdown comments)."""
    print(f"# {title}")
    for line in config_lines():
        print(f"#   {line}")
    print()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a Markdown table (pasteable into issues and the README)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))
