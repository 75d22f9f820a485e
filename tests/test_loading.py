"""A dataset's results read once, and every run checked against the test set it claims when it is read."""

import io
import json
from collections import Counter
from pathlib import Path

import jupytext
import pytest

from conftest import REPO, smoke_model_job
from study import loading, results


def _cut(path: Path, keep: int = 10) -> None:
    """Cut a run file's predictions to `keep` entries: valid JSON, every field present."""
    run = json.loads(path.read_text())
    run["test"]["predictions"] = run["test"]["predictions"][:keep]
    path.write_text(json.dumps(run))


def test_a_run_cut_short_in_the_store_is_named_set_aside_and_trained_again(tmp_path, capsys):
    from pipeline import jobs, schedule

    def seed_job() -> jobs.SeedJob:
        (seed,) = smoke_model_job(tmp_path, "model_05", threads=1).seed_jobs(seconds=1.0)
        return seed

    with schedule.client(1) as client:  # a worker process, as a build runs it
        first = seed_job()
        first.publish(client.submit(jobs.run_job, first, pure=False).result())
        (stored,) = first.store.glob("*.json")
        good = stored.read_text()
        _cut(stored)
        again = seed_job()  # ships the cut run, as the next command would
        outcome = client.submit(jobs.run_job, again, pure=False).result()
    assert outcome.ok and outcome.set_aside == [stored.name] and list(outcome.stored) == [stored.name]
    again.publish(outcome)
    out = capsys.readouterr().out
    assert (f"damaged run {stored} set aside as {stored.name}.damaged: mnist-sample/model_05 seed 0 trained it "
            "again") in out
    assert len(json.loads(stored.with_name(stored.name + ".damaged").read_text())["test"]["predictions"]) == 10
    retrained, original = (results.RunRecord.model_validate_json(t) for t in (stored.read_text(), good))
    assert retrained.model_dump(exclude={"seconds"}) == original.model_dump(exclude={"seconds"})


def test_a_stored_run_that_does_not_fit_its_test_set_is_set_aside_with_the_reason(tmp_path, capsys):
    run = results.RunRecord.model_validate_json((REPO / "tests" / "fixtures" / "pages" / "run.json").read_bytes())
    labels = list(run.test.predictions)
    path = tmp_path / "key.json"
    path.write_text(run.model_dump_json())
    assert loading.reusable(path, labels) is not None and loading.run_problem(run, labels) is None
    assert loading.run_problem(run, labels + [0]) == (f"{len(labels):,} predictions for a test set of "
                                                      f"{len(labels) + 1:,} images")
    wrong = run.model_copy(update={"test": run.test.model_copy(update={"accuracy": 0.5})})
    path.write_text(wrong.model_dump_json())
    assert loading.reusable(path, labels) is None and not path.exists()
    assert "key.json: it states test accuracy 0.500000, its predictions give" in capsys.readouterr().out
    assert (tmp_path / "key.json.damaged").is_file()
    assert loading.reusable(tmp_path / "none.json", labels) is None


def test_a_model_whose_run_does_not_fit_its_test_set_is_named_as_damaged(smoke_root, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(smoke_root / "book" / "mnist-sample" / "models", models)
    assert loading.damage(models, "model_05") is None
    _cut(models / "model_05" / "seed_0.json")
    assert loading.damage(models, "model_05") == (f"{models / 'model_05' / 'seed_0.json'}: 10 predictions for a "
                                                  "test set of 300 images")
    with pytest.raises(loading.DamagedRun, match="model_05/seed_0.json: 10 predictions"):
        loading.load(models)


def test_a_conclusions_page_reads_each_run_file_once(smoke_root, monkeypatch):
    """The conclusions template's code, run cell by cell as its kernel would, counting the files it opens."""
    models = smoke_root / "book" / "mnist-sample" / "models"
    opened = Counter()
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        opened[Path(file).resolve()] += 1
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    import matplotlib
    matplotlib.use("Agg")
    code = [c.source for c in jupytext.read(REPO / "notebooks" / "comparison.py").cells if c.cell_type == "code"]
    namespace = {"params_dir": str(REPO / "notebooks" / "params"), "results_dir": str(models)}
    monkeypatch.setattr(io, "open", counting_open)
    for source in code[1:]:  # the parameters cell is given above
        exec(compile(source, "comparison.py", "exec"), namespace)
    monkeypatch.setattr(io, "open", real_open)
    runs = sorted(models.glob("model_*/seed_*.json"))
    assert len(runs) == 10 and len(namespace["verdicts"]) > 0
    assert {str(p.relative_to(models)): opened[p.resolve()] for p in runs} == \
        {str(p.relative_to(models)): 1 for p in runs}
    assert all(opened[p.resolve()] == 1 for p in models.glob("model_*.json"))
