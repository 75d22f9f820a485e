"""Jobs, derived from the declared pages: one per training run a model page lacks (a seed job), one per page to
execute. A job carries its input files (template, parameter files, result files, stored runs) as data, runs on a
worker in a scratch folder of its own and returns what it produced as an Outcome; the client publishes that into
`book/`, atomically. A worker reads nothing of the client's disk and writes nothing outside its scratch folder, so
it may be another machine."""

from __future__ import annotations

import functools
import importlib
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from pipeline import staleness
from pipeline.devices import device_kind, pin_to_own_gpu
from pipeline.pages import Book, SummaryPage
from pipeline.runner import NotebookFailed, run_notebook
from study import results, sequential
from study.backend import version as backend_version
from study.data import Dataset
from study.files import write_atomic
from study.loading import DAMAGED, set_aside
from study.results import ModelRecord, RunRecord
from study.spec import ModelSpec, conv_shapes
from study.typed import Strict


class Outcome(Strict):
    """How a job went: its name, success, wall time, the error if any, the executed notebook (or the page marked as
    failed) as nbformat JSON, for a model job its records, the runs a job trained for the store (by file name), the
    stored runs it found damaged and set aside (by file name), and for a seed job the page it trains for."""

    name: str
    ok: bool
    seconds: float
    error: str = ""
    notebook: str | None = None
    record: ModelRecord | None = None
    runs: list[RunRecord] = []
    stored: dict[str, str] = {}
    set_aside: list[str] = []
    for_page: str = ""


def failed_path(output: Path) -> Path:
    """Where a failed run of `output` is kept; the book lists it as a page marked as failed."""
    return output.with_suffix(".failed.ipynb")


Inputs = tuple[tuple[str, bytes], ...]
TEMPLATE = "template"  # the folder of the job's scratch folder that holds its template
RUNS = "runs"  # the folder of a model job's scratch folder that holds the stored runs it may reuse
PARAMS = "params"  # the folder of a job's scratch folder that holds its parameter files


def spec_input(spec_id: str) -> str:
    """Where a job's scratch folder holds the parameter file of `spec_id`."""
    return f"{PARAMS}/{spec_id}.yaml"


def _attempt(name: str, scratch_root: Path | None, inputs: Inputs, run, for_page: str = "") -> Outcome:
    """Call `run(scratch)` in a scratch folder of its own under `scratch_root` (None: the worker's temporary
    folder), holding the job's input files at their relative paths (the notebook's working folder: no path of the
    client's disk reaches a page); an Outcome, never raising."""
    who = {"name": name, "for_page": for_page}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="job-", dir=scratch_root) as scratch:
        try:
            for relative, content in inputs:
                (Path(scratch) / relative).parent.mkdir(parents=True, exist_ok=True)
                (Path(scratch) / relative).write_bytes(content)
            return Outcome(**who, ok=True, **run(Path(scratch)), seconds=time.perf_counter() - start)
        except NotebookFailed as exc:
            page = nbformat.writes(exc.page) if exc.page is not None else None
            return Outcome(**who, ok=False, seconds=time.perf_counter() - start, error=str(exc), notebook=page)
        except Exception as exc:  # noqa: BLE001 - a job's failure is reported, the others go on
            return Outcome(**who, ok=False, seconds=time.perf_counter() - start,
                           error="".join(traceback.format_exception_only(exc)).strip())


def _publish_page(output: Path, outcome: Outcome, inputs_hash: str) -> None:
    """Write an outcome's notebook into the book, stamped with its inputs hash, when it was computed and how long
    it took: the page if the job succeeded, else its failure page beside a good earlier page, left as it was."""
    if outcome.notebook is None:
        return
    nb = nbformat.reads(outcome.notebook, as_version=4)
    nb.metadata["study"] = {"inputs_hash": inputs_hash, "seconds": round(outcome.seconds, 1),
                            "computed": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if not outcome.ok:
        write_atomic(failed_path(output), nbformat.writes(nb))
        return
    write_atomic(output, nbformat.writes(nb))
    failed_path(output).unlink(missing_ok=True)


@dataclass(frozen=True)
class SeedJob:
    """One training run: a model page's seed on its dataset with the page's options, trained on a worker by the
    pages file's seed trainer (`runs`) into the run store, unless a run it is shipped is that run already."""

    spec_id: str
    dataset: str
    seed: int
    trainer: str
    parameters: dict = field(hash=False)
    inputs_hash: str
    store: Path
    seconds: float = 0.0
    scratch_root: Path | None = None
    gpus: int = 0
    inputs: Inputs = field(default=(), hash=False, compare=False, repr=False)

    @property
    def page(self) -> str:
        """The name of the model page's job this run is for."""
        return f"{self.dataset}/{self.spec_id}"

    @property
    def name(self) -> str:
        return f"{self.page} seed {self.seed}"

    def run(self) -> Outcome:
        """Train the run (on a worker, in its process); the outcome carries it if it was trained, nothing if the run
        shipped was it."""
        def execute(scratch: Path) -> dict:
            if self.gpus:
                pin_to_own_gpu(self.gpus)
            module, function = self.trainer.split(":")
            folder = scratch / RUNS / self.spec_id
            getattr(importlib.import_module(module), function)(
                str(scratch / spec_input(self.spec_id)), self.seed, store=str(folder), **self.parameters)
            return {"stored": _trained_runs(scratch, self.spec_id, self.inputs),
                    "set_aside": _set_aside_runs(scratch, self.spec_id)}

        return _attempt(self.name, self.scratch_root, self.inputs, execute, for_page=self.page)

    def publish(self, outcome: Outcome) -> None:
        """Set aside in the store the runs the worker found damaged, then write the run it trained (on the client)."""
        _publish_runs(self.store, outcome)


@dataclass(frozen=True)
class ModelJob:
    """One model page to execute: the parameter file, the data it runs on, every option of the run, the seed
    trainer (`module:function`) its seed jobs call, whether it runs on the client's own machine (`local`: no
    scheduler) and where its scratch folders go (`scratch_root`; None: the worker's temporary folder)."""

    spec_id: str
    spec: ModelSpec = field(hash=False, compare=False, repr=False)
    template: Path
    models_dir: Path
    dataset: str
    requested: str
    data_sha256: str
    seeds: tuple[int, ...]
    smoke: bool
    threads: int
    precision: str
    backend: str
    inputs_hash: str
    store: Path
    trainer: str = ""
    local: bool = False
    scratch_root: Path | None = None
    gpus: int = 0
    inputs: Inputs = field(default=(), hash=False, compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.spec_id}"

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def notebook(self) -> Path:
        return self.models_dir / f"{self.spec_id}.ipynb"

    @property
    def parameters(self) -> dict:
        """The values for the model template's parameters cell, paths relative to the job's scratch folder: the
        parameter file at `params/<id>.yaml`, the records written to `results/`."""
        return {"spec_path": spec_input(self.spec_id), "dataset": self.dataset, "requested": self.requested,
                "data_sha256": self.data_sha256, "smoke": self.smoke, "seeds": list(self.seeds),
                "threads": self.threads, "precision": self.precision, "backend": self.backend,
                "results_dir": "results", "runs_dir": RUNS, "inputs_hash": self.inputs_hash}

    def run(self) -> Outcome:
        """Execute the model template (on a worker); the outcome carries the notebook, the records it wrote and the
        runs it trained. A `local` job (on the client's own machine) also keeps each trained run in the book's store
        as it goes, so that a run interrupted or failing later keeps its finished seeds."""
        def trained(scratch: Path) -> dict[str, str]:
            return _trained_runs(scratch, self.spec_id, self.inputs)

        def execute(scratch: Path) -> dict:
            if self.gpus:
                pin_to_own_gpu(self.gpus)
            try:
                nb = run_notebook(scratch / TEMPLATE / self.template.name, self.parameters, scratch, title=self.title)
            finally:
                if self.local:
                    for name, text in trained(scratch).items():
                        write_atomic(self.store / name, text)
            record = results.read_model(scratch / "results" / f"{self.spec_id}.json")
            return {"notebook": nbformat.writes(nb), "record": record, "stored": {} if self.local else trained(scratch),
                    "set_aside": _set_aside_runs(scratch, self.spec_id),
                    "runs": results.read_runs(scratch / "results", record)}

        return _attempt(self.name, self.scratch_root, self.inputs, execute)

    def with_stored_runs(self) -> ModelJob:
        """This job, shipping the runs its store holds now (after its seed jobs)."""
        kept = tuple((name, content) for name, content in self.inputs if not name.startswith(f"{RUNS}/"))
        return replace(self, inputs=kept + _stored(self.store, self.spec_id))

    def seed_jobs(self, seconds: float) -> list[SeedJob]:
        """A seed job per seed of the page, each shipped the stored runs of its seed (the worker tells whether one
        of them is its run: the key depends on the worker's backend), each estimated at `seconds` of training but
        for those that are likely stored already."""
        spec = next(content for name, content in self.inputs if name == spec_input(self.spec_id))
        stored = [(name, content) for name, content in self.inputs if name.startswith(f"{RUNS}/")]
        options = {k: v for k, v in self.parameters.items()
                   if k not in ("spec_path", "seeds", "results_dir", "runs_dir", "inputs_hash")}
        jobs = []
        for seed in self.seeds:
            mine = tuple((name, content) for name, content in stored if _seed_of(content) == seed)
            jobs.append(SeedJob(spec_id=self.spec_id, dataset=self.dataset, seed=seed, trainer=self.trainer,
                                parameters=options, inputs_hash=self.inputs_hash, store=self.store,
                                seconds=0.0 if mine else seconds, scratch_root=self.scratch_root, gpus=self.gpus,
                                inputs=((spec_input(self.spec_id), spec), *mine)))
        return jobs

    def publish(self, outcome: Outcome) -> None:
        """Write the outcome into the book (on the client): the trained runs into the store (a local job kept them
        there already), the records, then the page, which marks them done."""
        _publish_runs(self.store, outcome)
        if outcome.ok and outcome.record is not None:
            results.write_model(self.models_dir, outcome.record, outcome.runs)
        _publish_page(self.notebook, outcome, self.inputs_hash)

    def is_fresh(self) -> bool:
        """The job's page and result exist and were made from the same inputs."""
        return (staleness.recorded_hash(self.notebook) == self.inputs_hash
                and (self.models_dir / f"{self.spec_id}.json").is_file())

    def recorded_seconds(self) -> float | None:
        """Training seconds per seed in this model's last record on this dataset, if there is one."""
        try:
            record = results.read_model(self.models_dir / f"{self.spec_id}.json")
        except (OSError, ValueError):
            return None
        return record.seconds.train / max(len(record.seeds), 1)

    def estimated_cost(self) -> float:
        """A relative estimate of one seed's training time from the parameter file: epochs × the convolutions'
        multiply-adds per image plus the first dense layer's weights."""
        spec = self.spec
        shapes = conv_shapes(spec)
        work = sum(shape.side_out**2 * conv.kernel**2 * shape.channels_in * conv.filters
                   for conv, shape in zip(spec.conv, shapes))
        work += shapes[-1].pooled**2 * spec.conv[-1].filters * spec.dense_units
        return spec.training.epochs * work


@dataclass(frozen=True)
class PageJob:
    """One summary page to execute."""

    name: str
    template: Path
    output: Path
    parameters: dict = field(hash=False)
    inputs_hash: str = ""
    title: str | None = None
    scratch_root: Path | None = None
    inputs: Inputs = field(default=(), hash=False, compare=False, repr=False)

    def run(self) -> Outcome:
        """Execute the page's template (on a worker) on its input files; the outcome carries the notebook."""
        def execute(scratch: Path) -> dict:
            nb = run_notebook(scratch / TEMPLATE / self.template.name, self.parameters, scratch, title=self.title)
            return {"notebook": nbformat.writes(nb)}

        return _attempt(self.name, self.scratch_root, self.inputs, execute)

    def publish(self, outcome: Outcome) -> None:
        """Write the outcome's page into the book (on the client)."""
        _publish_page(self.output, outcome, self.inputs_hash)

    def is_fresh(self) -> bool:
        """The page exists and was made from the same inputs."""
        return staleness.recorded_hash(self.output) == self.inputs_hash


def _trained_runs(scratch: Path, spec_id: str, shipped: Inputs) -> dict[str, str]:
    """The runs a job's scratch folder holds for `spec_id` that it was not shipped as they are: those it trained
    (some in place of a damaged run it was shipped), by file name."""
    given = dict(shipped)
    held = {p.name: p.read_bytes() for p in sorted((scratch / RUNS / spec_id).glob("*.json"))}
    return {name: content.decode() for name, content in held.items()
            if given.get(f"{RUNS}/{spec_id}/{name}") != content}


def _set_aside_runs(scratch: Path, spec_id: str) -> list[str]:
    """The file names of the shipped runs that the job found damaged and set aside (`study.loading.reusable`)."""
    return sorted(p.name.removesuffix(DAMAGED) for p in (scratch / RUNS / spec_id).glob(f"*{DAMAGED}"))


def _publish_runs(store: Path, outcome: Outcome) -> None:
    """Set aside the store's runs a job found damaged (a line naming each), then write the runs it trained."""
    for name in outcome.set_aside:
        if (store / name).is_file():
            set_aside(store / name)
            print(f"damaged run {store / name} set aside as {name}{DAMAGED}: {outcome.name} trained it again")
    for name, text in outcome.stored.items():
        write_atomic(store / name, text)


def _stored(store: Path, spec_id: str) -> Inputs:
    """The runs a model's store holds, as input files at the path a job's scratch folder keeps them."""
    return tuple((f"{RUNS}/{spec_id}/{p.name}", p.read_bytes()) for p in sorted(store.glob("*.json")))


def _seed_of(run: bytes) -> int | None:
    """The seed a stored run says it is of, None if it cannot be read."""
    try:
        return json.loads(run).get("seed")
    except (ValueError, AttributeError):
        return None


def run_job(job: SeedJob | ModelJob | PageJob) -> Outcome:
    """What a worker executes: one job, never raising."""
    return job.run()


def model_jobs(book: Book, specs: dict[str, ModelSpec], ids: list[str], *, data: Dataset, seeds: list[int],
               smoke: bool, threads: int, precision: str, backend: str, gpus: list[str], science: str,
               scratch_root: Path | None = None) -> list[ModelJob]:
    """A job per parameter file on the data a run really uses, with its inputs hash; with `gpus`, each kernel sees
    only its worker's GPU; with `scratch_root` (no scheduler), `local` jobs with their scratch folders there."""
    jobs, template = [], book.model_template.read_bytes()
    for spec_id in ids:
        spec = (book.params_dir / f"{spec_id}.yaml").read_bytes()
        digest = staleness.model_hash(template, spec, science=science, data_identity=f"{data.name}:{data.sha256}",
                                      seeds=seeds, smoke=smoke, precision=precision, threads=threads,
                                      device=device_kind(gpus), backend=f"{backend} {backend_version(backend)}")
        store = book.runs_dir(data.name, spec_id)
        inputs = ((spec_input(spec_id), spec), (f"{TEMPLATE}/{book.model_template.name}", template),
                  *_stored(store, spec_id))
        jobs.append(ModelJob(spec_id=spec_id, spec=specs[spec_id],
                             template=book.model_template, models_dir=book.models_dir(data.name), dataset=data.name,
                             requested=data.requested or data.name, data_sha256=data.sha256, seeds=tuple(seeds),
                             smoke=smoke, threads=threads, precision=precision, backend=backend, inputs_hash=digest,
                             store=store, trainer=book.manifest.per_dataset.models.runs,
                             local=scratch_root is not None, scratch_root=scratch_root, gpus=len(gpus),
                             inputs=inputs))
    return jobs


def page_job(book: Book, page: SummaryPage, *, science: str, scratch_root: Path | None = None,
             read: Callable[[Path], bytes] = Path.read_bytes) -> PageJob:
    """The job of one summary page: its input files (the parameter files, and the result files of the datasets it
    reads, at the relative paths its parameters name) and the hash of its template, options and inputs; each file
    read by `read`."""
    template = read(page.template)
    specs = [(f"{i}.yaml", read(book.params_dir / f"{i}.yaml")) for i in book.ids]
    records = [(d, f"{i}.json", read(d / f"{i}.json")) for d in page.reads for i in book.ids
               if (d / f"{i}.json").is_file()]
    inputs = [(f"{PARAMS}/{name}", content) for name, content in specs]
    inputs.append((f"{TEMPLATE}/{page.template.name}", template))
    designs = [(d, read(sequential.design_path(d))) for d in page.reads if sequential.design_path(d).is_file()]
    for models_dir, name, content in records:
        folder = f"results/{models_dir.parent.name}/models"
        inputs.append((f"{folder}/{name}", content))
        inputs += [(f"{folder}/{run}", read(models_dir / run))
                   for run in results.ModelRecord.model_validate_json(content).runs]
    inputs += [(f"results/{d.parent.name}/{sequential.design_path(d).name}", content) for d, content in designs]
    options = {k: v for k, v in page.parameters.items() if k not in ("params_dir", "results_dir", "results_dirs")}
    hashed = specs + [(f"{models_dir.parent.name}/{name}", content) for models_dir, name, content in records] + \
        [(f"{d.parent.name}/{sequential.design_path(d).name}", content) for d, content in designs]
    digest = staleness.page_hash(template, hashed, science=science, options={"title": page.title, **options})
    return PageJob(name=page.name, template=page.template, output=book.book_dir / f"{page.name}.ipynb",
                   parameters=page.parameters, inputs_hash=digest, title=page.title, scratch_root=scratch_root,
                   inputs=tuple(inputs))


def page_jobs(book: Book, *, science: str, force: bool = False, scratch_root: Path | None = None) -> list[PageJob]:
    """The summary pages whose inputs changed (all of them with `force`); a file several pages read is read once."""
    read = functools.cache(Path.read_bytes)
    jobs = [page_job(book, page, science=science, scratch_root=scratch_root, read=read)
            for page in book.summary_pages()]
    return [job for job in jobs if force or not job.is_fresh()]
