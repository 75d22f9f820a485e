"""The real templates: a smoke execution of every notebook, and the book built from it with warnings as errors; and
the kernels they run in, shut down without the interrupt that made a good run log an error."""

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from jupyter_client import AsyncKernelManager

from conftest import FASHION_INSTALLED, SEED_TOTALS, SMOKE_DATASETS, fast, fixture_run
from pipeline.kernel import NoInterruptOnShutdown, ensure_kernel
from study import results
from study.data import LABELS
from study.spec import load_specs

REPO = Path(__file__).resolve().parent.parent


def test_every_template_has_exactly_one_parameters_cell():
    for name in ("model", "intro", "comparison", "cross_dataset"):
        nb = jupytext.read(REPO / "notebooks" / f"{name}.py")
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name


def test_smoke_run_writes_a_notebook_and_typed_records_per_model(smoke_root):
    models = smoke_root / "book" / "mnist-sample" / "models"
    for spec in load_specs().values():
        record = results.read_model(models / f"{spec.id}.json")
        assert record.param_count == SEED_TOTALS[spec.id] and record.spec == spec
        assert record.seeds == [0] and record.runs == [f"{spec.id}/seed_0.json"]
        assert record.dataset.name == "mnist-sample" and record.dataset.label == LABELS["mnist-sample"]
        assert len(record.test_labels) == record.dataset.n_test == 300
        (run,) = results.read_runs(models, record)
        assert run.seed == 0 and run.id == spec.id
        assert set(run.history) >= {"accuracy", "loss", "val_accuracy", "val_loss"}
        assert len(run.history["accuracy"]) == 1
        assert run.test.positive_class.name == record.positive_class == "digit 1"
        assert run.test.positive_class.label == 1
        assert sum(map(sum, run.test.confusion_matrix)) == len(run.test.predictions) == 300
        assert record.summary.accuracy.mean == run.test.accuracy
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


def test_the_toc_is_derived_from_the_declared_pages(smoke_root, smoke_book):
    toc = yaml.safe_load((smoke_root / "_toc.yml").read_text())
    assert toc == smoke_book.toc() and toc["root"] == "book/intro"
    assert [p["caption"] for p in toc["parts"]] == [LABELS[d] for d in SMOKE_DATASETS] + ["Across datasets",
                                                                                     "About this book"]
    for part, dataset in zip(toc["parts"], SMOKE_DATASETS):
        assert part["chapters"] == [{"file": f"book/{dataset}/models/{i}"} for i in load_specs()] + \
            [{"file": f"book/{dataset}/comparison"}]


@pytest.mark.skipif(not FASHION_INSTALLED, reason="Debian's dataset-fashion-mnist is not installed: the smoke book "
                    "has no Fashion-MNIST pages (as root, `nox -s tests` installs it)")
def test_fashion_mnist_pages_name_its_classes_and_judge_no_seed_figure(smoke_root, built_book):
    page = (smoke_root / "_build" / "html" / "book" / "fashion-mnist" / "models" / "model_03.html").read_text()
    for text in ("T-shirt/top", "Ankle boot", "seed reported (MNIST, digit 1)", "reproduced on Fashion-MNIST",
                 "F1, Trouser as positive class", "the seed ran on MNIST"):
        assert text in page, text


def signals_at_shutdown(manager_class: type[AsyncKernelManager]) -> list[int]:
    """The signals a kernel manager of `manager_class` sends a started, idle kernel while shutting it down."""
    async def start_and_shut_down() -> list[int]:
        manager = manager_class(kernel_name=ensure_kernel())
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        client.stop_channels()
        sent, send = [], manager.provisioner.send_signal

        async def spy(signum: int) -> None:
            sent.append(signum)
            await send(signum)

        manager.provisioner.send_signal = spy
        await manager.shutdown_kernel()
        assert not await manager.is_alive()
        return sent

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever loop an earlier test left in this thread
        return pool.submit(asyncio.run, start_and_shut_down()).result()


def test_a_kernel_is_shut_down_without_being_interrupted_first():
    # jupyter_client's manager sends SIGINT before the shutdown request; papermill shuts the kernel down the moment
    # its last reply arrives, so the SIGINT could land in that request's handler: "ERROR | KeyboardInterrupt caught
    # in kernel." in a good run (3.5 % of kernels, 7 of 200, on the 2-core development machine)
    assert signal.SIGINT in signals_at_shutdown(AsyncKernelManager)
    assert signal.SIGINT not in signals_at_shutdown(NoInterruptOnShutdown)


def test_a_good_run_prints_no_error_line(fixture_params, tmp_path, capfd):
    assert fixture_run(tmp_path, fast(fixture_params)) == 0
    out, err = capfd.readouterr()  # file descriptors: the workers' and the kernels' output too
    assert "executed 3 model(s) and 3 page(s), 0 failed" in out
    assert not [line for line in (out + err).splitlines() if "ERROR" in line], err
