"""The benchmarks' baselines do the same work as what they are compared with."""

import dataclasses
import json
import subprocess
import sys

from study import data, execute
from study.spec import PARAMS_DIR, load_specs


def test_the_plain_run_of_the_model_template_matches_its_notebook(tmp_path):
    plain_dir, notebook_dir = tmp_path / "plain", tmp_path / "notebook"
    plain_dir.mkdir()
    job = execute.model_jobs(load_specs(), ["model_03"], notebook_dir, PARAMS_DIR, data=data.resolve("mnist-sample"),
                             seeds=[0], smoke=True, threads=1)[0]
    execute.kernel_env()
    parameters = dataclasses.replace(job, models_dir=plain_dir).parameters
    subprocess.run([sys.executable, "-m", "study.bench", "--plain-page", json.dumps(parameters)], check=True)
    execute.run_model(job)
    plain, notebook = ({k: v for k, v in json.loads((d / "model_03" / "seed_0.json").read_text()).items()
                        if k != "seconds"} for d in (plain_dir, job.models_dir))
    assert plain["test"]["accuracy"] > 0.2  # smoke run: one epoch on 600 digits, but trained
    assert plain == notebook  # history, metrics and every prediction
