"""``neuroloom neuroformer train|generate|decode|simulate``: Neuroformer runs from YAML.

``train CONFIG.yaml -o OUT`` prepares time-blocked windows of the configured recording,
trains, evaluates on the test block and writes ``OUT/`` with ``config.yaml``,
``result.json`` (metrics + provenance), ``history.csv``, ``checkpoints/`` (model.pt,
best.pt, last.pt) and ``figures/`` (loss curves, raster generated vs real, PSTH
comparison, connectivity vs truth, behaviour).  ``generate`` samples spike trains from a
trained checkpoint over an interval and writes them as a recording (``generated.h5``);
``decode`` writes behaviour predictions for an interval; ``simulate`` writes the
simulated ground-truth circuit as a recording.  The library functions are in
:mod:`decoders.neuroformer.workflow`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

__all__ = ["register", "cmd_train", "cmd_generate", "cmd_decode", "cmd_simulate"]

FORMAT = "neuroloom.neuroformer_result"
SOFTWARE = ("numpy", "scipy", "h5py", "pandas", "matplotlib", "scikit-learn", "torch")


def _config(args: argparse.Namespace):
    from decoders.neuroformer.config import load_config

    cfg = load_config(args.config)
    if getattr(args, "recording", None):
        cfg.data.recording = args.recording
    if getattr(args, "epochs", None) is not None:
        cfg.train.epochs = args.epochs
    if not cfg.data.recording:
        from decoders.neuroformer import NeuroformerError

        raise NeuroformerError("no recording: set data.recording in the config or pass "
                               "--recording", path=args.config)
    return cfg


def _write_config(tmp: Path, cfg) -> None:
    import yaml

    from neurodata.results import write_text

    write_text(tmp / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def _header(command: str, cfg, rec_path: str, extra_inputs=()):
    from neurodata.results import input_provenance, input_record, result_header

    inputs = [input_record(rec_path, role="recording")] + [input_record(p, role=r)
                                                          for p, r in extra_inputs]
    prov = input_provenance(rec_path) if Path(rec_path).suffix == ".h5" else None
    return result_header(format=FORMAT, command=command, config=cfg.to_dict(), inputs=inputs,
                         packages=SOFTWARE, input_provenance=prov)


def _figures(tmp: Path, model, metrics: dict, art: dict) -> list[str]:
    from decoders.neuroformer import plots
    from neurodata.results import save_figure

    names = []
    figs = {"loss_curves.png": plots.plot_loss_curves(model.history_)}
    if "generated" in art:
        figs["raster_generated_vs_real.png"] = plots.plot_raster_comparison(
            art["real"], art["generated"][0], t_max=10.0)
    if "psth_real" in art:
        figs["psth_comparison.png"] = plots.plot_psth_comparison(
            art["psth_real"], art["psth_generated"], bin_size=art["psth_bin"])
    if "connectivity" in art:
        figs["connectivity_vs_truth.png"] = plots.plot_connectivity(
            art["connectivity"], art["truth"], auroc=metrics.get("connectivity_auroc"))
    if "behaviour_true" in art:
        figs["behaviour.png"] = plots.plot_behaviour(
            art["behaviour_t"], art["behaviour_true"][:, 0], art["behaviour_pred"][:, 0],
            baseline=art["behaviour_ridge"][:, 0])
    for name, fig in figs.items():
        save_figure(fig, tmp / "figures" / name)
        names.append(f"figures/{name}")
    return names


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``neuroloom neuroformer train``."""
    import pandas as pd

    from decoders.neuroformer.workflow import open_recording_path, train_run
    from neurodata.results import check_output_folder, run_folder, write_csv, write_json

    cfg = _config(args)
    out = check_output_folder(args.output, overwrite=args.overwrite)
    ckdir = Path(args.checkpoint_dir) if args.checkpoint_dir else out.with_name(
        out.name + ".checkpoints")
    rec = open_recording_path(cfg.data.recording)
    model, prep, metrics, art = train_run(rec, cfg, checkpoint_dir=str(ckdir),
                                          resume=args.resume,
                                          verbose=getattr(args, "verbose", None) or None)
    if not metrics:  # a non-zero rank under torchrun: rank 0 writes the results
        return 0
    with run_folder(out, overwrite=args.overwrite) as tmp:
        _write_config(tmp, cfg)
        (tmp / "checkpoints").mkdir()
        model.save(tmp / "checkpoints" / "model.pt")
        for name in ("best.pt", "last.pt"):
            if (ckdir / name).exists():
                shutil.copy2(ckdir / name, tmp / "checkpoints" / name)
        write_csv(tmp / "history.csv", pd.DataFrame(model.history_), index=False)
        figures = _figures(tmp, model, metrics, art)
        write_json(tmp / "result.json", {**_header("neuroloom neuroformer train", cfg,
                                                   cfg.data.recording),
                                         "metrics": metrics, "figures": figures})
    f1 = metrics["token_f1"]["f1"]
    base = metrics["rate_baseline_f1"]["f1"]
    print(f"wrote {out} ({metrics['epochs']} epochs, test token F1 {f1:.3f} vs rate "
          f"baseline {base:.3f})")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Run ``neuroloom neuroformer generate``."""
    from decoders.neuroformer import Neuroformer
    from decoders.neuroformer.workflow import generate_interval, open_recording_path
    from neurodata import Recording
    from neurodata.results import check_output_folder, run_folder, save_figure, write_json

    cfg = _config(args)
    out = check_output_folder(args.output, overwrite=args.overwrite)
    model = Neuroformer.load(args.checkpoint)
    rec = open_recording_path(cfg.data.recording)
    gen = generate_interval(rec, cfg, model,
                            interval=tuple(args.interval) if args.interval else None,
                            n_samples=args.n_samples)
    samples, real = gen.samples, gen.real
    t0, t1 = gen.interval
    from decoders.neuroformer import plots

    with run_folder(out, overwrite=args.overwrite) as tmp:
        _write_config(tmp, cfg)
        blocks = {f"sample{i}": s for i, s in enumerate(samples)}
        for name, s in blocks.items():
            s.name = name
        Recording(spikes=blocks, session={"id": "generated",
                                          "description": f"Neuroformer samples of "
                                                         f"[{t0:g}, {t1:g}) s"}).save(
            tmp / "generated.h5")
        fig = plots.plot_raster_comparison(real, samples[0], t_max=10.0)
        save_figure(fig, tmp / "figures" / "raster_generated_vs_real.png")
        write_json(tmp / "result.json", {
            **_header("neuroloom neuroformer generate", cfg, cfg.data.recording,
                      [(args.checkpoint, "checkpoint")]),
            "metrics": {"interval": [t0, t1], "n_samples": len(samples),
                        "n_spikes": [s.n_spikes for s in samples],
                        "real_n_spikes": int(real.n_spikes)},
            "figures": ["figures/raster_generated_vs_real.png"]})
    print(f"wrote {out} ({len(samples)} samples over [{t0:g}, {t1:g}) s)")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    """Run ``neuroloom neuroformer decode``."""
    from decoders.neuroformer import Neuroformer, plots
    from decoders.neuroformer.workflow import decode_behaviour, open_recording_path
    from neurodata.results import (
        check_output_folder,
        run_folder,
        save_figure,
        write_csv,
        write_json,
    )

    cfg = _config(args)
    out = check_output_folder(args.output, overwrite=args.overwrite)
    model = Neuroformer.load(args.checkpoint)
    rec = open_recording_path(cfg.data.recording)
    res = decode_behaviour(rec, cfg, model,
                           interval=tuple(args.interval) if args.interval else None)
    metrics = res.metrics
    with run_folder(out, overwrite=args.overwrite) as tmp:
        _write_config(tmp, cfg)
        write_csv(tmp / "predictions.csv", res.table, index=False)
        figures = []
        if res.truth is not None:
            fig = plots.plot_behaviour(res.window_start, res.truth[:, 0], res.predicted[:, 0],
                                       name=res.names[0])
            save_figure(fig, tmp / "figures" / "behaviour.png")
            figures.append("figures/behaviour.png")
        write_json(tmp / "result.json", {
            **_header("neuroloom neuroformer decode", cfg, cfg.data.recording,
                      [(args.checkpoint, "checkpoint")]),
            "metrics": metrics, "figures": figures})
    print(f"wrote {out} ({metrics['n_windows']} windows decoded"
          + (f", r = {metrics['r'][0]:.3f})" if "r" in metrics else ")"))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run ``neuroloom neuroformer simulate``: write a simulated circuit recording."""
    from decoders.neuroformer import simulate_circuit

    sim = simulate_circuit(n_neurons=args.neurons, n_trials=args.trials,
                           random_state=args.seed)
    path = Path(args.output)
    sim.recording.save(path, overwrite=args.overwrite)
    st = sim.recording.spikes["units"]
    print(f"wrote {path} ({st.n_units} neurons, {st.n_spikes} spikes, {args.trials} trials, "
          f"{int(sim.adjacency.sum())} true connections)")
    return 0


def register(subparsers) -> None:
    """Add ``neuroformer`` with ``train``, ``generate`` and ``decode``."""
    p = subparsers.add_parser(
        "neuroformer", help="train / sample / decode a Neuroformer on a recording",
        description="Neuroformer-style generative transformer on spike or calcium-event "
                    "tokens (YAML config; see docs/neuroformer.md).")
    sub = p.add_subparsers(dest="neuroformer_command", required=True,
                           metavar="{train,generate,decode,simulate}")

    def common(q):
        q.add_argument("config", help="YAML run config (see pipelines/configs/neuroformer_*)")
        q.add_argument("-o", "--output", required=True, help="result folder")
        q.add_argument("--recording", help="override data.recording")
        q.add_argument("--overwrite", action="store_true", help="replace an existing folder")

    t = sub.add_parser("train", help="train and evaluate on time-blocked splits")
    common(t)
    t.add_argument("--epochs", type=int, help="override train.epochs")
    t.add_argument("--checkpoint-dir", help="checkpoint folder (default OUTPUT.checkpoints)")
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    t.set_defaults(func=cmd_train)
    for name, func, helptext in (("generate", cmd_generate, "sample spike trains"),
                                 ("decode", cmd_decode, "decode behaviour")):
        q = sub.add_parser(name, help=helptext)
        common(q)
        q.add_argument("-c", "--checkpoint", required=True, help="model.pt from train")
        q.add_argument("--interval", type=float, nargs=2, metavar=("T0", "T1"),
                       help="interval in s (default: the test block)")
        if name == "generate":
            q.add_argument("--n-samples", type=int, help="override generate.n_samples")
        q.set_defaults(func=func)
    s = sub.add_parser("simulate", help="write a simulated circuit with known wiring (.h5)")
    s.add_argument("-o", "--output", required=True, help="recording file (.h5)")
    s.add_argument("--neurons", type=int, default=24, help="number of neurons")
    s.add_argument("--trials", type=int, default=120, help="number of 1-s trials")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--overwrite", action="store_true", help="replace an existing file")
    s.set_defaults(func=cmd_simulate)
