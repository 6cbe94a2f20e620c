"""Start-up time of the ``neuroloom`` command line (issue 17: ``--help`` under 0.5 s),
and the documented one-recording commands (convert, info, validate on the bundled run).

Each command runs in a fresh interpreter (``python -m pipelines.cli ...``, what the
console script does) and the best of N wall times is kept, so the figure is the import
cost, not the machine's load.  CPU time (user + sys of the child) is shown beside it.
``--compare REV`` also times the same commands on a git revision (extracted with
``git archive`` into a temporary folder, imported first on ``PYTHONPATH``), e.g. the
commit before the lazy imports: ``--compare ee030ab``.

    python benchmarks/bench_cli.py --quick        # best of 5
    python benchmarks/bench_cli.py --compare ee030ab

Ends with ``SUMMARY help_s=<best wall seconds of neuroloom --help> ...``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EDF = ROOT / "neurodata" / "sample_data" / "eegmmidb" / "S001R04.edf"
COMMANDS = {
    "help": ["--help"],
    "convert_help": ["convert", "--help"],
    "glmhmm_help": ["glmhmm", "--help"],
    "version": ["--version"],
    # documented one-recording commands on the bundled EEGMMIDB run ({tmp}: a scratch dir)
    "convert": ["convert", str(EDF), "-o", "{tmp}/s001r04.h5", "--overwrite"],
    "info": ["info", "{tmp}/s001r04.h5"],
    "validate": ["validate", "{tmp}/s001r04.h5"],
}


def _time(argv: list[str], *, repeats: int, pythonpath: Path,
          scratch: Path) -> tuple[float, float]:
    """Best wall time and the CPU time of that run, in seconds."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    argv = [a.replace("{tmp}", str(scratch)) for a in argv]
    best = (float("inf"), float("nan"))
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], cwd=pythonpath,
                       env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if wall < best[0]:
            best = (wall, cpu)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="best of 5 (default best of 10)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per command")
    ap.add_argument("--compare", metavar="REV", help="also time this git revision")
    args = ap.parse_args()
    repeats = args.repeats or (5 if args.quick else 10)

    trees = {"now": ROOT}
    tmp = None
    if args.compare:
        tmp = tempfile.TemporaryDirectory()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.compare],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
        trees[args.compare] = Path(tmp.name)

    results: dict[tuple[str, str], tuple[float, float]] = {}
    for label, tree in trees.items():
        with tempfile.TemporaryDirectory() as scratch:
            for key, argv in COMMANDS.items():
                results[label, key] = _time(argv, repeats=repeats, pythonpath=tree,
                                            scratch=Path(scratch))

    rows = []
    for key, argv in COMMANDS.items():
        wall, cpu = results["now", key]
        shown = " ".join(Path(a).name if "/" in a else a for a in argv)
        row = [f"neuroloom {shown}", f"{wall:.3f}", f"{cpu:.3f}"]
        if args.compare:
            bw, bc = results[args.compare, key]
            row += [f"{bw:.3f}", f"{bc:.3f}", f"{bw / wall:.1f}", f"{bc / cpu:.1f}"]
        rows.append(row)
    headers = ["command", "wall s (best)", "cpu s"]
    if args.compare:
        headers += [f"wall s {args.compare}", f"cpu s {args.compare}", "wall ratio",
                    "cpu ratio"]
    print(f"best of {repeats} runs, fresh interpreter each ({sys.executable})")
    print_table(headers, rows)
    extra = ""
    if args.compare:
        before, now = results[args.compare, "help"][0], results["now", "help"][0]
        extra = f" help_s_{args.compare}={before:.3f} help_speedup={before / now:.1f}"
    print(f"SUMMARY help_s={results['now', 'help'][0]:.3f} "
          f"convert_help_s={results['now', 'convert_help'][0]:.3f} "
          f"glmhmm_help_s={results['now', 'glmhmm_help'][0]:.3f} "
          f"info_s={results['now', 'info'][0]:.3f}{extra}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
