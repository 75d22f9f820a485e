"""Shared fixtures: one smoke execution of every real notebook into a throw-away book project, and the tiny
fixture pages (tests/fixtures) that the pipeline's own tests run in a second or two."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import execute
from pipeline.jobs import ModelJob, model_jobs
from pipeline.pages import Book, load_manifest
from study.data import FASHION_DEBIAN_DIR, FASHION_FILES, resolve
from study.spec import load_specs

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_PAGES = FIXTURES / "pages" / "pages.yml"
FIXTURE_PARAMS = FIXTURES / "params"
# the smoke book: the offline MNIST sample, and Fashion-MNIST where Debian's files are installed
FASHION_INSTALLED = (FASHION_DEBIAN_DIR / FASHION_FILES[0]).is_file()
SMOKE_DATASETS = ["mnist-sample"] + (["fashion-mnist"] if FASHION_INSTALLED else [])
# total parameters per model: the seed report's tables (Models 7, 8 and 10 share Model 6's layers)
SEED_TOTALS = {"model_01": 347146, "model_02": 346986, "model_03": 173930, "model_04": 693578,
               "model_05": 31258, "model_06": 56714, "model_07": 56714, "model_08": 56714, "model_09": 56714,
               "model_10": 56714}


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory) -> Path:
    """A book project (config, toc, executed smoke notebooks) built from the real parameter files and pages."""
    root = tmp_path_factory.mktemp("book-project")
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    status = execute.main(["--smoke", "--datasets", *SMOKE_DATASETS, "--root", str(root)])
    assert status == 0
    return root


@pytest.fixture(scope="session")
def smoke_book(smoke_root) -> Book:
    """The declared pages applied to the smoke project: what its toc and site must hold."""
    return Book(load_manifest(), smoke_root, REPO / "notebooks" / "params", tuple(load_specs()))


@pytest.fixture(scope="session")
def built_book(smoke_root) -> subprocess.CompletedProcess:
    """The Jupyter Book built from the smoke outputs, with warnings as errors and nitpicky references."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(smoke_root), "--toc",
         str(smoke_root / "_toc.yml"), "-W", "-n", "--keep-going"],
        capture_output=True, text=True,
    )


@pytest.fixture
def fixture_params(tmp_path) -> Path:
    """A copy of the fixture parameter files (model_a: 0.1 s, model_b and model_c: 60 s each), free to edit."""
    folder = tmp_path / "params"
    shutil.copytree(FIXTURE_PARAMS, folder)
    return folder


def fast(params: Path, slow: str | None = None, seconds: float = 0.1) -> Path:
    """The fixture parameter files, every one a tenth of a second, but for `slow`, which takes `seconds`."""
    for path in params.glob("*.yaml"):
        epochs = round(seconds * 10) if path.stem == slow else 1
        path.write_text(path.read_text().replace("epochs: 600", f"epochs: {epochs}"))
    return params


def smoke_model_job(root: Path, spec_id: str, backend: str = "tensorflow", threads: int = 1) -> ModelJob:
    """The job of one real model page, smoke-sized on the MNIST sample, one seed, writing into `root`'s book."""
    specs = load_specs()
    book = Book(load_manifest(), root, REPO / "notebooks" / "params", tuple(specs))
    (job,) = model_jobs(book, specs, [spec_id], data=resolve("mnist-sample"), seeds=[0], smoke=True, threads=threads,
                        precision="float32", backend=backend, gpus=[], science="test")
    return job


def fixture_run(root: Path, params: Path, *extra: str) -> int:
    """`pipeline.execute` on the fixture pages and parameter files, on the MNIST sample, into `root`."""
    return execute.main(["--pages", str(FIXTURE_PAGES), "--params", str(params), "--root", str(root), "--smoke",
                         "--datasets", "mnist-sample", *extra])


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: long simulations, run by `nox -s bench -- --only error-control`")


def pytest_collection_modifyitems(config, items) -> None:
    """Slow tests run only when asked for with `-m slow`."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `nox -s bench -- --only error-control`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
