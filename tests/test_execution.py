"""Incremental, parallel and fault-tolerant execution (study.execute, study.schedule, study.staleness)."""

import dataclasses
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import FASHION_INSTALLED
from study import data, execute, results, schedule, staleness
from study.spec import PARAMS_DIR, load_specs

REPO = Path(__file__).resolve().parent.parent


def tiny(name: str = "mnist-sample", seed: int = 0) -> data.Dataset:
    """A stand-in for resolved data: only its name and arrays' hash reach the jobs."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4)
    return data.Dataset(name, "test arrays", x, y, x, y)


def jobs_for(params: Path, book: Path, **options):
    specs = load_specs(params)
    defaults = dict(data=tiny(), seeds=[0], smoke=True, threads=1)
    return execute.model_jobs(specs, list(specs), book, params, **{**defaults, **options})


def mark_executed(job):
    """What a successful run leaves: the notebook with its inputs hash, and the model's result file."""
    job.notebook.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(metadata={"study": {"inputs_hash": job.inputs_hash}})
    nbformat.write(nb, job.notebook)
    (job.models_dir / f"{job.spec_id}.json").write_text("{}")


@pytest.fixture
def params(tmp_path):
    folder = tmp_path / "params"
    folder.mkdir()
    for name in ("model_01", "model_02", "model_03"):
        shutil.copy(PARAMS_DIR / f"{name}.yaml", folder)
    return folder


def test_editing_a_parameter_file_makes_only_that_run_stale(params, tmp_path):
    models = tmp_path / "book"
    for job in jobs_for(params, models):
        mark_executed(job)
    assert all(execute.is_fresh(j) for j in jobs_for(params, models))
    path = params / "model_02.yaml"
    path.write_text(path.read_text().replace("epochs: 10", "epochs: 9"))
    assert [j.spec_id for j in jobs_for(params, models) if not execute.is_fresh(j)] == ["model_02"]


def test_editing_study_or_run_options_makes_every_run_stale(params, tmp_path, monkeypatch):
    models = tmp_path / "book"
    for job in jobs_for(params, models):
        mark_executed(job)
    assert not any(execute.is_fresh(j) for j in jobs_for(params, models, seeds=[0, 1]))
    assert not any(execute.is_fresh(j) for j in jobs_for(params, models, data=tiny(seed=1)))
    assert not any(execute.is_fresh(j) for j in jobs_for(params, models, precision="mixed_bfloat16"))
    copy = tmp_path / "study"
    shutil.copytree(REPO / "study", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(staleness, "STUDY", copy)
    assert all(execute.is_fresh(j) for j in jobs_for(params, models))
    (copy / "metrics.py").write_text((copy / "metrics.py").read_text() + "\n# changed\n")
    assert not any(execute.is_fresh(j) for j in jobs_for(params, models))


def test_a_missing_result_file_is_stale(params, tmp_path):
    models = tmp_path / "book"
    job = jobs_for(params, models)[0]
    mark_executed(job)
    (job.models_dir / f"{job.spec_id}.json").unlink()
    assert not execute.is_fresh(job)


def test_a_summary_page_hash_follows_results_not_where_the_checkout_lies(params, tmp_path):
    def page_hash(root):
        models = [root / "book" / d / "models" for d in ("mnist-sample", "fashion-mnist")]
        return staleness.page_hash(execute.NOTEBOOKS / "comparison.py", params, models, "code")

    for d in ("mnist-sample", "fashion-mnist"):
        folder = tmp_path / "a" / "book" / d / "models"
        folder.mkdir(parents=True)
        (folder / "model_01.json").write_text(f'{{"dataset": "{d}"}}')
    before = page_hash(tmp_path / "a")
    shutil.move(tmp_path / "a", tmp_path / "moved")
    assert page_hash(tmp_path / "moved") == before
    (tmp_path / "moved" / "book" / "fashion-mnist" / "models" / "model_01.json").write_text('{"dataset": "changed"}')
    assert page_hash(tmp_path / "moved") != before


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "model_01.json"
    results.write_json(target, {"good": 1})
    with pytest.raises(TypeError):
        results.write_json(target, {"good": 2, "unserialisable": object()})
    assert json.loads(target.read_text()) == {"good": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["model_01.json"]


def broken(job):
    """The same job, made to raise inside the notebook (after its parameters cell) by asking for unknown data."""
    return dataclasses.replace(job, dataset="no-such-data")


def test_local_dask_cluster_runs_jobs_and_survives_a_failing_one(params, tmp_path):
    first, second, third = jobs_for(params, tmp_path / "book", data=data.resolve("mnist-sample"))
    models = first.models_dir
    execute.kernel_env()
    with schedule.client(workers=2) as client:
        outcomes = schedule.run_all(client, [first, second, broken(third)])
    status = {o["id"]: o["ok"] for o in outcomes}
    assert status == {"mnist-sample/model_01": True, "mnist-sample/model_02": True, "no-such-data/model_03": False}
    assert (models / "model_01.ipynb").is_file() and (models / "model_02.json").is_file()
    failed = nbformat.read(models / "model_03.failed.ipynb", as_version=4)
    assert failed.cells[0].source.startswith("# Failed: ")
    assert any(o.output_type == "error" for c in failed.cells for o in c.get("outputs", []))
    assert not (models / "model_03.ipynb").exists() and not (models / "model_03.json").exists()
    assert not list(models.glob("*.part.ipynb"))
    assert "unknown dataset 'no-such-data'" in next(o["error"] for o in outcomes if not o["ok"])
    assert "FAILED" in schedule.summary_table(outcomes)


def test_a_failed_rerun_keeps_the_good_earlier_notebook(tmp_path):
    template = tmp_path / "raises.py"
    template.write_text("# %% [markdown]\n# # Page\n\n# %% tags=['parameters']\nx = 1\n\n# %%\nraise ValueError('boom')\n")
    output = tmp_path / "page.ipynb"
    output.write_text("good earlier result")
    execute.kernel_env()
    with pytest.raises(execute.NotebookFailed, match="boom") as err:
        execute.run_notebook(template, output, {"x": 2}, inputs_hash="h")
    assert output.read_text() == "good earlier result"
    assert err.value.kept == tmp_path / "page.failed.ipynb" and err.value.kept.is_file()
    assert not (tmp_path / "page.part.ipynb").exists()


def test_execute_exits_non_zero_and_names_the_failure(params, tmp_path, capsys, monkeypatch):
    make_jobs = execute.model_jobs
    monkeypatch.setattr(execute, "model_jobs", lambda *a, **k: [broken(j) for j in make_jobs(*a, **k)])
    status = execute.main(["model_03", "--params", str(params), "--root", str(tmp_path), "--smoke",
                           "--dataset", "mnist-sample", "-j", "1"])
    assert status == 1
    assert "FAILED: no-such-data/model_03" in capsys.readouterr().err


def test_a_failing_summary_page_does_not_stop_the_others(params, tmp_path, capsys, monkeypatch):
    for job in jobs_for(params, tmp_path / "book", data=data.resolve("mnist-sample")):
        mark_executed(job)  # nothing to train: only the summary pages are out of date
    templates = tmp_path / "templates"
    templates.mkdir()
    page = "# %% [markdown]\n# # Page\n\n# %% tags=['parameters']\nparams_dir = results_dirs = None\n\n# %%\n"
    (templates / "intro.py").write_text(page + "raise ValueError('intro broke')\n")
    for name in ("comparison", "cross_dataset"):
        (templates / f"{name}.py").write_text(page + "print('fine')\n")
    monkeypatch.setattr(execute, "NOTEBOOKS", templates)
    status = execute.main(["--params", str(params), "--root", str(tmp_path), "--smoke", "--dataset", "mnist-sample"])
    assert status == 1
    out, err = capsys.readouterr()
    assert "executed 0 model(s) and 3 page(s), 1 failed" in out
    assert "FAILED: intro: ValueError: intro broke" in err and "intro.failed.ipynb" in err
    book = tmp_path / "book"
    assert (book / "mnist-sample" / "comparison.ipynb").is_file() and (book / "cross_dataset.ipynb").is_file()
    assert (book / "intro.failed.ipynb").is_file() and not (book / "intro.ipynb").exists()


@pytest.mark.skipif(not FASHION_INSTALLED,
                    reason="Debian's dataset-fashion-mnist is not installed (`nox -s tests` installs it as root)")
def test_fashion_mnist_pages_name_the_classes(tmp_path):
    job = execute.model_jobs(load_specs(), ["model_03"], tmp_path / "book", PARAMS_DIR,
                             data=data.resolve("fashion-mnist"), seeds=[0], smoke=True, threads=0)[0]
    execute.kernel_env()
    record = execute.run_model(job)
    assert record["dataset"]["name"] == "fashion-mnist" and record["dataset"]["class_names"][0] == "T-shirt/top"
    page = job.notebook.read_text()
    for name in ("T-shirt/top", "Trouser", "Ankle boot"):
        assert name in page  # per-class table (the heatmap and the image grid are pictures)
    assert "seed reported (MNIST, digit 1)" in page and "reproduced on Fashion-MNIST" in page
    assert "F1, Trouser as positive class" in page and "the seed ran on MNIST" in page


def trivial_pages(tmp_path, monkeypatch) -> None:
    """Summary-page templates that run in milliseconds, so a test of the command line trains and renders nothing."""
    templates = tmp_path / "templates"
    templates.mkdir()
    page = "# %% [markdown]\n# # Page\n\n# %% tags=['parameters']\nparams_dir = results_dirs = not_compared = None\n"
    for name in ("intro", "comparison", "cross_dataset"):
        (templates / f"{name}.py").write_text(page + "\n# %%\nprint('fine')\n")
    monkeypatch.setattr(execute, "NOTEBOOKS", templates)


def test_a_run_that_asked_for_mnist_and_got_the_sample_says_so_every_time(params, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(data, "MNIST_ORIGIN", "http://127.0.0.1:9/unreachable/mnist.npz")
    sample = data.resolve("mnist")
    assert (sample.name, sample.requested) == ("mnist-sample", "mnist")
    for job in jobs_for(params, tmp_path / "book", data=sample):
        mark_executed(job)  # as a first run on the sample left them
    trivial_pages(tmp_path, monkeypatch)
    argv = ["--params", str(params), "--root", str(tmp_path), "--smoke", "--datasets", "mnist"]
    for run in ("pages rerun", "no-op"):
        assert execute.main(argv) == 0
        out, err = capsys.readouterr()
        assert "up to date, skipped: mnist-sample/model_01, mnist-sample/model_02, mnist-sample/model_03" in out
        assert "WARNING: MNIST was asked for but could not be had, so this run used MNIST sample (4,000/1,000)" in err
        assert f"{tmp_path / 'book' / 'mnist-sample'}" in err and "127.0.0.1:9" in err
    assert "executed 0 model(s) and 0 page(s)" in out
    assert not (tmp_path / "book" / "mnist").exists()
    # the same arrays from another source are the same inputs; the real MNIST, once it can be had, is not
    same = dataclasses.replace(sample, source="another copy of the same arrays")
    assert all(execute.is_fresh(j) for j in jobs_for(params, tmp_path / "book", data=same))
    real = dataclasses.replace(tiny("mnist", seed=5), requested="mnist")
    stale = jobs_for(params, tmp_path / "book", data=real)
    assert {j.models_dir for j in stale} == {tmp_path / "book" / "mnist" / "models"}
    assert not any(execute.is_fresh(j) for j in stale)


def test_data_that_cannot_be_had_stops_the_run_before_anything_is_trained(params, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(data, "load_fashion_mnist", lambda: (_ for _ in ()).throw(
        data.DataUnavailable("Fashion-MNIST could not be had: Debian's files are not in /x")))
    status = execute.main(["--params", str(params), "--root", str(tmp_path), "--smoke", "--datasets", "fashion-mnist"])
    assert status == 2
    assert "error: Fashion-MNIST could not be had: Debian's files are not in /x\nNothing was run." in capsys.readouterr().err
    assert not (tmp_path / "book").exists()


def test_the_cross_dataset_page_compares_mnist_or_its_stand_in_with_fashion_mnist():
    assert execute.compared_datasets(["mnist-sample", "fashion-mnist"]) == ["mnist-sample", "fashion-mnist"]
    assert execute.compared_datasets(["mnist", "mnist-sample", "fashion-mnist"]) == ["mnist", "fashion-mnist"]
    assert execute.compared_datasets(["fashion-mnist"]) == ["fashion-mnist"]


def test_the_cross_dataset_page_names_what_it_leaves_out(params, tmp_path):
    for d in ("mnist", "mnist-sample", "fashion-mnist"):
        (tmp_path / "book" / d / "models").mkdir(parents=True)
        (tmp_path / "book" / d / "models" / "model_01.json").write_text("{}")
    cross = next(j for j in execute.page_jobs(tmp_path, params, force=True) if j.name == "cross_dataset")
    assert [Path(d).parent.name for d in cross.parameters["results_dirs"]] == ["mnist", "fashion-mnist"]
    assert cross.parameters["not_compared"] == ["MNIST sample (4,000/1,000)"]
