"""Shared helpers for the benchmark scripts: timing and table printing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def best_rate(func: Callable[[], int], repeats: int = 3) -> float:
    """Median over ``repeats`` of items per second (``func`` returns how many it did)."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = func()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def median_time(func: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``func()`` in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
