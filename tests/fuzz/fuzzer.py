"""Seeded mutation fuzzer over every loader and over the own ``.h5`` format.

Seeds are one real file (or folder) per reader from ``../shared/data``, every bundled
sample (``neurodata/sample_data``) and a recording saved by our own writer.  Mutations
(all from one ``random.Random(seed)``): empty file, truncation at section boundaries
(EDF header/records, HDF5 superblock, powers of two, halves), byte flips (half of them in
the first 4 KiB, where headers live), header fields out of range (EDF ASCII fields and
numbers in text formats set to -1, 0, 1e-9, 1e308, nan, inf, 99999999), huge declared
sizes (0xFFFFFFFF / 2**63-1 written at aligned header offsets) and NaN/Inf written over
float data.

Each input runs in a forked child of a process that imported the readers once (so a
child costs a fork, not an interpreter start) under ``RLIMIT_AS`` (address space),
``RLIMIT_FSIZE`` (no disk filling) and a wall-clock timeout.  A child loads the input
(``nd.load``), reads the first samples of every block, saves it as ``.h5`` and validates
that; own-format inputs are opened with ``nd.open``, fully read and validated, and a
mutant that validates must hold the original data.  Outcomes:

- ``ok``            loaded (or opened) correctly
- ``project_error`` a :class:`neurodata.errors.NeurodataError` (a clear refusal)
- anything else     another exception, a signal (SIGSEGV, SIGBUS), a hang, peak RSS above
                    1 GB, or an own-format mutant that validated with different data.

The harness itself does not import ``neurodata`` at module level; the targets do.
``python -m tests.fuzz.fuzzer --per-seed 40`` is the long run (``make fuzz``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NEUROLOOM_SHARED_DATA", ROOT.parent / "shared" / "data"))
RSS_LIMIT_MB = 1024
AS_HEADROOM = 3 << 30        # address space a child may add to what the parent had
FSIZE_LIMIT = 512 << 20      # largest file a child may write
MAX_SEED_BYTES = 10 << 20    # inputs above this are not seeds (the RSS rule is for < 10 MB)
BAD_VALUES = ["-1", "0", "1e-9", "1e308", "nan", "inf", "99999999", "-99999999", "x"]
_NUM = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


# ----------------------------------------------------------------------------- seeds
@dataclass
class Seed:
    """One input to mutate: ``files`` (copied into a fresh folder), the entry that is
    loaded, the reader it is meant for and whether it is our own format."""

    loader: str
    base: Path
    files: list[Path]
    entry: Path
    own: bool = False
    label: str = ""

    def __post_init__(self):
        self.label = self.label or str(self.entry)


def _stem_group(path: Path) -> list[Path]:
    stem = path.name.split(".")[0]
    return sorted(p for p in path.parent.iterdir()
                  if p.is_file() and p.name.split(".")[0] == stem)


def discover_seeds(*, shared: Path = SHARED, own: bool = True) -> list[Seed]:
    """One seed per reader from the shared data (the smallest accepted input), every
    bundled sample, and own-format recordings."""
    import neurodata as nd
    from neurodata.io import find_reader

    found: dict[str, tuple[int, Seed]] = {}

    def offer(path: Path, label: str, key: str | None = None) -> None:
        try:
            spec = find_reader(path)
        except Exception:  # noqa: BLE001 - not a loadable input
            return
        if spec.name in ("BrainVision data", "BIDS dataset"):  # companions; BIDS roots
            return                                            # hold many recordings
        if "mask" in path.name or path.parent.name == "25mm":  # 3-D masks, not BOLD runs
            return
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            base = path
        elif spec.name == "BIDS":
            root = next(p for p in path.parents if (p / "dataset_description.json").is_file())
            files, base = sorted(p for p in root.rglob("*") if p.is_file()), root
        else:
            files, base = _stem_group(path), path.parent
        size = sum(p.stat().st_size for p in files)
        if size > MAX_SEED_BYTES:
            return
        seed = Seed(spec.name, base, files, path, label=label)
        key = key or spec.name
        if key not in found or size < found[key][0]:
            found[key] = (size, seed)

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or entry.name.endswith(("-eve.fif", ".md", ".txt")):
                continue
            before = len(found)
            offer(entry, str(entry.relative_to(shared)))
            if entry.is_dir() and len(found) == before:
                walk(entry)

    if shared.is_dir():
        walk(shared)
    for name in nd.list_samples()["name"]:
        path = nd.sample_path(name)
        offer(Path(path), f"sample:{name}", key=f"sample:{name}")
    seeds = [s for _, s in found.values()]
    if own:
        seeds += own_seeds()
    return seeds


def own_seeds() -> list[Seed]:
    """Recordings written by our writer (timeseries, irregular timestamps, spikes,
    events, a table of channels) in a persistent temporary folder."""
    import numpy as np

    import neurodata as nd

    folder = Path(tempfile.mkdtemp(prefix="fuzz-own-"))
    rng = np.random.default_rng(0)
    ts = nd.TimeSeries(rng.standard_normal((3000, 8)).astype(np.float32), rate=250.0,
                       modality="eeg")
    irr = nd.TimeSeries(rng.standard_normal((200, 2)).astype(np.float32),
                        timestamps=np.cumsum(rng.uniform(0.01, 0.02, 200)),
                        modality="behavior", name="behavior")
    st = nd.SpikeTrains(np.sort(rng.uniform(0, 10, 500)), rng.integers(0, 5, 500),
                        [f"u{i}" for i in range(5)], t_start=0.0, t_stop=10.0)
    rec = nd.Recording([ts, irr], spikes=[st],
                       events=nd.Events(onset=[1.0, 2.0, 3.0], label=["a", "b", "a"]))
    path = rec.save(folder / "own.h5")
    gz = rec.save(folder / "own_gzip.h5", compression="gzip")
    return [Seed("own .h5 (nd.open + validate)", folder, [path], path, own=True,
                 label="own.h5 (uncompressed)"),
            Seed("own .h5 (nd.open + validate)", folder, [gz], gz, own=True,
                 label="own_gzip.h5")]


# ----------------------------------------------------------------------------- mutations
def _edf_boundaries(blob: bytes) -> list[int]:
    try:
        ns = int(blob[252:256])
        rec = sum(int(blob[256 + 216 * ns + 8 * i: 256 + 216 * ns + 8 * i + 8])
                  for i in range(ns)) * 2
    except ValueError:
        return []
    head = 256 + 256 * ns
    return [256, head - 1, head, head + 1, head + rec // 2, head + rec, head + 2 * rec]


def _edf_fields(blob: bytes) -> list[tuple[int, int]]:
    try:
        ns = int(blob[252:256])
    except ValueError:
        return []
    out = [(236, 8), (244, 8), (252, 4)]
    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    off = 256
    for k, w in enumerate(widths):
        if k in (3, 4, 5, 6, 8):  # physical/digital min/max, samples per record
            out += [(off + w * i, w) for i in range(ns)]
        off += w * ns
    return out


def mutate(blob: bytes, name: str, rng: random.Random) -> tuple[str, bytes]:
    """One mutant of ``blob`` (the content of file ``name``) and a description."""
    n = len(blob)
    ops = ["truncate", "flip", "flip", "field", "huge", "nan"]
    if rng.random() < 0.04 or n == 0:
        return "empty", b""
    op = rng.choice(ops)
    if op == "truncate":
        cuts = [1, 8, 16, 64, 96, 256, 512, 1024, 2048, 4096, n // 2, n - 1]
        if name.lower().endswith((".edf", ".bdf")):
            cuts += _edf_boundaries(blob)
        cuts += [rng.randrange(n)]
        cut = rng.choice([c for c in cuts if 0 < c < n] or [n // 2])
        return f"truncate@{cut}", blob[:cut]
    if op == "flip":
        out = bytearray(blob)
        k = rng.choice([1, 1, 2, 8])
        where = []
        for _ in range(k):
            i = rng.randrange(min(n, 4096)) if rng.random() < 0.5 else rng.randrange(n)
            out[i] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else 0xFF
            where.append(i)
        return f"flip@{','.join(map(str, where))}", bytes(out)
    if op == "field":
        value = rng.choice(BAD_VALUES).encode()
        fields = _edf_fields(blob) if name.lower().endswith((".edf", ".bdf")) else []
        if fields:
            off, w = rng.choice(fields)
            out = blob[:off] + value[:w].ljust(w) + blob[off + w:]
            return f"field@{off}={value.decode()}", out
        nums = list(_NUM.finditer(blob[: 1 << 16]))
        if nums:
            m = rng.choice(nums)
            return (f"number@{m.start()}={value.decode()}",
                    blob[: m.start()] + value + blob[m.end():])
        op = "huge"
    if op == "huge":
        out = bytearray(blob)
        width = rng.choice([4, 8])
        if n < width:
            return "empty", b""
        i = rng.randrange(0, max(min(n, 4096) - width, 1)) // width * width
        value = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFFFFFFFFFFFFF])
        out[i:i + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width,
                                                                   rng.choice(["little", "big"]))
        return f"huge@{i}x{width}", bytes(out)
    out = bytearray(blob)  # nan / inf over data
    pat = rng.choice([struct.pack("<f", float("nan")), struct.pack("<f", float("inf")),
                      struct.pack("<d", float("nan")), struct.pack("<d", float("-inf"))])
    k = rng.choice([1, 16, 256])
    for _ in range(k):
        i = rng.randrange(0, max(n - len(pat), 1)) // len(pat) * len(pat)
        out[i:i + len(pat)] = pat
    return f"nan/inf x{k}", bytes(out)


# ----------------------------------------------------------------------------- targets
def load_target(path: Path, out: Path) -> str:
    """``nd.load`` the input, read the first samples of every block, save, validate."""
    import neurodata as nd

    rec = nd.load(path)
    for ts in rec.timeseries.values():
        ts.slice_samples(0, min(ts.n_times, 4096))
    rec.save(out, overwrite=True)
    nd.validate(out).raise_if_invalid()
    return "ok"


def own_target(path: Path, original: Path) -> str:
    """Open, read everything, validate; a valid mutant must hold the original data."""
    import numpy as np

    import neurodata as nd

    report = nd.validate(path)
    with nd.open(path) as rec:
        data = {k: ts.slice_samples(0, ts.n_times) for k, ts in rec.timeseries.items()}
        spikes = {k: np.asarray(s.times) for k, s in rec.spikes.items()}
    if report.ok:
        with nd.open(original) as ref:
            same = (set(data) == set(ref.timeseries)
                    and all(np.array_equal(data[k], ts.slice_samples(0, ts.n_times),
                                           equal_nan=True)
                            for k, ts in ref.timeseries.items())
                    and all(np.array_equal(spikes.get(k), np.asarray(s.times))
                            for k, s in ref.spikes.items()))
        if not same:
            return "UNDETECTED: validates but the data differ from the original"
    return "ok" if report.ok else "project_error"


# ----------------------------------------------------------------------------- runner
@dataclass
class Outcome:
    loader: str
    seed: str
    mutation: str
    kind: str        # ok | project_error | other
    detail: str
    seconds: float
    rss_mb: float


@dataclass
class Tally:
    inputs: int = 0
    counts: Counter = field(default_factory=Counter)
    peak_rss_mb: float = 0.0
    failures: list[Outcome] = field(default_factory=list)


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(seed: Seed, path: Path, work: Path, result: Path) -> None:
    kind, detail = "other", ""
    try:
        limit = _vm_bytes() + AS_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes raise instead
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        from neurodata.errors import NeurodataError

        try:
            if seed.own:
                got = own_target(path, seed.entry)
                kind = got if got in ("ok", "project_error") else "other"
                detail = "" if kind != "other" else got
            else:
                kind = load_target(path, work / "converted.h5")
        except NeurodataError as exc:
            kind, detail = "project_error", f"{type(exc).__name__}: {exc}"[:300]
        except BaseException as exc:  # noqa: BLE001 - this is what the fuzzer hunts
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
            kind, detail = "other", f"{type(exc).__name__}: {exc}"[:300] + where
        result.write_text(json.dumps({"kind": kind, "detail": detail}))
    finally:
        os._exit(0)


def run_one(seed: Seed, mutation: str, files: dict[Path, bytes], *, timeout: float,
            tmp: Path) -> Outcome:
    """Materialise one mutant under ``tmp`` and run it in a forked, limited child."""
    work = Path(tempfile.mkdtemp(dir=tmp))
    inputs = work / "in"
    for src, blob in files.items():
        dst = inputs / src.relative_to(seed.base)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(blob)
    entry = inputs / seed.entry.relative_to(seed.base) if seed.entry != seed.base else inputs
    result = work / "result.json"
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(seed, entry, work, result)
    status = rusage = None
    while time.perf_counter() - t0 < timeout:
        got, status, rusage = os.wait4(pid, os.WNOHANG)
        if got:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        _, status, rusage = os.wait4(pid, 0)
        status = None
    seconds = time.perf_counter() - t0
    rss = rusage.ru_maxrss / 1024 if rusage else 0.0
    if status is None:
        kind, detail = "other", f"hang (> {timeout:g} s)"
    elif os.WIFSIGNALED(status):
        kind, detail = "other", f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    elif result.exists():
        res = json.loads(result.read_text())
        kind, detail = res["kind"], res["detail"]
    else:
        kind, detail = "other", "child exited without a result"
    if rss > RSS_LIMIT_MB and kind != "other":
        kind, detail = "other", f"peak RSS {rss:.0f} MB > {RSS_LIMIT_MB} MB ({kind})"
    shutil.rmtree(work, ignore_errors=True)
    return Outcome(seed.loader, seed.label, mutation, kind, detail, seconds, rss)


def _preimport() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    # Everything a child may import is imported here, once: children then cost a fork,
    # and all of them run the same code even if the tree is edited during a long run.
    import importlib
    import pkgutil

    import neurodata
    import neurodata.io

    mods = ["mne", "scipy.io", "nibabel", "pynwb", "h5py", "pandas", "openpyxl",
            "neurodata.validate", "neurodata._h5format", "neurodata.batch",
            "neurodata.recording", "neurodata.mne_bridge"]
    mods += [f"neurodata.io.{m.name}" for m in pkgutil.iter_modules(neurodata.io.__path__)]
    for mod in mods:
        try:
            importlib.import_module(mod)
        except Exception:  # noqa: BLE001 - optional readers
            pass
    for name in ("validate", "open", "load", "Recording"):
        getattr(neurodata, name, None)  # resolve lazy attributes


def fuzz(seeds: list[Seed], *, per_seed: int, seed: int = 0, timeout: float = 60.0,
         include_original: bool = True, log=None) -> dict[str, Tally]:
    """Run ``per_seed`` mutants of every seed (plus the unmutated seed); tallies per loader."""
    _preimport()
    rng = random.Random(seed)
    tallies: dict[str, Tally] = defaultdict(Tally)
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        for s in seeds:
            blobs = {p: p.read_bytes() for p in s.files}
            plan = [("original", blobs)] if include_original else []
            for _ in range(per_seed):
                target = s.entry if (s.entry in blobs and rng.random() < 0.7) else rng.choice(
                    sorted(blobs))
                desc, mutant = mutate(blobs[target], target.name, rng)
                plan.append((f"{target.name}: {desc}", {**blobs, target: mutant}))
            for mutation, files in plan:
                out = run_one(s, mutation, files, timeout=timeout, tmp=tmp)
                t = tallies[s.loader]
                t.inputs += 1
                t.counts[out.kind] += 1
                t.peak_rss_mb = max(t.peak_rss_mb, out.rss_mb)
                if out.kind == "other" or (mutation == "original" and out.kind != "ok"):
                    t.failures.append(out)
                    if log:
                        log(f"  !! {s.label} [{mutation}] -> {out.kind}: {out.detail}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dict(tallies)


def format_table(tallies: dict[str, Tally]) -> str:
    lines = ["| loader | inputs | correct load | project error | anything else | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, t in sorted(tallies.items()):
        lines.append(f"| {name} | {t.inputs} | {t.counts['ok']} | {t.counts['project_error']}"
                     f" | {t.counts['other']} | {t.peak_rss_mb:.0f} |")
    tot = Tally()
    for t in tallies.values():
        tot.inputs += t.inputs
        tot.counts.update(t.counts)
        tot.peak_rss_mb = max(tot.peak_rss_mb, t.peak_rss_mb)
    lines.append(f"| **all** | {tot.inputs} | {tot.counts['ok']} | "
                 f"{tot.counts['project_error']} | {tot.counts['other']} | "
                 f"{tot.peak_rss_mb:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Seeded mutation fuzzer over every loader.")
    ap.add_argument("--per-seed", type=int, default=40, help="mutants per seed input")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per input")
    ap.add_argument("--only", default=None, help="substring of the loader names to run")
    args = ap.parse_args(argv)
    seeds = discover_seeds()
    if args.only:
        seeds = [s for s in seeds if args.only.lower() in s.loader.lower()]
    print(f"{len(seeds)} seeds: " + ", ".join(f"{s.loader} ({s.label})" for s in seeds))
    t0 = time.perf_counter()
    tallies = fuzz(seeds, per_seed=args.per_seed, seed=args.seed, timeout=args.timeout,
                   log=lambda m: print(m, flush=True))
    print(format_table(tallies))
    other = sum(t.counts["other"] for t in tallies.values())
    inputs = sum(t.inputs for t in tallies.values())
    peak = max((t.peak_rss_mb for t in tallies.values()), default=0.0)
    print(f"SUMMARY fuzz_inputs={inputs} anything_else={other} peak_rss_mb={peak:.0f} "
          f"seconds={time.perf_counter() - t0:.0f}")
    return 1 if other else 0


if __name__ == "__main__":
    sys.exit(main())
