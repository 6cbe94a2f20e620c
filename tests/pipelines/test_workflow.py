"""The packaged pipeline workflow end to end on the REAL recordings bundled in the package
(EEGMMIDB S001R04, C. elegans whole-brain calcium, rat hippocampus units, the Haxby 2001
fMRI slice), tiny settings.

One real run feeds the tests (module fixture): the dry run lists the expected jobs, the
run produces every output with its step.json, a second run does nothing, changing one
parameter reruns exactly that step and the report and `explain` names the parameter,
the SLURM profile dry-runs with resources, bad configs/inputs stop with one message
naming the rule and the file, and the report renders in headless Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("snakemake")
pytest.importorskip("jsonschema")

from neurodata.errors import MissingFileError  # noqa: E402
from pipelines.workflows.execute import run_pipeline  # noqa: E402
from pipelines.workflows.explain import explain  # noqa: E402
from pipelines.workflows.plan import build_plan, default_config_path, job_argv  # noqa: E402
from pipelines.workflows.runner import StepError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "results": "results",
    "recordings": {"eeg": {"sample": "eegmmidb_s001r04"},
                   "worm": {"sample": "celegans_atanas2023"},
                   "hippo": {"sample": "nelpy_linear_track"}},
    "homogenize": {"worm_h": {"input": "worm", "block": "calcium", "rate": 1.6,
                              "channels": "celegans", "normalize": "zscore"}},
    "connectome": {"inputs": ["worm_h"], "window": 120, "rank": 2, "restarts": 1,
                   "n_iter": 30, "drop_invalid": True, "seed": 0},
    "glmhmm": {"input": "hippo", "states": 2, "bin": 0.1, "min_rate": 0.5, "t_start": 5000,
               "t_stop": 5150, "test_blocks": 2, "max_iter": 5, "seed": 0},
    "decoding": {"inputs": ["eeg"], "classes": {"left": "T1", "right": "T2"},
                 "epochs": {"tmin": 0.0, "tmax": 3.0, "l_freq": 8.0, "h_freq": 32.0},
                 "pipelines": ["csp_lda"], "evaluations": [{"scheme": "within_session",
                                                            "n_splits": 3}],
                 "n_permutations": 0, "seed": 0},
    "tokenizers": {"rvq": {"input": "eeg", "steps": 5, "codebooks": 2, "codebook_size": 8,
                           "batch_size": 32, "seed": 0},
                   "spike": {"input": "hippo"}},
    # two penalties, 3 permutations, no nilearn: ~10 s of CPU, mostly imports
    "brain_decoding": {"data": {"sample": "haxby2001_slice"}, "alphas": [10.0, 1000.0],
                       "n_permutations": 3, "nilearn_reference": False, "seed": 0},
    "report": {"title": "test run", "trace_seconds": 2},
}

EXPECTED = {"convert/eeg", "convert/worm", "convert/hippo", "validate/eeg", "validate/worm",
            "validate/hippo", "homogenize/worm_h", "connectome", "glmhmm", "decoding",
            "tokenize_train/rvq", "tokenize_train/spike", "tokenize_encode/rvq",
            "tokenize_encode/spike", "brain_decoding", "report"}


def _job_id(job: dict) -> str:
    rule, folder = job["job"].split("/", 1)
    name = folder.rsplit("-", 1)[0] if "-" in folder else ""
    return f"{rule}/{name}" if name else rule


def _job_ids(jobs) -> set[str]:
    return {_job_id(j) for j in jobs}


def _write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Dry run, then the real run of the tiny config (jobs of both are kept)."""
    work = tmp_path_factory.mktemp("pipeline")
    cfg = _write(work / "config.yaml", TINY)
    dry = run_pipeline(cfg, cores=2, dry_run=True, workdir=work)
    real = run_pipeline(cfg, cores=2, workdir=work)
    return {"work": work, "config": cfg, "dry": dry, "real": real,
            "plan": build_plan(cfg, workdir=work)}


def test_dry_run_lists_expected_jobs(pipeline):
    assert _job_ids(pipeline["dry"].jobs) == EXPECTED
    assert not (pipeline["work"] / "results" / "report").exists() or pipeline["real"].jobs


def test_real_run_produces_every_output(pipeline):
    plan, real = pipeline["plan"], pipeline["real"]
    assert _job_ids(real.jobs) == EXPECTED
    for job in plan:
        assert job.record.is_file(), job.id
        assert job.output.exists(), job.id
        rec = json.loads(job.record.read_text())
        assert rec["key"] == job.key and rec["step"] == job.step
        assert rec["software"]["neuroloom"]
        for items in rec["inputs"].values():
            for item in items:
                assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"])
    conn = plan.job("connectome")
    rec = json.loads(conn.record.read_text())
    assert rec["params"] == {k: v for k, v in TINY["connectome"].items()}  # only its slice
    assert rec["argv"][:2] == ["neuroloom", "connectome"]
    result = json.loads((conn.output / "result.json").read_text())
    assert result["config"]["rank"] == 2 and len(result["components"]) == 2
    fmri = plan.job("brain_decoding")
    rec = json.loads(fmri.record.read_text())
    assert rec["argv"][:3] == ["neuroloom", "decode", "eval"]
    assert [Path(i["path"]).name for i in rec["inputs"]["fmri"]] == [
        "bold.nii.gz", "mask.nii.gz", "attributes_literal.txt"]
    metrics = json.loads((fmri.output / "metrics.json").read_text())
    # real data: 96 blocks, 8 captions; the bundled slice decodes far above 1/8
    assert metrics["n_blocks"] == 96 and metrics["chance"] == 0.125
    assert metrics["top1"] > 0.5 and metrics["n_permutations"] == 3
    assert metrics["null_mean"] < 0.3 and metrics["p_value"] == 0.25  # (1 + 0) / (1 + 3)
    assert "nilearn_accuracy" not in metrics
    assert real.report == plan.job("report").output
    html = real.report.read_text()
    for title in ("Recording eeg", "Recording worm", "Recording hippo", "Homogenized worm_h",
                  "Connectome component 1", "State-switching GLM", "Decoding benchmark",
                  "Tokenizer: residual VQ", "Tokenizer: spike tokens",
                  "Brain → caption decoding (fMRI)", "Provenance"):
        assert title in html, title
    assert "µV" in html and "How to read this" in html
    assert "against chance 12.5 %, permutation p = 0.25" in html
    assert "nilearn&#x27;s Decoder was not run" in html
    # no structural connectome bundled: the section says what enrichment needs and how
    assert "set &#x27;structural: PATH/TO/FILE&#x27; in the connectome section" in html
    assert "&lt;Recording" not in html and "object at 0x" not in html  # no reprs
    # every output file is linked from the report
    for job in plan:
        if job.step != "report":
            for rel in json.loads(job.record.read_text())["outputs"]:
                assert f"{job.dir.name}/{rel}" in html, (job.id, rel)


def test_second_run_does_nothing(pipeline):
    again = run_pipeline(pipeline["config"], cores=2, workdir=pipeline["work"])
    assert again.jobs == []
    assert explain(pipeline["plan"].job("connectome").dir).up_to_date


def test_one_parameter_reruns_that_step_and_the_report(pipeline, tmp_path):
    work = pipeline["work"]
    old = pipeline["plan"]
    changed = json.loads(json.dumps(TINY))
    changed["glmhmm"]["max_iter"] = 6
    cfg = _write(work / "config.yaml", changed)
    try:
        dry = run_pipeline(cfg, cores=2, dry_run=True, workdir=work)
        assert _job_ids(dry.jobs) == {"glmhmm", "report"}
        why = explain(old.job("glmhmm").dir)
        assert not why.up_to_date
        assert "parameter glmhmm.max_iter changed: 5 -> 6" in why.text()
        report_why = explain(old.job("report").dir).text()
        assert "glmhmm.max_iter changed: 5 -> 6" in report_why
        assert explain(old.job("connectome").dir).up_to_date
        new = build_plan(cfg, workdir=work)
        changed_keys = {j.id for j in new if j.key != old.jobs[j.id].key}
        assert changed_keys == {"glmhmm", "report"}
        # the same for the fMRI decoding step (it reads source files, no upstream job)
        changed = json.loads(json.dumps(TINY))
        changed["brain_decoding"]["n_permutations"] = 4
        cfg = _write(work / "config.yaml", changed)
        dry = run_pipeline(cfg, cores=2, dry_run=True, workdir=work)
        assert _job_ids(dry.jobs) == {"brain_decoding", "report"}
        why = explain(old.job("brain_decoding").dir).text()
        assert "parameter brain_decoding.n_permutations changed: 3 -> 4" in why
        # (the rerun itself is left out to keep the suite fast: Snakemake's job list above
        # is what it would execute; the demo exercises real reruns)
    finally:
        _write(work / "config.yaml", TINY)


def test_explain_names_a_changed_input_file(tmp_path):
    src = tmp_path / "S001R04.edf"
    shutil.copy(REPO / "neurodata" / "sample_data" / "eegmmidb" / "S001R04.edf", src)
    cfg = _write(tmp_path / "c.yaml", {"results": "r", "recordings": {"eeg": {"path": str(src)}}})
    plan = build_plan(cfg, workdir=tmp_path)
    job = plan.job("convert", "eeg")
    job.dir.mkdir(parents=True)
    record = {"format": "neuroloom.pipeline_step", "step": "convert", "name": "eeg",
              "key": job.key, "plan_version": "1", "section": job.section,
              "params": job.params, "software": job.software, "main": "recording.h5",
              "inputs": {"source": [{"path": str(src), "from": None, "key": None,
                                     "sha256": "0" * 64}]},
              "config_file": str(cfg), "results": str(plan.results), "outputs": {}}
    record["key"] = "0" * 12
    (job.dir / "step.json").write_text(json.dumps(record))
    text = explain(job.dir).text()
    assert f"input file {src} changed (sha256 000000000000 ->" in text


def test_slurm_profile_dry_run_lists_resources(tmp_path):
    """No cluster: the SLURM executor plugin's profile is read and the DAG planned."""
    cfg = json.loads(json.dumps(TINY))
    cfg["tokenizers"]["rvq"]["resources"] = {"nproc": 2, "gpus": 2}
    cfg["neuroformer"] = {"input": "hippo", "run": {"train": {"epochs": 1}}}
    path = _write(tmp_path / "c.yaml", cfg)
    run = run_pipeline(path, profile="slurm", dry_run=True, workdir=tmp_path)
    jobs = {_job_id(j): j for j in run.jobs}
    assert _job_ids(run.jobs) == EXPECTED | {"neuroformer"}
    assert jobs["neuroformer"]["resources"]["gpu"] == 1
    assert jobs["neuroformer"]["resources"]["slurm_partition"] == "gpu"
    assert jobs["neuroformer"]["resources"]["runtime"] == 240
    train = jobs["tokenize_train/rvq"]
    assert train["resources"]["gpu"] == 2 and train["resources"]["slurm_partition"] == "gpu"
    assert "torchrun --standalone --nproc-per-node 2" in train["shell"]
    assert jobs["tokenize_train/spike"]["resources"]["gpu"] == 0
    for j in run.jobs:
        assert j["resources"]["runtime"] > 0 and j["resources"]["mem_mb"] > 0
        assert "slurm_account" in j["resources"]  # the profile's default (set at submit)
    assert jobs["connectome"]["resources"]["runtime"] == 60
    assert jobs["brain_decoding"]["resources"]["runtime"] == 30
    assert "gpu" not in jobs["brain_decoding"]["resources"]


def test_until_plans_one_step_and_what_it_needs(tmp_path):
    path = _write(tmp_path / "c.yaml", TINY)
    run = run_pipeline(path, dry_run=True, until="glmhmm", workdir=tmp_path)
    assert _job_ids(run.jobs) == {"convert/hippo", "validate/hippo", "glmhmm"}
    with pytest.raises(Exception, match="no step 'nope'"):
        run_pipeline(path, dry_run=True, until="nope", workdir=tmp_path)


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_unknown_key_stops_with_one_message(tmp_path):
    cfg = json.loads(json.dumps(TINY))
    cfg["connectome"]["rnak"] = 3
    path = _write(tmp_path / "bad.yaml", cfg)
    proc = _cli("pipeline", "run", "--config", path, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and "unknown key 'rnak' in connectome" in lines[0]
    bad_value = json.loads(json.dumps(TINY))
    bad_value["glmhmm"]["prior"] = "flat"
    with pytest.raises(Exception, match="glmhmm.prior: 'flat' is not one of"):
        build_plan(bad_value)


def test_missing_input_file_names_rule_and_file(tmp_path):
    path = _write(tmp_path / "c.yaml", {"recordings": {"x": {"path": "nowhere/x.edf"}}})
    proc = _cli("pipeline", "run", "--config", path, cwd=tmp_path)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "rule convert" in line and str(tmp_path / "nowhere" / "x.edf") in line
    assert not (tmp_path / "results").exists()


def test_fmri_folder_without_the_haxby_files_names_rule_and_file(tmp_path):
    (tmp_path / "haxby").mkdir()
    shutil.copy(REPO / "neurodata" / "sample_data" / "haxby2001_slice" / "mask.nii.gz",
                tmp_path / "haxby")
    cfg = {"recordings": {"eeg": {"sample": "eegmmidb_s001r04"}},
           "brain_decoding": {"data": {"path": "haxby"}}}
    with pytest.raises(MissingFileError) as info:
        build_plan(_write(tmp_path / "c.yaml", cfg))
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'haxby' / 'bold.nii.gz'}: rule brain_decoding "
                          "(brain_decoding.data.path): the slice layout needs"), msg
    cfg["brain_decoding"]["data"] = {"path": "nowhere"}
    with pytest.raises(MissingFileError, match="no such folder"):
        build_plan(_write(tmp_path / "c.yaml", cfg))
    cfg["brain_decoding"]["data"] = {"sample": "haxby2001_slice", "path": "haxby"}
    with pytest.raises(Exception, match="brain_decoding.data: give exactly one of"):
        build_plan(_write(tmp_path / "c.yaml", cfg))
    # fMRI decoding alone needs no recordings; a config with neither says so
    alone = build_plan({"brain_decoding": {"data": {"sample": "haxby2001_slice"}}},
                       results=tmp_path)
    assert [j.id for j in alone] == ["brain_decoding", "report"]
    with pytest.raises(Exception, match="needs 'recordings' \\(or 'brain_decoding' alone"):
        build_plan({"report": {}})


def test_structural_connectome_turns_enrichment_on(shared, tmp_path):
    """The config key the report and docs name: real Cook et al. 2019 wiring (../shared)."""
    cook = shared("calcium/celegans_connectome/cook_jarrell_2019_h.json")
    base = {k: TINY[k] for k in ("recordings", "homogenize", "connectome")}
    off = build_plan(base, results=tmp_path)
    on_cfg = json.loads(json.dumps(base))
    on_cfg["connectome"].update(structural=str(cook), shuffles=100)
    on = build_plan(on_cfg, results=tmp_path)
    assert {j.id for j in on if j.key != off.jobs[j.id].key} == {"connectome", "report"}
    argv = job_argv(on.job("connectome"), tmp_path)
    i = argv.index("--structural")
    assert argv[i + 1] == str(cook.resolve()) and argv[argv.index("--shuffles") + 1] == "100"


def test_input_failing_validation_stops_at_validate(tmp_path):
    import h5py

    import neurodata as nd

    bad = tmp_path / "worm.h5"
    nd.load_sample("celegans_atanas2023").save(bad)
    with h5py.File(bad, "r+") as f:  # one flipped value: the stored checksum no longer fits
        f["timeseries/calcium/data"][0, 0] = 99.0
    cfg = {"results": "out", "recordings": {"worm": {"path": str(bad)}},
           "connectome": {"inputs": ["worm"], "rank": 2, "window": 120, "restarts": 1,
                          "n_iter": 10, "rate": 1.6, "drop_invalid": True}}
    path = _write(tmp_path / "c.yaml", cfg)
    with pytest.raises(StepError) as info:
        run_pipeline(path, workdir=tmp_path)
    msg = str(info.value)
    assert "rule validate (worm)" in msg and str(bad) in msg and "checksum" in msg
    plan = build_plan(path, workdir=tmp_path)
    assert not plan.job("validate", "worm").record.exists()
    assert not plan.job("connectome").dir.exists()
    leftovers = [p for p in (tmp_path / "out").rglob("step.json")]
    assert leftovers == []  # nothing looks complete
    assert not explain(plan.job("validate", "worm").dir).up_to_date


def test_default_config_plans_every_stage(tmp_path):
    """The packaged config (bundled samples) parses and plans all steps."""
    plan = build_plan(default_config_path(), results=tmp_path / "r")
    assert plan.steps() == ["convert", "validate", "homogenize", "connectome", "glmhmm",
                            "decoding", "tokenize_train", "tokenize_encode", "neuroformer",
                            "brain_decoding", "report"]
    assert len([j for j in plan if j.step == "convert"]) == 5
    pointer = (REPO / "workflows" / "Snakefile").read_text()
    assert "pipelines/workflows/Snakefile" in pointer


_PROBE = """<script>window.__errs=[];
window.addEventListener('error',function(e){window.__errs.push(String(e.message||
(e.target&&e.target.src)||'error').slice(0,120))},true);
var _ce=console.error;console.error=function(){window.__errs.push('console: '+
Array.from(arguments).join(' '));_ce.apply(console,arguments)};
window.addEventListener('load',function(){var im=Array.from(document.images);
var bad=im.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).length;
var d=document.createElement('pre');d.id='probe';d.textContent=JSON.stringify(
{images:im.length,broken:bad,errors:window.__errs});document.body.appendChild(d)});
</script>"""


def test_report_renders_in_headless_chromium(pipeline, tmp_path):
    """Screenshot not blank, every <img> decoded, no errors (Debian package `chromium`)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium not installed (apt-get install -y chromium)")
    import numpy as np
    from PIL import Image

    report = pipeline["real"].report
    html = report.read_text()
    assert "src='http" not in html and 'src="http' not in html  # self-contained
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--virtual-time-budget=10000"]
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1200,1800", f"--screenshot={shot}",
                    report.as_uri()], capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # text and figures drawn
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("<head>", "<head>" + _PROBE, 1))
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    result = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1))
    assert result["images"] == html.count("<img") and result["images"] >= 15
    assert result["broken"] == 0 and result["errors"] == []


def test_planner_knows_the_haxby_slice_files_the_decoder_reads():
    """The planner's copy of the slice layout's file names (kept so that planning does not
    import the decoders) equals the one the decoder reads."""
    from decoders.braindecoding.haxby import SLICE_FILES
    from pipelines.workflows.plan import HAXBY_SLICE_FILES

    assert HAXBY_SLICE_FILES == SLICE_FILES
