"""The template, a smoke execution of every notebook, and the book built from it with warnings as errors."""

import json
from pathlib import Path

import jupytext
import nbformat
import yaml

from conftest import SEED_TOTALS, SMOKE_DATASETS
from study import execute
from study.data import LABELS
from study.spec import load_specs
from study.toc import write_toc

REPO = Path(__file__).resolve().parent.parent
MODEL_FIELDS = {"id", "param_count", "seeds", "runs", "summary", "dataset", "versions", "hardware", "seconds"}
RUN_FIELDS = {"id", "seed", "history", "test", "seconds"}


def test_template_has_exactly_one_parameters_cell():
    for name in ("model", "intro", "comparison", "cross_dataset"):
        nb = jupytext.read(REPO / "notebooks" / f"{name}.py")
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name


def test_one_template_serves_every_model():
    assert sorted(p.name for p in (REPO / "notebooks").glob("*.py")) == ["comparison.py", "cross_dataset.py", "intro.py",
                                                                         "model.py"]


def test_smoke_run_writes_a_notebook_and_results_per_model(smoke_root):
    models = smoke_root / "book" / "mnist-sample" / "models"
    for spec in load_specs().values():
        record = json.loads((models / f"{spec.id}.json").read_text())
        assert MODEL_FIELDS <= set(record)
        assert record["param_count"] == SEED_TOTALS[spec.id]
        assert record["seeds"] == [0] and record["runs"] == [f"{spec.id}/seed_0.json"]
        assert set(record["dataset"]) >= {"name", "source", "n_train", "n_test", "sha256"}
        assert record["dataset"]["name"] == "mnist-sample" and record["dataset"]["label"] == LABELS["mnist-sample"]
        assert set(record["seconds"]) == {"train", "total"}
        assert len(record["test_labels"]) == record["dataset"]["n_test"] == 300
        run = json.loads((models / record["runs"][0]).read_text())
        assert RUN_FIELDS <= set(run) and run["seed"] == 0
        assert set(run["history"]) >= {"accuracy", "loss", "val_accuracy", "val_loss"}
        assert len(run["history"]["accuracy"]) == 1
        test = run["test"]
        assert set(test) >= {"accuracy", "macro", "positive_class", "per_class", "confusion_matrix", "predictions"}
        assert set(test["macro"]) == {"precision", "recall", "f1"}
        assert set(test["positive_class"]) == {"class", "name", "precision", "recall", "f1"}
        assert test["positive_class"]["name"] == record["positive_class"] == "digit 1"
        assert sum(map(sum, test["confusion_matrix"])) == len(test["predictions"]) == 300
        assert record["summary"]["accuracy"]["mean"] == test["accuracy"]
        nb = nbformat.read(models / f"{spec.id}.ipynb", as_version=4)
        assert nb.cells[0].source.startswith(f"# {spec.title}")


def test_executed_pages_have_no_errors_or_stderr(smoke_root):
    for path in sorted((smoke_root / "book").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.output_type != "error", path
                assert not (out.output_type == "stream" and out.name == "stderr"), (path, out.text)


def test_training_logs_one_line_per_epoch(smoke_root):
    nb = nbformat.read(smoke_root / "book" / "mnist-sample" / "models" / "model_01.ipynb", as_version=4)
    logs = [o.text for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    epoch_lines = [line for text in logs for line in text.splitlines() if line.startswith("epoch ")]
    assert any(line.startswith("seed 0") for text in logs for line in text.splitlines())
    assert len(epoch_lines) == 1 and "val_accuracy" in epoch_lines[0]


def test_book_builds_with_warnings_as_errors(smoke_root, built_book):
    assert built_book.returncode == 0, built_book.stdout[-3000:] + built_book.stderr[-3000:]
    html = smoke_root / "_build" / "html"
    for dataset in SMOKE_DATASETS:
        for spec in load_specs().values():
            page = (html / "book" / dataset / "models" / f"{spec.id}.html").read_text()
            assert spec.title.split(":")[0] in page
    intro = (html / "book" / "intro.html").read_text()
    assert all(spec_id in intro for spec_id in load_specs())
    assert LABELS["mnist-sample"] in intro
    cross = (html / "book" / "cross_dataset.html").read_text()
    if len(SMOKE_DATASETS) > 1:
        assert "Spearman" in cross and "Kendall" in cross and "holds on" in cross
        fashion = (html / "book" / "fashion-mnist" / "models" / "model_01.html").read_text()
        assert "T-shirt/top" in fashion and "Ankle boot" in fashion
    comparison = (html / "book" / "mnist-sample" / "comparison.html").read_text()
    assert "claims and the evidence" in comparison
    for spec in load_specs().values():
        if spec.seed_claim:
            assert f"{spec.id} vs {spec.compare_with}" in comparison


def test_generated_toc_has_every_dataset_and_model(smoke_root):
    toc = yaml.safe_load((smoke_root / "_toc.yml").read_text())
    assert toc["root"] == "book/intro"
    parts = {p["caption"]: p["chapters"] for p in toc["parts"]}
    assert [p["caption"] for p in toc["parts"]] == [LABELS[d] for d in SMOKE_DATASETS] + ["Across datasets"]
    for dataset in SMOKE_DATASETS:
        chapters = parts[LABELS[dataset]]
        assert {"glob": f"book/{dataset}/models/*"} in chapters and {"file": f"book/{dataset}/comparison"} in chapters
        for spec_id in load_specs():  # every (dataset, model) pair is matched by its part's glob
            assert (smoke_root / "book" / dataset / "models" / f"{spec_id}.ipynb").is_file()


def test_toc_is_generated_from_what_was_executed(tmp_path):
    for dataset in ("fashion-mnist", "mnist"):
        (tmp_path / "book" / dataset / "models").mkdir(parents=True)
        (tmp_path / "book" / dataset / "models" / "model_01.json").write_text("{}")
        (tmp_path / "book" / dataset / "comparison.ipynb").write_text("{}")
    (tmp_path / "book" / "cross_dataset.ipynb").write_text("{}")
    toc = yaml.safe_load(write_toc(tmp_path).read_text())
    assert [p["caption"] for p in toc["parts"]] == ["MNIST", "Fashion-MNIST", "Across datasets"]
    assert toc["parts"][1]["chapters"] == [{"glob": "book/fashion-mnist/models/*"},
                                           {"file": "book/fashion-mnist/comparison"}]


def test_invalid_parameter_file_stops_everything_before_training(tmp_path, capsys):
    params = tmp_path / "params"
    params.mkdir()
    (params / "model_x.yaml").write_text("title: x\n")
    status = execute.main(["--params", str(params), "--root", str(tmp_path), "--smoke"])
    assert status == 2
    assert "model_x.yaml" in capsys.readouterr().err
    assert not (tmp_path / "book").exists()
