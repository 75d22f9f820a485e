"""The model template opened in JupyterLab: with its parameters cell as it stands, it trains with the threads the
book's runs were trained with, so that the runs the book's store holds are reused rather than trained again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURE_PAGES, REPO, smoke_model_job
from pipeline.kernel import kernel_env
from pipeline.runner import run_notebook
from study import lab

# the fixture's model record: model_a, smoke, float32, trained on TensorFlow with 1 thread per op
RECORD = json.loads((FIXTURE_PAGES.parent / "record.json").read_text())


def book_with_record(root: Path, **hardware: object) -> Path:
    """A book whose mnist-sample models folder holds the fixture's record of model_a, its hardware changed by
    `hardware`; the run store's folder beside it."""
    models = root / "book" / "mnist-sample" / "models"
    models.mkdir(parents=True)
    (models / "model_a.json").write_text(json.dumps({**RECORD, "hardware": {**RECORD["hardware"], **hardware}}))
    return models.parent / "runs"


def test_threads_given_are_kept_and_none_takes_those_of_the_books_record(tmp_path, capsys):
    runs = book_with_record(tmp_path)
    options = dict(backend="tensorflow", smoke=True, precision="float32")
    assert lab.threads(0, "model_a", runs, **options) == 0 and lab.threads(2, "model_a", runs, **options) == 2
    assert capsys.readouterr().out == ""  # a page the build runs is given its threads, and says nothing
    assert lab.threads(None, "model_a", runs, **options) == 1
    out = capsys.readouterr().out
    assert "threads = None: training with 1 thread(s) per op, as the book's runs of model_a were" in out
    assert "set threads = 0 for the backend's default (every core)" in out and "would train again" in out


def test_threads_none_is_the_backends_default_where_the_book_has_no_record_made_the_same_way(tmp_path, capsys):
    runs = book_with_record(tmp_path)
    options = dict(backend="tensorflow", smoke=True, precision="float32")
    assert lab.threads(None, "model_b", runs, **options) == 0  # no record of it
    assert "the backend's default threads (every core), as no record of model_b" in capsys.readouterr().out
    for other in ({"backend": "jax"}, {"smoke": False}, {"precision": "mixed_bfloat16"}):
        assert lab.threads(None, "model_a", runs, **{**options, **other}) == 0, other
    assert lab.threads(None, "model_a", book_with_record(tmp_path / "all-cores", threads=None), **options) == 0
    (runs.parent / "models" / "model_a.json").write_text("{cut short")
    assert lab.threads(None, "model_a", runs, **options) == 0


def test_the_run_store_is_the_books_unless_a_job_names_its_own():
    assert lab.runs_root(None, "mnist") == Path("../book/mnist/runs")
    assert lab.runs_root("runs", "mnist") == Path("runs")


def test_the_template_opened_as_in_lab_reuses_the_run_a_build_stored_instead_of_training(tmp_path):
    # a build's page job: its worker trains with one thread per op, and the run and the record land in the book
    job = smoke_model_job(tmp_path, "model_05", threads=1)
    outcome = job.run()
    assert outcome.ok, outcome.error
    job.publish(outcome)
    store = tmp_path / "book" / "mnist-sample" / "runs" / "model_05"
    stored = sorted(store.glob("*.json"))
    assert len(stored) == 1
    # JupyterLab runs the template in notebooks/, its parameters cell as it stands but for the model and the smoke
    # sample the book was built with: threads, runs_dir and results_dir are the template's own
    notebooks = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks" / "params", notebooks / "params")
    kernel_env()
    nb = run_notebook(REPO / "notebooks" / "model.py", {"spec_path": "params/model_05.yaml", "dataset": "mnist-sample",
                                                        "smoke": True, "seeds": [0]}, notebooks)
    out = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert "threads = None: training with 1 thread(s) per op, as the book's runs of model_05 were" in out
    assert "seed 0: stored run reused" in out and "0 run(s) trained, 1 reused from the store" in out
    assert sorted(store.glob("*.json")) == stored
