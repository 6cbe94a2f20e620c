"""Kill-during-write trials: SIGKILL every writer at random points, count corrupted outputs.

For each writer (recordings, the batch index, result folders, checkpoints, benchmark cell
CSVs, HTML reports) a forked child rewrites one output in a loop, each version fully
determined by its number; the parent kills it (SIGKILL, no cleanup) after a random delay
and then checks the output: it must exist (a complete version was written before the
trials started) and be one complete, self-consistent version (recordings must pass
``nd.validate`` including checksums).  After the trials one clean write per writer must
leave no temporary files of the killed processes behind.

Run ``python -m tests.reliability.killtrial --trials 100`` (``make fuzz`` does); the test
suite runs a few trials per writer (``test_killtrial.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WRITERS", "run_killtrials", "main"]


@dataclass
class Writer:
    name: str
    write: Callable[[Path, int], None]  # (workdir, version) -> None; runs in the child
    check: Callable[[Path], str | None]  # (workdir) -> None if intact, else what is wrong
    available: Callable[[], bool] = lambda: True


# ----------------------------------------------------------------------------- writers
def _signal(version: int, n: int = 20_000, n_ch: int = 16) -> np.ndarray:
    return np.random.default_rng(version).standard_normal((n, n_ch)).astype(np.float32)


def _write_recording(wd: Path, v: int) -> None:
    import neurodata as nd

    ts = nd.TimeSeries(_signal(v), rate=1000.0, modality="eeg")
    nd.Recording([ts], subject={"id": f"v{v}"}).save(wd / "rec.h5", overwrite=True)


def _check_recording(wd: Path) -> str | None:
    import neurodata as nd

    path = wd / "rec.h5"
    if not path.exists():
        return "output missing"
    try:
        report = nd.validate(path)
        if not report.ok:
            return f"invalid: {report.errors[:2]}"
        with nd.open(path) as rec:
            v = int(str(rec.subject["id"])[1:])
            x = rec.timeseries["eeg"].slice_samples(0, 20_000)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is a corrupted output
        return f"{type(exc).__name__}: {exc}"
    return None if np.array_equal(x, _signal(v)) else f"data of version {v} differ"


def _edf_source(wd: Path) -> Path:
    import neurodata as nd

    src = wd / "src" / "a.edf"
    if not src.exists():
        src.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nd.sample_path("eegmmidb_s001r04"), src)
    return src


def _write_batch(wd: Path, v: int) -> None:
    from neurodata.batch import convert_many

    convert_many([_edf_source(wd)], wd / "batch", force=True, progress=False)


def _check_batch(wd: Path) -> str | None:
    import pandas as pd

    import neurodata as nd
    from neurodata.batch import INDEX_COLUMNS

    index = wd / "batch" / "index.csv"
    if not index.exists():
        return "index.csv missing"
    try:
        table = pd.read_csv(index, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001
        return f"index.csv unreadable: {exc}"
    if list(table.columns) != INDEX_COLUMNS or len(table) != 1:
        return f"index.csv has columns {list(table.columns)} and {len(table)} rows"
    if table["status"][0] != "converted":
        return f"index row status {table['status'][0]!r}"
    out = Path(table["output"][0])
    if not out.exists() or not nd.validate(out).ok:
        return f"indexed output {out} missing or invalid"
    return None


def _write_results(wd: Path, v: int) -> None:
    import pandas as pd

    from neurodata.results import run_folder, write_csv, write_json

    with run_folder(wd / "res") as tmp:
        write_csv(tmp / "table.csv", pd.DataFrame({"v": [v] * (50 + v % 50)}))
        write_json(tmp / "meta.json", {"v": v, "rows": 50 + v % 50})


def _check_results(wd: Path) -> str | None:
    import pandas as pd

    res = wd / "res"
    try:
        meta = json.loads((res / "meta.json").read_text())
        table = pd.read_csv(res / "table.csv")
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    if len(table) != meta["rows"] or set(table["v"]) != {meta["v"]}:
        return f"table.csv does not belong to meta.json version {meta['v']}"
    return None


def _has_checkpoints() -> bool:
    try:
        from decoders.neuroformer.train import load_checkpoint, save_checkpoint  # noqa: F401
    except Exception:  # noqa: BLE001 - the writer is absent in this checkout
        return False
    return True


def _net(v: int):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Linear(64, 64)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(float(v))
    return net


def _write_checkpoint(wd: Path, v: int) -> None:
    from decoders.neuroformer.train import save_checkpoint

    save_checkpoint(wd / "ckpt.pt", net=_net(v), meta={"v": v}, epoch=v)


def _check_checkpoint(wd: Path) -> str | None:
    from decoders.neuroformer.train import load_checkpoint

    try:
        state = load_checkpoint(wd / "ckpt.pt")
        v = state["meta"]["v"]
        weights = state["model"]["weight"]
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None if bool((weights == float(v)).all()) else f"weights of version {v} differ"


def _write_cell_csv(wd: Path, v: int) -> None:
    # What decoders.benchmark writes per grid cell: DataFrame.to_csv inside atomic_path.
    import pandas as pd

    from neurodata.atomic import atomic_path

    df = pd.DataFrame({"fold": np.arange(200), "score": np.full(200, v / 1000.0),
                       "cell": f"v{v}"})
    with atomic_path(wd / "cell.csv", overwrite=True) as tmp:
        df.to_csv(tmp, index=False)


def _check_cell_csv(wd: Path) -> str | None:
    import pandas as pd

    try:
        df = pd.read_csv(wd / "cell.csv")
        v = int(df["cell"][0][1:])
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    ok = len(df) == 200 and np.allclose(df["score"], v / 1000.0) and set(df["cell"]) == {
        f"v{v}"}
    return None if ok else f"cell.csv of version {v} incomplete"


def _write_report(wd: Path, v: int) -> None:
    import pandas as pd

    from pipelines.report import ReportSection, write_html_report

    table = pd.DataFrame({"x": np.arange(300), "v": v})
    write_html_report(wd / "report.html", f"v{v}",
                      [ReportSection(f"section v{v}", text=["x" * 2000], tables=[table])])


def _check_report(wd: Path) -> str | None:
    try:
        text = (wd / "report.html").read_text(encoding="utf-8")
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    if not text.rstrip().endswith("</body></html>"):
        return "report.html truncated"
    head = text.split("<title>", 1)[1].split("</title>", 1)[0]
    return None if f"section {head}" in text else "report.html mixes versions"


def _write_in_place(wd: Path, v: int) -> None:
    # Negative control: no temporary file, no rename - a kill leaves a torn file.
    with open(wd / "cell.csv", "w") as fh:
        for i in range(200):
            fh.write(f"{i},{v / 1000.0},v{v}\n" if i else "fold,score,cell\n")
            fh.flush()


#: A writer that is *not* crash-safe, to show that the trials can detect corruption.
CONTROL = Writer("control: in-place CSV", _write_in_place, _check_cell_csv)

WRITERS: list[Writer] = [
    Writer("recording (Recording.save)", _write_recording, _check_recording),
    Writer("batch index (convert_many)", _write_batch, _check_batch),
    Writer("result folder (run_folder)", _write_results, _check_results),
    Writer("checkpoint (neuroformer)", _write_checkpoint, _check_checkpoint, _has_checkpoints),
    Writer("benchmark cell CSV", _write_cell_csv, _check_cell_csv),
    Writer("HTML report", _write_report, _check_report),
]


# ----------------------------------------------------------------------------- harness
def _leftovers(wd: Path, dead: set[int]) -> list[str]:
    """Temporary names (ours: a dot, the target name, a pid) of killed processes."""
    out = []
    for p in wd.rglob(".*"):
        parts = p.name.replace("-", ".").split(".")
        if any(part.isdigit() and int(part) in dead for part in parts):
            out.append(str(p.relative_to(wd)))
    return out


def _child(writer: Writer, wd: Path, start: int) -> None:
    # never returns: loops until killed
    os.environ["NEUROLOOM_QUIET"] = "1"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    v = start
    try:
        while True:
            writer.write(wd, v)
            v += 1
    finally:
        os._exit(1)


def run_killtrials(n_trials: int = 5, *, seed: int = 0, workdir: str | os.PathLike | None = None,
                   writers: list[Writer] | None = None,
                   log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run ``n_trials`` kill trials per writer; one result row per writer.

    Each row: ``writer``, ``trials``, ``corrupted`` (outputs that failed their check
    after a kill), ``leftovers`` (temporary files of killed writers still present after
    one clean write), ``write_s`` (seconds per write), ``first_problem``.
    """
    rng = random.Random(seed)
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="killtrial-"))
    rows = []
    for w in writers or WRITERS:
        if not w.available():
            rows.append({"writer": w.name, "trials": 0, "corrupted": 0, "leftovers": 0,
                         "write_s": float("nan"), "first_problem": "writer not available"})
            continue
        wd = base / w.name.split()[0]
        wd.mkdir(parents=True, exist_ok=True)
        w.write(wd, 0)  # a complete version exists before the first kill (and imports)
        t0 = time.perf_counter()
        w.write(wd, 1)
        write_s = max(time.perf_counter() - t0, 1e-3)
        problem = w.check(wd)
        corrupted = int(problem is not None)
        dead: set[int] = set()
        for trial in range(n_trials):
            pid = os.fork()
            if pid == 0:
                _child(w, wd, 1000 * (trial + 1))
            # Random point within the first few writes (startup of a fork is ~ms).
            time.sleep(rng.uniform(0.0, 3.0 * write_s))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            dead.add(pid)
            why = w.check(wd)
            if why is not None:
                corrupted += 1
                problem = problem or f"trial {trial}: {why}"
        w.write(wd, 999_999)  # a clean write removes what the killed writers left
        left = _leftovers(wd, dead)
        rows.append({"writer": w.name, "trials": n_trials, "corrupted": corrupted,
                     "leftovers": len(left), "write_s": round(write_s, 4),
                     "first_problem": problem or (f"leftover {left[0]}" if left else "")})
        if log:
            log(f"{w.name:<30} trials {n_trials:>4}  corrupted {corrupted}  "
                f"leftovers {len(left)}  ({write_s * 1000:.0f} ms/write)")
    if workdir is None:
        shutil.rmtree(base, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100, help="kill trials per writer")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = run_killtrials(args.trials, seed=args.seed, log=print)
    total = sum(r["trials"] for r in rows)
    bad = sum(r["corrupted"] + r["leftovers"] for r in rows)
    print(f"SUMMARY kill_trials={total} corrupted_outputs="
          f"{sum(r['corrupted'] for r in rows)} leftovers={sum(r['leftovers'] for r in rows)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
