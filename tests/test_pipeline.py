"""The machinery: hashes, jobs, the papermill runner, the Dask scheduler and the command line, on fixture pages
that run in a second or two (tests/fixtures), as papermill's own tests do."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import psutil
import pytest
import yaml

from conftest import FIXTURE_PAGES, REPO, fast, fixture_run
from pipeline import execute, rounds, schedule, staleness
from pipeline.jobs import Outcome
from pipeline.jobs import model_jobs, page_jobs
from pipeline.pages import Book, compared_datasets, load_manifest
from pipeline.runner import SOCKET_FOLDER_MAX, socket_folder, template_parameters
from study import data, sequential, stats
from study.results import read_model
from study.spec import load_specs


def tiny(name: str = "mnist-sample", seed: int = 0) -> data.Dataset:
    """A stand-in for resolved data: only its name and arrays' hash reach the jobs."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4)
    return data.Dataset(name, "test arrays", x, y, x, y)


def book_for(root: Path, params: Path, pages: Path = FIXTURE_PAGES) -> Book:
    return Book(load_manifest(pages), root, params, tuple(load_specs(params)), pages.parent)


def jobs_for(book: Book, science: str | None = None, **options):
    defaults = dict(data=tiny(), seeds=[0], smoke=True, threads=1, precision="float32", backend="tensorflow", gpus=[],
                    science=science or staleness.science_hash())
    return model_jobs(book, load_specs(book.params_dir), list(book.ids), **{**defaults, **options})


def mark_executed(job):
    """What a successful run leaves: the page with its inputs hash, and the model's result file."""
    job.notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(metadata={"study": {"inputs_hash": job.inputs_hash}}), job.notebook)
    (job.models_dir / f"{job.spec_id}.json").write_text("{}")


def fake_result(models_dir: Path, spec_id: str) -> None:
    """The fixture's record and run, as a model's result files."""
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE_PAGES.parent / "record.json", models_dir / f"{spec_id}.json")
    (models_dir / spec_id).mkdir()
    shutil.copy(FIXTURE_PAGES.parent / "run.json", models_dir / spec_id / "seed_0.json")


# --- what makes a page out of date -------------------------------------------------------------------------

def test_editing_a_parameter_file_makes_only_that_run_stale(fixture_params, tmp_path):
    book = book_for(tmp_path, fixture_params)
    for job in jobs_for(book):
        mark_executed(job)
    assert all(j.is_fresh() for j in jobs_for(book))
    path = fixture_params / "model_b.yaml"
    path.write_text(path.read_text().replace("batch_size: 128", "batch_size: 64"))
    assert [j.spec_id for j in jobs_for(book) if not j.is_fresh()] == ["model_b"]


@pytest.mark.parametrize("option", [{"seeds": [0, 1]}, {"data": tiny(seed=1)}, {"precision": "mixed_bfloat16"},
                                    {"threads": 2}, {"gpus": ["NVIDIA H100 80GB HBM3"]}, {"smoke": False},
                                    {"backend": "jax"}])
def test_every_run_option_and_the_data_make_every_run_stale(fixture_params, tmp_path, option):
    book = book_for(tmp_path, fixture_params)
    for job in jobs_for(book):
        mark_executed(job)
    assert not any(j.is_fresh() for j in jobs_for(book, **option))


def test_editing_the_science_reruns_every_model_and_editing_the_machinery_reruns_nothing(fixture_params, tmp_path):
    copy = tmp_path / "checkout"
    for folder in ("study", "pipeline"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "requirements.txt", copy)
    book = book_for(tmp_path, fixture_params)

    def science() -> str:
        return staleness.science_hash(copy / "study", copy / "requirements.txt")

    for job in jobs_for(book, science()):
        mark_executed(job)
    for module in (copy / "pipeline").glob("*.py"):
        module.write_text(module.read_text() + "\n# the machinery changed\n")
    assert all(j.is_fresh() for j in jobs_for(book, science()))
    models = copy / "study" / "models.py"
    models.write_text(models.read_text() + "\n# the science changed\n")
    assert not any(j.is_fresh() for j in jobs_for(book, science()))


def test_a_missing_result_file_is_stale(fixture_params, tmp_path):
    job = jobs_for(book_for(tmp_path, fixture_params))[0]
    mark_executed(job)
    (job.models_dir / f"{job.spec_id}.json").unlink()
    assert not job.is_fresh()


def test_a_summary_page_hash_follows_results_not_where_the_checkout_lies(fixture_params, tmp_path):
    def hashes(root: Path) -> dict[str, str]:
        return {j.name: j.inputs_hash for j in page_jobs(book_for(root, fixture_params), science="s", force=True)}

    for d in ("mnist-sample", "fashion-mnist"):
        fake_result(tmp_path / "a" / "book" / d / "models", "model_a")
    before = hashes(tmp_path / "a")
    shutil.move(tmp_path / "a", tmp_path / "moved")
    assert hashes(tmp_path / "moved") == before
    changed = tmp_path / "moved" / "book" / "fashion-mnist" / "models" / "model_a.json"
    changed.write_text(changed.read_text().replace('"smoke": true', '"smoke": false'))
    after = hashes(tmp_path / "moved")
    assert after["mnist-sample/comparison"] == before["mnist-sample/comparison"]
    assert all(after[n] != before[n] for n in ("fashion-mnist/comparison", "intro", "cross_dataset"))


# --- the declared pages --------------------------------------------------------------------------------------

def test_the_cross_dataset_page_compares_mnist_or_its_stand_in_with_fashion_mnist():
    assert compared_datasets(["mnist-sample", "fashion-mnist"]) == ["mnist-sample", "fashion-mnist"]
    assert compared_datasets(["mnist", "mnist-sample", "fashion-mnist"]) == ["mnist", "fashion-mnist"]
    assert compared_datasets(["fashion-mnist"]) == ["fashion-mnist"]


def test_the_cross_dataset_page_names_what_it_leaves_out(tmp_path):
    for d in ("mnist", "mnist-sample", "fashion-mnist"):
        (tmp_path / "book" / d / "models").mkdir(parents=True)
        (tmp_path / "book" / d / "models" / "model_01.json").write_text("{}")
    book = Book(load_manifest(), tmp_path, REPO / "notebooks" / "params", tuple(load_specs()))
    cross = next(p for p in book.summary_pages() if p.name == "cross_dataset")
    assert [Path(d).parent.name for d in cross.parameters["results_dirs"]] == ["mnist", "fashion-mnist"]
    assert cross.parameters["not_compared"] == ["MNIST sample (4,000/1,000)"]


def test_each_template_takes_exactly_the_parameters_its_jobs_send(tmp_path):
    book = Book(load_manifest(), tmp_path, REPO / "notebooks" / "params", tuple(load_specs()))
    for d in ("mnist", "fashion-mnist"):
        (tmp_path / "book" / d / "models").mkdir(parents=True)
        (tmp_path / "book" / d / "models" / "model_01.json").write_text("{}")
    job = jobs_for(book)[0]
    sent = {str(job.template): set(job.parameters)}
    for page in book.summary_pages():
        sent.setdefault(str(page.template), set(page.parameters))
        assert sent[str(page.template)] == set(page.parameters), page.name
    assert len(sent) == 4
    for template, keys in sent.items():
        assert set(template_parameters(Path(template))) == keys, template


def test_an_invalid_pages_file_names_the_file_and_the_field(tmp_path, capsys):
    pages = tmp_path / "pages.yml"
    pages.write_text(FIXTURE_PAGES.read_text().replace("reads: dataset", "reads: everything"))
    status = execute.main(["--pages", str(pages), "--root", str(tmp_path), "--smoke"])
    err = capsys.readouterr().err
    assert status == 2 and "Nothing was run." in err
    assert f"{pages}: invalid pages file: field 'per_dataset.pages.0.reads'" in err
    assert not (tmp_path / "book").exists()


def test_the_committed_toc_is_the_declared_book():
    book = Book(load_manifest(), REPO, REPO / "notebooks" / "params", tuple(load_specs()))
    committed = (REPO / "_toc.yml").read_text()
    assert yaml.safe_load(committed) == book.declared_toc(), "run `python -m pipeline.toc --declared` and commit"
    assert "python -m pipeline.toc --declared" in committed
    chapters = [c["file"] for part in book.declared_toc()["parts"] for c in part["chapters"]]
    assert len(chapters) == 2 * (len(book.ids) + 1) + 2 and "book/fashion-mnist/models/model_10" in chapters


def test_the_check_above_fails_when_a_parameter_file_is_added(fixture_params):
    book = Book(load_manifest(), REPO, fixture_params, tuple(load_specs(fixture_params)))
    assert yaml.safe_load((REPO / "_toc.yml").read_text()) != book.declared_toc()


# --- running the pages -----------------------------------------------------------------------------------------

def test_a_book_runs_once_reruns_only_what_changed_survives_a_failure_and_drops_deleted_pages(fixture_params, tmp_path,
                                                                                             capsys):
    models = tmp_path / "book" / "mnist-sample" / "models"
    # the first run executes every page
    assert fixture_run(tmp_path, fast(fixture_params)) == 0
    assert "executed 3 model(s) and 3 page(s), 0 failed" in capsys.readouterr().out
    for spec_id in ("model_a", "model_b", "model_c"):
        assert (models / f"{spec_id}.ipynb").is_file() and (models / spec_id / "seed_0.json").is_file()
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text())
    assert toc["parts"][0]["chapters"][-1] == {"file": "book/mnist-sample/comparison"}
    comparison = nbformat.read(tmp_path / "book" / "mnist-sample" / "comparison.ipynb", as_version=4)
    assert comparison.cells[0].source.startswith("# Conclusions on MNIST sample (4,000/1,000)")
    # a rerun with nothing changed executes nothing and starts no cluster
    assert fixture_run(tmp_path, fixture_params) == 0
    out = capsys.readouterr().out
    assert "executed 0 model(s) and 0 page(s)" in out and "up to date, skipped: mnist-sample/model_a" in out
    # a result file cut short is named, set aside and its run redone, never a traceback
    record = models / "model_a.json"
    record.write_bytes(record.read_bytes()[:300])
    assert fixture_run(tmp_path, fixture_params) == 0
    out = capsys.readouterr().out
    assert f"damaged result set aside as model_a.json.damaged, mnist-sample/model_a reruns: {record}: " in out
    assert "executed 1 model(s) and 3 page(s), 0 failed" in out and read_model(record).id == "model_a"
    # a model that fails does not stop the others; its good earlier page stays, its failure is kept beside it
    good = (models / "model_b.ipynb").read_bytes()
    spec = fixture_params / "model_b.yaml"
    spec.write_text(spec.read_text() + 'notes: "raise"\n')
    assert fixture_run(tmp_path, fixture_params) == 1
    out, err = capsys.readouterr()
    assert ("FAILED: mnist-sample/model_b seed 0: ValueError: model_b was told to fail (kept: nothing); "
            f"mnist-sample/model_b: ValueError: model_b was told to fail (kept: {models}/model_b.failed.ipynb)") in err
    assert "executed 1 model(s) and 3 page(s), 2 failed" in out
    assert (models / "model_b.ipynb").read_bytes() == good
    failed = nbformat.read(models / "model_b.failed.ipynb", as_version=4)
    assert failed.cells[0].source.startswith("# Failed: Fixture model b")
    assert any(o.output_type == "error" for c in failed.cells for o in c.get("outputs", []))
    toc = (tmp_path / "_toc.yml").read_text()
    assert "book/mnist-sample/models/model_b\n" in toc and "book/mnist-sample/models/model_b.failed\n" in toc
    # back to the good page's inputs: the model does not rerun (the summary pages, which read every parameter
    # file, do) and the failure, now out of date, leaves the book
    spec.write_text(spec.read_text().replace('notes: "raise"\n', ""))
    assert fixture_run(tmp_path, fixture_params) == 0
    assert "executed 0 model(s) and 3 page(s)" in capsys.readouterr().out
    assert (models / "model_b.ipynb").read_bytes() == good and not (models / "model_b.failed.ipynb").exists()
    assert "model_b.failed" not in (tmp_path / "_toc.yml").read_text()
    # a deleted parameter file takes its pages out of the book; the summary pages rerun without it
    (fixture_params / "model_c.yaml").unlink()
    assert fixture_run(tmp_path, fixture_params) == 0
    out = capsys.readouterr().out
    assert "executed 0 model(s) and 3 page(s)" in out
    assert f"no parameter file for model_c in {models}: their pages and results are left there" in out
    assert book_for(tmp_path, fixture_params).pages() == [
        "book/intro", "book/mnist-sample/models/model_a", "book/mnist-sample/models/model_b",
        "book/mnist-sample/comparison", "book/cross_dataset"]
    assert "model_c" not in (tmp_path / "_toc.yml").read_text()
    assert not list(tmp_path.rglob("*.part*")) and not list(tmp_path.rglob(".*.tmp"))


def _trained(notebook: Path) -> str:
    """What the fixture model page printed of the seeds it trained (the rest it found in its store)."""
    nb = nbformat.read(notebook, as_version=4)
    return next(line for c in nb.cells for o in c.get("outputs", []) for line in o.get("text", "").splitlines()
                if line.startswith("trained seeds"))


def _runs_trained(out: str) -> list[str]:
    """The seed jobs a run's output says trained a run (the others found theirs stored)."""
    return sorted(line.split(":")[0].strip() for line in out.splitlines() if ": trained, " in line)


def test_raising_the_seeds_trains_only_the_new_ones_and_keeps_them_in_the_store(fixture_params, tmp_path, capsys):
    runs = tmp_path / "book" / "mnist-sample" / "runs"
    models = tmp_path / "book" / "mnist-sample" / "models"
    assert fixture_run(tmp_path, fast(fixture_params), "--seeds", "2") == 0
    assert _runs_trained(capsys.readouterr().out) == [f"mnist-sample/model_{m} seed {s}" for m in "abc" for s in (0, 1)]
    assert fixture_run(tmp_path, fixture_params, "--seeds", "3") == 0
    out = capsys.readouterr().out
    assert "executed 3 model(s)" in out and "3 run(s) trained, 6 found stored" in out
    assert _runs_trained(out) == [f"mnist-sample/model_{m} seed 2" for m in "abc"]
    for spec_id in ("model_a", "model_b", "model_c"):
        assert _trained(models / f"{spec_id}.ipynb").strip() == "trained seeds []"  # its seed jobs trained them
        assert sorted(p.name for p in (runs / spec_id).iterdir()) == [f"fixture-{s}.json" for s in range(3)]
    assert fixture_run(tmp_path, fixture_params, "--seeds", "1") == 0
    assert _runs_trained(capsys.readouterr().out) == []
    assert _trained(models / "model_a.ipynb").strip() == "trained seeds []"


def one_open_claim(monkeypatch, needs: int | None = None, model: str = "model_b") -> None:
    """The claims of the fixture's models, which have none, stood in for by one open claim of `model` against itself
    that always goes on to its next look (`needs`: the seeds planned for it, else the last look's)."""
    def claim_verdicts(specs, loaded):
        n = len(loaded.runs[model])
        design = loaded.design
        nxt = next((k for k in design.looks if k > n), None)
        return [SimpleNamespace(claim="a claim", model=model, baseline=model, verdict=stats.UNDECIDED, why_not="",
                                next_seeds=nxt, next_power=0.5, next_level=0.01, needs_for_ours=needs,
                                diff=SimpleNamespace(n_a=n))]

    monkeypatch.setattr(rounds.evidence, "claim_verdicts", claim_verdicts)


def test_a_budget_of_runs_is_spent_round_by_round_and_the_next_command_resumes_the_design(fixture_params, tmp_path,
                                                                                          capsys, monkeypatch):
    one_open_claim(monkeypatch, needs=4)
    models = tmp_path / "book" / "mnist-sample" / "models"
    looks = ["--looks", "3", "4", "5"]
    assert fixture_run(tmp_path, fast(fixture_params), "--budget", "1", *looks) == 0
    out = capsys.readouterr().out
    assert "--budget on MNIST sample (4,000/1,000): round 1, adds 1 run(s) to 1 model(s)" in out
    assert "a claim): adds: undecided at 3 seeds" in out and "--budget: spent; run again with a larger" in out
    design = sequential.read(models)
    assert (design.looks, design.budget, design.unit, design.spent) == ((3, 4, 5), 1, "runs", 1)
    assert [r.seeds["model_b"] for r in design.rounds] == [4]
    # more budget resumes the recorded design where it stopped: one more round, no seed trained twice
    assert fixture_run(tmp_path, fixture_params, "--budget", "5") == 0
    out = capsys.readouterr().out
    assert _runs_trained(out) == ["mnist-sample/model_b seed 4"]
    design = sequential.read(models)
    assert (design.looks, design.budget, [r.seeds["model_b"] for r in design.rounds]) == ((3, 4, 5), 5, [4, 5])
    assert read_model(models / "model_b.json").seeds == [0, 1, 2, 3, 4]
    # a plain build keeps the edition; --looks that differ from the recorded design are refused
    assert fixture_run(tmp_path, fixture_params) == 0
    assert read_model(models / "model_b.json").seeds == [0, 1, 2, 3, 4] and sequential.read(models) == design
    assert fixture_run(tmp_path, fixture_params, "--budget", "5", "--looks", "3", "6") == 2
    assert "records a design with looks 3 4 5 and pocock spending; --looks (3, 6) would change it" in (
        capsys.readouterr().err)
    # asking for plain seeds starts a one-look edition again
    assert fixture_run(tmp_path, fixture_params, "--seeds", "3") == 0
    assert sequential.read(models) is None and read_model(models / "model_b.json").seeds == [0, 1, 2]


def test_a_time_budget_starts_no_run_after_it_is_spent(fixture_params, tmp_path, capsys, monkeypatch):
    params = fast(fixture_params, slow="model_b", seconds=1)
    path = params / "model_b.yaml"
    path.write_text(path.read_text().replace("title:", "notes: every seed\ntitle:"))  # each of its seeds takes 1 s
    one_open_claim(monkeypatch)
    assert fixture_run(tmp_path, params, "--budget", "3s", "-j", "2") == 0
    out = capsys.readouterr().out
    design = sequential.read(tmp_path / "book" / "mnist-sample" / "models")
    trained = sum(r.trained for r in design.rounds)
    assert trained >= 3 and "--budget: spent" in out  # its records say its runs cost nothing: the clock stops it
    assert design.spent <= 3 + 1 + 0.5, design.rounds  # one run per worker may be going when it is spent
    assert trained <= 2 * (3 + 1)


def test_an_interrupted_round_is_recorded_and_the_next_command_trains_no_seed_twice(fixture_params, tmp_path, capsys,
                                                                                     monkeypatch):
    one_open_claim(monkeypatch)
    real = schedule.run

    def interrupted(client, jobs, what, then=None, deadline=None):
        for count, item in enumerate(real(client, jobs, what, then, deadline)):
            yield item
            if what == "round" and count == 1:
                raise KeyboardInterrupt

    monkeypatch.setattr(schedule, "run", interrupted)
    looks = ["--looks", "3", "5", "8"]
    assert fixture_run(tmp_path, fast(fixture_params), "--budget", "20", *looks) == execute.INTERRUPTED
    first = _runs_trained(capsys.readouterr().out)
    design = sequential.read(tmp_path / "book" / "mnist-sample" / "models")
    assert len(design.rounds) == 1 and design.rounds[0].trained == 2
    monkeypatch.setattr(schedule, "run", real)
    assert fixture_run(tmp_path, fixture_params, "--budget", "20") == 0
    again = _runs_trained(capsys.readouterr().out)
    assert not set(first) & set(again)
    design = sequential.read(tmp_path / "book" / "mnist-sample" / "models")
    assert design.looks == (3, 5, 8) and read_model(tmp_path / "book" / "mnist-sample" / "models" / "model_b.json"
                                                    ).seeds == list(range(8))


def test_design_options_are_checked_before_anything_runs(fixture_params, tmp_path, capsys):
    for argv, message in [(["--budget", "soon"], "--budget 'soon': give a training time such as 90m"),
                          (["--budget", "1h", "--looks", "2", "5"], "--looks must increase from at least 3 seeds"),
                          (["--budget", "1h", "--looks", "5", "4"], "--looks must increase"),
                          (["--looks", "3", "5"], "--looks needs --budget"),
                          (["--budget", "1h", "--seeds", "4"], "--seeds 4 with --budget: the first look is")]:
        assert fixture_run(tmp_path, fixture_params, *argv) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "book").exists()


def test_an_interrupted_run_keeps_the_seeds_that_finished(fixture_params, tmp_path):
    params = fast(fixture_params, slow="model_b", seconds=60)  # seed 0 takes a minute, seeds 1 and 2 do not
    command = [sys.executable, "-m", "pipeline.execute", "--pages", str(FIXTURE_PAGES), "--params", str(params),
               "--root", str(tmp_path), "--smoke", "--datasets", "mnist-sample", "-j", "2", "--seeds", "3", "model_b"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_own_temp(tmp_path))
    store = tmp_path / "book" / "mnist-sample" / "runs" / "model_b"
    deadline = time.perf_counter() + 60
    while len(list(store.glob("*.json"))) < 2 and time.perf_counter() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # seeds 1 and 2 are in the store, seed 0 takes a minute
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert sorted(p.name for p in store.iterdir()) == ["fixture-1.json", "fixture-2.json"]
    assert not (tmp_path / "book" / "mnist-sample" / "models" / "model_b.ipynb").exists()


def test_a_second_run_in_the_same_book_is_refused_naming_the_first(fixture_params, tmp_path, capsys):
    with execute._only_run(tmp_path / "book"):
        assert fixture_run(tmp_path, fixture_params) == 2
    err = capsys.readouterr().err
    assert f"another run (process {os.getpid()}) is executing into {tmp_path / 'book'}" in err
    assert "Nothing was run." in err and not (tmp_path / "book" / "mnist-sample").exists()


def test_the_summary_table_prints_seconds_with_one_decimal():
    table = schedule.summary_table([Outcome(name="mnist/model_03", ok=False, seconds=13.94, error="x")],
                                   [Outcome(name="mnist/model_03 seed 0", ok=True, seconds=138.9, stored={"k": "{}"},
                                            for_page="mnist/model_03"),
                                    Outcome(name="mnist/model_03 seed 1", ok=True, seconds=0.2,
                                            for_page="mnist/model_03")])
    assert table.splitlines()[-1].split() == ["mnist/model_03", "FAILED", "—", "—", "—", "1", "138.9", "13.9"]


def test_seed_jobs_start_longest_first_by_the_training_they_still_need(fixture_params, tmp_path):
    book = book_for(tmp_path, fixture_params)
    jobs = {j.spec_id: j for j in jobs_for(book, seeds=[0, 1])}

    def order(models: dict) -> list[str]:
        return [j.name for j in schedule.longest_first(schedule.seed_jobs(list(models.values())))]

    by_estimate = sorted(jobs, key=lambda i: -jobs[i].estimated_cost())
    assert order(jobs) == [f"mnist-sample/{i} seed {s}" for i in by_estimate for s in (0, 1)]
    # recorded: model_a trains 50 s a seed (1 epoch), model_b 5 s (600 epochs); model_c, unrecorded, has model_b's
    # parameters, scaled by what was recorded: 55 s for 601 epochs' worth of cost, so 54.9 s a seed
    for spec_id, seconds in (("model_a", 100.0), ("model_b", 10.0)):
        fake_result(jobs[spec_id].models_dir, spec_id)
        record = read_model(jobs[spec_id].models_dir / f"{spec_id}.json")
        record = record.model_copy(update={"seeds": [0, 1], "seconds": record.seconds.model_copy(
            update={"train": seconds})})
        (jobs[spec_id].models_dir / f"{spec_id}.json").write_text(record.model_dump_json())
    assert [n.split()[0] for n in order(jobs)] == ["mnist-sample/model_c"] * 2 + ["mnist-sample/model_a"] * 2 + [
        "mnist-sample/model_b"] * 2
    # a seed whose run is likely stored only checks that it is: it goes last however long its model trains
    jobs["model_c"].store.mkdir(parents=True)
    (jobs["model_c"].store / "run.json").write_text('{"seed": 1}')
    restocked = {**jobs, "model_c": jobs["model_c"].with_stored_runs()}
    assert order(restocked)[0] == "mnist-sample/model_c seed 0" and order(restocked)[-1] == "mnist-sample/model_c seed 1"


def test_a_local_worker_holds_one_job_at_a_time():
    with schedule.client(2) as client:
        assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION) == 1.0


def test_a_failing_summary_page_does_not_stop_the_others(fixture_params, tmp_path, capsys):
    pages = tmp_path / "pages"
    shutil.copytree(FIXTURE_PAGES.parent, pages)
    intro = pages / "intro.py"
    intro.write_text(intro.read_text() + "\nraise ValueError('intro broke')\n")
    status = execute.main(["--pages", str(pages / "pages.yml"), "--params", str(fast(fixture_params)),
                           "--root", str(tmp_path), "--smoke", "--datasets", "mnist-sample"])
    out, err = capsys.readouterr()
    assert status == 1 and "executed 3 model(s) and 3 page(s), 1 failed" in out
    assert "FAILED: intro: ValueError: intro broke" in err and "intro.failed.ipynb" in err
    book = tmp_path / "book"
    assert (book / "mnist-sample" / "comparison.ipynb").is_file() and (book / "cross_dataset.ipynb").is_file()
    assert (book / "intro.failed.ipynb").is_file() and not (book / "intro.ipynb").exists()


def test_a_run_that_asked_for_mnist_and_got_the_sample_says_so_every_time(fixture_params, tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")
    argv = ["--pages", str(FIXTURE_PAGES), "--params", str(fast(fixture_params)), "--root", str(tmp_path), "--smoke",
            "--datasets", "mnist"]
    for run in ("first", "no-op"):
        assert execute.main(argv) == 0
        out, err = capsys.readouterr()
        assert "WARNING: MNIST was asked for but could not be had, so this run used MNIST sample (4,000/1,000)" in err
        assert f"{tmp_path / 'book' / 'mnist-sample'}" in err and "127.0.0.1:9" in err
    assert "executed 0 model(s) and 0 page(s)" in out
    assert not (tmp_path / "book" / "mnist").exists()
    # the same arrays from another source are the same inputs; the full MNIST, once it can be had, is not
    book, sample = book_for(tmp_path, fixture_params), data.resolve("mnist")
    same = dataclasses.replace(sample, source="another copy of the same arrays")
    assert all(j.is_fresh() for j in jobs_for(book, data=same))
    real = dataclasses.replace(tiny("mnist", seed=5), requested="mnist")
    stale = jobs_for(book, data=real)
    assert {j.models_dir for j in stale} == {tmp_path / "book" / "mnist" / "models"}
    assert not any(j.is_fresh() for j in stale)


def test_with_gpus_there_is_a_worker_per_gpu_and_each_runs_its_kernels_on_its_own(fixture_params, tmp_path, capsys,
                                                                                   monkeypatch):
    monkeypatch.setattr(execute, "backend_gpus", lambda backend: ["Fake GPU A", "Fake GPU B"])
    assert fixture_run(tmp_path, fast(fixture_params)) == 0
    assert "2 GPU(s) seen by tensorflow: Fake GPU A, Fake GPU B; 2 worker(s), each on its own" in capsys.readouterr().out
    seen = set()
    for page in (tmp_path / "book" / "mnist-sample" / "models").glob("*.ipynb"):
        text = "".join(o.get("text", "") for c in nbformat.read(page, as_version=4).cells for o in c.get("outputs", []))
        seen.add(text.split("CUDA_VISIBLE_DEVICES=")[1].split()[0])
    assert seen == {"0", "1"}
    cpu_jobs = jobs_for(book_for(tmp_path, fixture_params), data=data.resolve("mnist-sample"))
    assert not any(j.is_fresh() for j in cpu_jobs)  # the same pages on the CPU are other inputs


def test_data_that_cannot_be_had_stops_the_run_before_anything_is_trained(fixture_params, tmp_path, capsys,
                                                                          monkeypatch):
    def unavailable():
        raise data.DataUnavailable("Fashion-MNIST could not be had: Debian's files are not in /x")

    monkeypatch.setattr(data, "load_fashion_mnist", unavailable)
    status = execute.main(["--pages", str(FIXTURE_PAGES), "--params", str(fixture_params), "--root", str(tmp_path),
                           "--smoke", "--datasets", "fashion-mnist"])
    assert status == 2
    assert "error: Fashion-MNIST could not be had: Debian's files are not in /x\nNothing was run." in capsys.readouterr().err
    assert not (tmp_path / "book").exists()


@pytest.mark.parametrize("argv, message", [
    (["-j", "0"], "-j must be at least 1, got 0"),
    (["-j", "-2"], "-j must be at least 1, got -2"),
    (["--seeds", "0"], "--seeds must be at least 1, got 0"),
    (["model_zz"], "unknown model id(s) model_zz; known: model_a, model_b, model_c"),
    (["--datasets", "cifar"], "argument --dataset/--datasets: invalid choice: 'cifar'"),
    (["--precision", "float8"], "argument --precision: invalid choice: 'float8'"),
    (["-j", "two"], "argument -j/--jobs: invalid int value: 'two'"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler tcp://127.0.0.1:1: cannot connect (Timed out trying to "
                                           "connect to tcp://127.0.0.1:1 after 5 s); check that `dask scheduler`"),
])
def test_every_command_line_value_is_checked_before_anything_runs(fixture_params, tmp_path, capsys, argv, message):
    status = execute.main(["--pages", str(FIXTURE_PAGES), "--params", str(fixture_params), "--root", str(tmp_path),
                           *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.rstrip().endswith("Nothing was run.")
    assert not (tmp_path / "book").exists() and not (tmp_path / "_toc.yml").exists()


def test_kernel_sockets_get_a_short_folder_when_the_scratch_path_is_too_long_for_a_unix_socket(tmp_path):
    short = tmp_path / "s"
    with socket_folder(short) as folder:
        assert folder == short
    deep = tmp_path / ("d" * SOCKET_FOLDER_MAX)
    with socket_folder(deep) as folder:
        assert folder.is_dir() and len(str(folder / "kernel")) <= SOCKET_FOLDER_MAX
    assert not folder.exists()


# --- Ctrl-C and SIGTERM ----------------------------------------------------------------------------------------

def _interrupt(root: Path, params: Path, sig: signal.Signals, after: str) -> tuple[int, str, float, list]:
    """Start an execution in a process group of its own, send `sig` to the whole group once a line containing
    `after` is printed, and return its exit status, its error output, how long it took to stop, and the
    processes of the group still alive then."""
    # three workers: every page starts at once (with two, the longest go first and model_a would wait for them)
    command = [sys.executable, "-m", "pipeline.execute", "--pages", str(FIXTURE_PAGES), "--params", str(params),
               "--root", str(root), "--smoke", "--datasets", "mnist-sample", "-j", "3"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_own_temp(root))
    for line in proc.stdout:
        if after in line:
            break
    group = psutil.Process(proc.pid).children(recursive=True)
    sent = time.perf_counter()
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    stopped = time.perf_counter() - sent
    _, alive = psutil.wait_procs(group, timeout=5)  # multiprocessing's resource tracker ends just after its parent
    return proc.returncode, err, stopped, [name for p in alive if (name := _command(p))]


def _own_temp(root: Path) -> dict[str, str]:
    """The environment with a temporary folder of the test's own, so that what a run leaves there is its own."""
    (root / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(root / "tmp")}


def _command(process: psutil.Process) -> str | None:
    """A live process's command line, or None once it is gone."""
    try:
        return " ".join(process.cmdline()) if process.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


def test_ctrl_c_and_sigterm_stop_within_seconds_keep_what_finished_and_the_next_run_resumes(fixture_params, tmp_path,
                                                                                              capsys, monkeypatch):
    models = tmp_path / "book" / "mnist-sample" / "models"
    # Ctrl-C (SIGINT to the process group, as a terminal sends it) while model_b and model_c run for a minute
    status, err, stopped, alive = _interrupt(tmp_path, fixture_params, signal.SIGINT, after="mnist-sample/model_a:")
    assert (status, alive) == (130, []) and stopped < 20, (status, stopped, alive, err[-3000:])
    assert "INTERRUPTED by SIGINT: 2 job(s) finished and kept (mnist-sample/model_a seed 0, mnist-sample/model_a); " \
           "not finished: mnist-sample/model_b, mnist-sample/model_c" in err
    assert sorted(p.name for p in models.iterdir()) == ["model_a", "model_a.ipynb", "model_a.json"]
    assert not list(tmp_path.rglob("*.part*")) and not list(tmp_path.rglob(".*.tmp"))
    # SIGTERM (what kill, CI runners and container stops send) once model_b has finished in the resumed run
    (fixture_params / "model_b.yaml").write_text((fixture_params / "model_b.yaml").read_text()
                                                 .replace("epochs: 600", "epochs: 1"))
    status, err, stopped, alive = _interrupt(tmp_path, fixture_params, signal.SIGTERM, after="mnist-sample/model_b:")
    assert (status, alive) == (130, []) and stopped < 20, (status, stopped, alive, err[-3000:])
    assert "INTERRUPTED by SIGTERM: 2 job(s) finished and kept (mnist-sample/model_b seed 0, mnist-sample/model_b); " \
           "not finished: mnist-sample/model_c" in err
    assert (models / "model_b.ipynb").is_file() and not (models / "model_c.ipynb").exists()
    # the next run does only what is left
    (fixture_params / "model_c.yaml").write_text((fixture_params / "model_c.yaml").read_text()
                                                 .replace("epochs: 600", "epochs: 1"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # this process's temporary folder, too
    assert fixture_run(tmp_path, fixture_params, "-j", "2") == 0
    out = capsys.readouterr().out
    assert "up to date, skipped: mnist-sample/model_a, mnist-sample/model_b" in out
    assert "executed 1 model(s) and 3 page(s), 0 failed" in out
    assert (tmp_path / "book" / "intro.ipynb").is_file()
    assert not list((tmp_path / "tmp").iterdir()), "a run left something in its temporary folder"
