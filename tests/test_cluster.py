"""The study on a real Dask cluster: a scheduler and two workers started with Dask's own programs (`dask scheduler`,
`dask worker`), each a separate process in a fresh folder of its own and, when the tests run as root (as CI
does), as another user who can read the checkout but not write to it. The client must bring every page home."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from dask.distributed import Client

from conftest import FIXTURE_PAGES, REPO, fast, fixture_run, smoke_model_job
from pipeline import workers
from pipeline.jobs import run_job
from study import results

DASK = Path(sys.executable).parent / "dask"
NOBODY = 65534
# as root: user nobody, allowed to read and search every folder (this environment may lie under /root), no more
OTHER_USER = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
              "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]


@dataclass
class Cluster:
    address: str
    processes: dict[str, subprocess.Popen]
    folders: dict[str, Path]
    other_user: bool

    def client(self) -> Client:
        return Client(self.address, timeout="10s")

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        with self.client() as c:
            c.wait_for_workers(n, timeout=timeout)
            deadline = time.monotonic() + timeout
            while len(c.scheduler_info()["workers"]) != n and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(c.scheduler_info()["workers"]) == n, self.logs()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{(self.folders[name] / 'log.txt').read_text()[-2000:]}"
                         for name in self.processes)


def _start(cluster: Cluster, name: str, folder: Path, *args: str, pythonpath: Path = REPO) -> None:
    """Start `dask ARGS` as a process group of its own, working in `folder`, with its home and temporary folder
    there, as the other user when there is one."""
    (folder / "tmp").mkdir(parents=True)
    if cluster.other_user:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    env = {**os.environ, "HOME": str(folder), "TMPDIR": str(folder / "tmp"), "PYTHONPATH": str(pythonpath),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    prefix = OTHER_USER if cluster.other_user else []
    with open(folder / "log.txt", "wb") as log:
        cluster.processes[name] = subprocess.Popen([*prefix, str(DASK), *args], cwd=folder, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True)
    cluster.folders[name] = folder


def _worker(cluster: Cluster, name: str, folder: Path, pythonpath: Path = REPO) -> None:
    _start(cluster, name, folder, "worker", cluster.address, "--name", name, "--nthreads", "1", "--no-dashboard",
           "--local-directory", str(folder / "tmp"), pythonpath=pythonpath)


def _stop(cluster: Cluster, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
    process = cluster.processes.pop(name)
    os.killpg(process.pid, sig)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    other_user = os.geteuid() == 0 and shutil.which("setpriv") is not None
    c = Cluster("", {}, {}, other_user)
    folder = tmp_path_factory.mktemp("scheduler")
    _start(c, "scheduler", folder, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
           "--scheduler-file", str(folder / "scheduler.json"))
    deadline = time.monotonic() + 60
    while not (folder / "scheduler.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    c.address = json.loads((folder / "scheduler.json").read_text())["address"]
    for name in ("w0", "w1"):
        _worker(c, name, tmp_path_factory.mktemp(name))
    c.wait_for_workers(2)
    yield c
    for name in list(c.processes):
        _stop(c, name, signal.SIGKILL)


def _owners(root: Path) -> set[int]:
    return {p.stat().st_uid for p in [root, *root.rglob("*")]}


def test_a_run_on_a_cluster_of_other_processes_brings_every_page_and_record_home(cluster, fixture_params, tmp_path,
                                                                                capsys):
    assert fixture_run(tmp_path, fast(fixture_params), "--scheduler", cluster.address) == 0
    assert "executed 3 model(s) and 3 page(s), 0 failed" in capsys.readouterr().out
    book = tmp_path / "book"
    models = book / "mnist-sample" / "models"
    for spec_id in ("model_a", "model_b", "model_c"):
        assert (models / f"{spec_id}.json").is_file() and (models / spec_id / "seed_0.json").is_file()
        page = nbformat.read(models / f"{spec_id}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in page.cells for o in c.get("outputs", []))
        assert f"run by user id {NOBODY if cluster.other_user else os.getuid()}" in text  # on a worker, not here
    for page in ("intro", "mnist-sample/comparison", "cross_dataset"):
        assert (book / f"{page}.ipynb").is_file()
    assert _owners(tmp_path) == {os.getuid()}  # the client wrote every file of the book
    for name in ("w0", "w1"):  # each job's scratch folder is gone once it has returned
        assert not list(cluster.folders[name].rglob("*.ipynb")) and not list(cluster.folders[name].rglob("job-*"))


def test_a_worker_with_other_code_is_refused_by_name_before_anything_runs(cluster, fixture_params, tmp_path,
                                                                          tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("w-other")
    checkout = folder / "checkout"
    for part in ("study", "pipeline"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "requirements.txt", checkout)
    (checkout / "study" / "models.py").write_text((REPO / "study" / "models.py").read_text() + "\n# edited there\n")
    _worker(cluster, "w-other", folder, pythonpath=checkout)
    try:
        cluster.wait_for_workers(3)
        status = fixture_run(tmp_path, fixture_params, "--scheduler", cluster.address)
        err = capsys.readouterr().err
        assert status == 2 and err.rstrip().endswith("Nothing was run.")
        assert f"--scheduler {cluster.address}: worker w-other (tcp://" in err
        assert "differs from this checkout: other code: study/models.py" in err
        assert "worker w0" not in err and "worker w1" not in err
        assert not (tmp_path / "book").exists()
    finally:
        _stop(cluster, "w-other")
    cluster.wait_for_workers(2)


def test_a_real_model_page_runs_on_a_worker_and_comes_home(cluster, tmp_path):
    """The real template, Keras and all, as a job on a worker of the other user (its home, Keras' and
    matplotlib's folders its own), published here."""
    job = smoke_model_job(tmp_path, "model_05")
    with cluster.client() as c:
        outcome = c.submit(run_job, job, pure=False).result()
    assert outcome.ok, outcome.error
    job.publish(outcome)
    models = tmp_path / "book" / "mnist-sample" / "models"
    record = results.read_model(models / "model_05.json")
    assert record.hardware.backend == "tensorflow" and record.dataset.name == "mnist-sample"
    assert (models / "model_05" / "seed_0.json").is_file() and job.is_fresh()
    assert _owners(tmp_path) == {os.getuid()}


def test_what_differs_between_a_worker_and_the_client_is_named():
    mine = workers.fingerprint()
    theirs = mine.model_copy(deep=True)
    theirs.code["study/stats.py"] = "0" * 64
    del theirs.code["pipeline/replay.py"]
    theirs.packages["numpy"] = "1.26.4"
    theirs.python = "3.12.1"
    assert workers.differences(mine, mine) == []
    assert workers.differences(mine, theirs) == [
        "other code: pipeline/replay.py (missing there), study/stats.py",
        f"other packages: numpy 1.26.4 there, {mine.packages['numpy']} here",
        f"Python 3.12.1 there, {mine.python} here"]


def test_a_worker_killed_in_the_middle_of_a_job_makes_it_rerun_on_the_other(cluster, fixture_params, tmp_path):
    params = fast(fixture_params, slow="model_b", seconds=4)
    (tmp_path / "tmp").mkdir()
    run = subprocess.Popen([sys.executable, "-m", "pipeline.execute", "--pages", str(FIXTURE_PAGES), "--params",
                            str(params), "--root", str(tmp_path), "--smoke", "--datasets", "mnist-sample",
                            "--scheduler", cluster.address], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    victim = None
    with cluster.client() as c:
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and run.poll() is None:
            # a lambda travels by value, where a function of this test module would need the module on the worker
            executing = c.run(lambda dask_worker: [str(t.key) for t in dask_worker.state.executing])
            names = {a: w["name"] for a, w in c.scheduler_info()["workers"].items()}
            victim = next((names[a] for a, keys in executing.items() if any("model_b" in k for k in keys)), None)
            time.sleep(0.2)
    assert victim is not None, "model_b was never seen running"
    time.sleep(1)  # well into model_b's four seconds
    _stop(cluster, victim, signal.SIGKILL)  # the worker, its nanny and its kernel, as when a machine dies
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err[-3000:]
    assert "executed 3 model(s) and 3 page(s), 0 failed" in out
    models = tmp_path / "book" / "mnist-sample" / "models"
    trained = next(line for line in out.splitlines() if "mnist-sample/model_b seed 0: trained" in line)
    assert int(trained.split("trained, ")[1].split()[0]) >= 4, trained  # the run trained whole, on the survivor
    assert (tmp_path / "book" / "mnist-sample" / "runs" / "model_b" / "fixture-0.json").is_file()
    assert (models / "model_b.json").is_file() and (models / "model_b" / "seed_0.json").is_file()
    assert not list(tmp_path.rglob("*.part*")) and not list(tmp_path.rglob(".*.tmp"))
    survivor = "w1" if victim == "w0" else "w0"
    assert not list(cluster.folders[survivor].rglob("job-*"))
