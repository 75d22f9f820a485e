"""Executes the book's notebooks with papermill on Dask: every model page whose inputs changed, then the summary
pages, as `notebooks/pages.yml` declares them.

Usage: python -m pipeline.execute [ID ...] [--datasets NAME ...] [--seeds N] [--smoke] [--force] [-j N]
       [--precision P] [--backend tensorflow|jax|torch] [--scheduler ADDRESS] [--root DIR] [--params DIR]
       [--pages FILE]
Only notebooks whose inputs changed (see pipeline.staleness) are executed, unless --force. Ctrl-C or SIGTERM
stops within seconds: what finished is kept, nothing half-written is left, and the next run resumes.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import schedule, staleness
from pipeline.devices import backend_gpus
from pipeline.interrupt import NOTEBOOKS, Stop, descendants, end, running_now
from pipeline.jobs import ModelJob, Outcome, PageJob, SeedJob, failed_path, model_jobs, page_jobs
from pipeline.kernel import ensure_kernel, kernel_env
from pipeline.schedule import Job
from pipeline.pages import MANIFEST, REPO, Book, ManifestError, load_manifest
from pipeline.status import write_status
from pipeline.toc import write_toc
from study import backend, evidence, results
from study.data import DATASETS, LABELS, STUDY_DATASETS, Dataset, advice, resolve
from study.spec import PARAMS_DIR, SpecError, load_specs

DEFAULT_SEEDS = 3
DEFAULT_MAX_SEEDS = 10
INSTALL = {"tensorflow": "pip install -r requirements.txt", "jax": "pip install -r requirements.txt",
           "torch": "an optional install: pip install torch==2.13.0"}
INTERRUPTED = 130


class Refused(Exception):
    """A command line that cannot be run; nothing was started."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise Refused(message)


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    p = _Parser(prog="python -m pipeline.execute", description=__doc__.splitlines()[0])
    p.add_argument("ids", nargs="*", help="model ids to run (default: all parameter files)")
    p.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", default=list(STUDY_DATASETS),
                   choices=DATASETS, help="datasets to run the study on (default: mnist fashion-mnist)")
    p.add_argument("--smoke", action="store_true", help="tiny subset, one epoch, one seed: checks the pipeline only")
    p.add_argument("--seeds", type=int, default=None,
                   help=f"training runs per model, seeded 0..N-1 (default {DEFAULT_SEEDS}; 1 with --smoke)")
    p.add_argument("--until-decided", action="store_true",
                   help="after the requested seeds (the first look), add seeds to the models of claims still "
                        "undecided, as many as 80 %% power asks, up to --max-seeds, and test once more (the second "
                        "look)")
    p.add_argument("--max-seeds", type=int, default=DEFAULT_MAX_SEEDS,
                   help=f"with --until-decided: the most seeds any model gets (default {DEFAULT_MAX_SEEDS})")
    p.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"),
                   help="Keras dtype policy; mixed_bfloat16 is faster on CPUs with AMX/AVX-512 BF16 (opt-in)")
    p.add_argument("--backend", default=backend.DEFAULT, choices=backend.BACKENDS,
                   help=f"Keras backend to train with (default {backend.DEFAULT})")
    p.add_argument("--force", action="store_true", help="rerun even the notebooks whose inputs did not change")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="local Dask workers, one notebook each at a time (default: one per GPU the backend sees, "
                        "each pinned to its own, else one per core)")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:port)")
    p.add_argument("--root", type=Path, default=REPO,
                   help="book project root; outputs go to ROOT/book/<dataset>, the toc to ROOT/_toc.yml")
    p.add_argument("--params", type=Path, default=PARAMS_DIR, help="folder of parameter files")
    p.add_argument("--pages", type=Path, default=MANIFEST,
                   help="the pages file declaring the book's pages; its templates lie beside it")
    return p


def _checked(argv: list[str] | None) -> tuple[argparse.Namespace, dict, Book, dict[str, Dataset]]:
    """The command line, parameter files, pages and data, every one checked before anything runs; Refused if not."""
    args = parser().parse_args(argv)
    args.root, args.params, args.pages = args.root.resolve(), args.params.resolve(), args.pages.resolve()
    try:
        specs = load_specs(args.params)
        manifest = load_manifest(args.pages)
    except (SpecError, ManifestError) as exc:
        raise Refused(str(exc)) from None
    unknown = sorted(set(args.ids) - set(specs))
    problems = [f"unknown model id(s) {', '.join(unknown)}; known: {', '.join(specs)}"] if unknown else []
    if args.seeds is not None and args.seeds < 1:
        problems.append(f"--seeds must be at least 1, got {args.seeds}")
    first = args.seeds or (1 if args.smoke else DEFAULT_SEEDS)
    if args.until_decided and first < 2:
        problems.append(f"--until-decided needs a first look of 2 or more seeds (--seeds), got {first}")
    if args.until_decided and args.max_seeds < first:
        problems.append(f"--max-seeds must be at least the first look's {first} seeds, got {args.max_seeds}")
    if args.jobs is not None and args.jobs < 1:
        problems.append(f"-j must be at least 1, got {args.jobs}")
    if not backend.available(args.backend):
        problems.append(f"--backend {args.backend}: {args.backend} is not installed in this environment "
                        f"({INSTALL[args.backend]})")
    if args.scheduler and not problems:
        problems += schedule.refusals(args.scheduler)
    if problems:
        raise Refused("\n".join(problems))
    try:
        resolved = {name: resolve(name) for name in dict.fromkeys(args.datasets)}
    except OSError as exc:
        raise Refused(str(exc)) from None
    return args, specs, Book(manifest, args.root, args.params, tuple(specs), args.pages.parent), resolved


@contextlib.contextmanager
def _only_run(book_dir: Path):
    """Hold `book_dir`'s lock for the run; Refused, naming the other run's process, while another run holds it."""
    book_dir.mkdir(parents=True, exist_ok=True)
    with open(book_dir / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            other = lock.read().strip() or "unknown"
            raise Refused(f"another run (process {other}) is executing into {book_dir}: wait for it to finish, or "
                          "stop it, then run this again") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def added_seeds(book: Book, specs: dict, dataset: str, design: results.Design) -> tuple[dict[str, int], list[str]]:
    """The seeds each model of `dataset` should reach at the second look (`study.evidence.second_look`), from the
    results of the first, and a line per claim undecided there."""
    models_dir = book.models_dir(dataset)
    found = results.load_results(models_dir, ids=specs)
    verdicts = evidence.claim_verdicts(specs, found, evidence.comparisons(found, models_dir), models_dir, design)
    return evidence.second_look(verdicts, design)


def set_aside_damaged(jobs: list[ModelJob]) -> list[str]:
    """Rename each job's model file whose result files cannot be read back to `<id>.json.damaged`, so that the job
    reruns; a line per file set aside, naming what was wrong."""
    lines = []
    for job in jobs:
        record = job.models_dir / f"{job.spec_id}.json"
        problem = results.damage(job.models_dir, job.spec_id) if record.is_file() else None
        if problem:
            record.replace(record.with_name(record.name + ".damaged"))
            lines.append(f"damaged result set aside as {record.name}.damaged, {job.name} reruns: {problem}")
    return lines


def orphans(book: Book, specs: dict) -> list[str]:
    """The pages and result files in the book whose parameter file is gone, one line per dataset."""
    lines = []
    for dataset in DATASETS:
        folder = book.models_dir(dataset)
        gone = sorted({p.name.split(".")[0] for p in folder.glob("*.*")} - set(specs)) if folder.is_dir() else []
        if gone:
            lines.append(f"no parameter file for {', '.join(gone)} in {folder}: their pages and results are left "
                         f"there and out of the book; restore {', '.join(g + '.yaml' for g in gone)} or delete them")
    return lines


@contextlib.contextmanager
def _scratch():
    """A scratch folder for this run, made the workers' temporary folder too; removed however the run ends."""
    folder = Path(tempfile.mkdtemp(prefix="cnn-study-run-"))
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)


def fallback_warnings(resolved: list[Dataset], book_dir: Path) -> list[str]:
    """A loud note for each dataset that was asked for and could not be had: what was used instead, and why."""
    notes = []
    for d in resolved:
        if d.name == (d.requested or d.name):
            continue
        bar = "!" * 100
        notes.append(f"{bar}\nWARNING: {LABELS[d.requested]} was asked for but could not be had, so this run used "
                     f"{d.label} instead: its pages are in {book_dir / d.name}, captioned as such.\n"
                     f"Reason: {d.fallback_reason}\n{advice(d.requested)}\n{bar}")
    return notes


def _pages_when_seeded(models: list[ModelJob]) -> tuple[list[SeedJob], Callable[[Job, Outcome], list[Job]]]:
    """The seed jobs of the model pages, and what starts each page once all its seed jobs have finished (those that
    failed too: the page then tries the seed itself, or shows why it fails), shipping the runs its store holds."""
    left = {m.name: len(m.seeds) for m in models}
    pages = {m.name: m for m in models}

    def then(job: Job, outcome: Outcome) -> list[Job]:
        if not isinstance(job, SeedJob):
            return []
        left[job.page] -= 1
        return [pages[job.page].with_stored_runs()] if left[job.page] == 0 else []

    return schedule.seed_jobs(models), then


def _run(workers: int, scheduler: str | None, book: Book, todo: list[ModelJob], pages: list[PageJob],
         stop: Stop, science: str, scratch: Path | None, finished: list[tuple[Job, Outcome]],
         second_look: Callable[[], list[ModelJob]] | None = None) -> float:
    """Run the model pages' seed jobs, each page as soon as its seeds are in, then the pages `second_look` asks for
    once they are in (if any) the same way, then the summary pages (all of them when a model ran), on `workers`
    local workers (each pinned to its own GPU where there are GPUs) or the cluster at `scheduler`, publishing each
    outcome as it arrives and appending it to `finished`; the seconds the workers were up. KeyboardInterrupt on
    Ctrl-C or SIGTERM."""
    before = running_now()
    NOTEBOOKS.open()
    try:
        with schedule.client(workers, scheduler, scratch) as client:
            up = time.perf_counter()

            def publish(jobs: list[Job], what: str, then=None) -> None:
                for job, outcome in schedule.run(client, jobs, what, then):
                    with stop.shielded():
                        job.publish(outcome)
                        finished.append((job, outcome))

            def publish_models(models: list[ModelJob], what: str) -> None:
                if models:
                    seeds, then = _pages_when_seeded(models)
                    publish(seeds, what, then)

            try:
                publish_models(todo, "models")
                more = second_look() if second_look else []
                publish_models(more, "more seeds")
                if todo or more:  # new results change every summary page
                    pages = page_jobs(book, science=science, force=True, scratch_root=scratch)
                publish(pages, "pages")
                return time.perf_counter() - up
            except KeyboardInterrupt:
                NOTEBOOKS.close()  # the kernels first, so that the workers' jobs end and the cluster closes at once
                raise
    finally:
        end(descendants(but=before))


def _kept(job: Job, outcome: Outcome) -> str:
    if isinstance(job, SeedJob):
        return "nothing"
    output = job.notebook if isinstance(job, ModelJob) else job.output
    return str(failed_path(output)) if outcome.notebook else "nothing"


def main(argv: list[str] | None = None) -> int:
    """Command line: check everything, execute the stale models in parallel, then the summary pages."""
    try:
        args, specs, book, resolved = _checked(argv)
        with _only_run(book.book_dir):
            return _execute(args, specs, book, resolved)
    except Refused as exc:
        print(f"error: {exc}\nNothing was run.", file=sys.stderr)
        return 2


def _execute(args: argparse.Namespace, specs: dict, book: Book, resolved: dict[str, Dataset]) -> int:
    """Execute the stale models in parallel, then the summary pages, with everything already checked."""
    kernel_env()
    ensure_kernel()
    gpus = [] if args.scheduler else backend_gpus(args.backend)
    workers = args.jobs or len(gpus) or os.cpu_count() or 1
    n_seeds = args.seeds or (1 if args.smoke else DEFAULT_SEEDS)
    threads = max(1, (os.cpu_count() or 1) // workers)
    science = staleness.science_hash()
    if gpus:
        print(f"{len(gpus)} GPU(s) seen by {args.backend}: {', '.join(gpus)}; {workers} worker(s), each on its own")
    data = list({d.name: d for d in resolved.values()}.values())  # `mnist` and `mnist-sample` may be one
    finished: list[tuple[Job, Outcome]] = []
    up = 0.0
    stop, start = Stop(), time.perf_counter()
    with stop.installed(), _scratch() as scratch:
        local_scratch = None if args.scheduler else scratch
        jobs = [job for d in data
                for job in model_jobs(book, specs, args.ids or list(specs), data=d, seeds=list(range(n_seeds)),
                                      smoke=args.smoke, threads=threads, precision=args.precision,
                                      backend=args.backend, gpus=gpus, science=science, scratch_root=local_scratch)]
        for line in set_aside_damaged(jobs) + orphans(book, specs):
            print(line)
        todo = jobs if args.force else [j for j in jobs if not j.is_fresh()]
        skipped = [j.name for j in jobs if j not in todo]
        if skipped:
            print(f"up to date, skipped: {', '.join(skipped)}")
        for job in jobs:
            if job not in todo:  # a failure of other inputs than the page's is out of date
                failed_path(job.notebook).unlink(missing_ok=True)
        design = results.Design(first_seeds=n_seeds, max_seeds=args.max_seeds) if args.until_decided else None
        for d in data:
            results.write_design(book.models_dir(d.name), design)

        def second_look() -> list[ModelJob]:
            if any(not o.ok for _, o in finished):
                print("--until-decided: no seeds added, a model failed at the first look")
                return []
            more = []
            for d in data:
                wanted, lines = added_seeds(book, specs, d.name, design)
                print("\n".join([f"--until-decided on {d.label}: {len(lines)} claim(s) undecided at the first look",
                                  *(f"  {line}" for line in lines)]))
                more += [job for spec_id, n in wanted.items()
                         for job in model_jobs(book, specs, [spec_id], data=d, seeds=list(range(n)), smoke=args.smoke,
                                               threads=threads, precision=args.precision, backend=args.backend,
                                               gpus=gpus, science=science, scratch_root=local_scratch)]
            return more

        pages = [] if todo else page_jobs(book, science=science, force=args.force, scratch_root=local_scratch)
        interrupted = False
        if todo or pages or design:
            try:
                up = _run(workers, args.scheduler, book, todo, pages, stop, science, local_scratch, finished,
                          second_look if design else None)
            except KeyboardInterrupt:
                interrupted = True
        with stop.shielded():
            write_status(book)
            write_toc(book)
    outcomes = [o for j, o in finished if isinstance(j, ModelJob)]
    seeds = [o for j, o in finished if isinstance(j, SeedJob)]
    page_outcomes = [o for j, o in finished if isinstance(j, PageJob)]
    failures = [(j, o) for j, o in finished if not o.ok]
    if outcomes:
        print(schedule.summary_table(outcomes, seeds))
    print(f"executed {len(outcomes)} model(s) and {len(page_outcomes)} page(s), {len(failures)} failed, "
          f"{len(skipped)} model(s) up to date; {time.perf_counter() - start:.0f} s, into {book.book_dir}")
    if up:
        share = schedule.busy_share([o for _, o in finished], workers, up)
        print(f"{sum(1 for o in seeds if o.stored)} run(s) trained, {sum(1 for o in seeds if not o.stored)} found "
              f"stored; the {workers} worker(s) were busy {share * workers:.2f} of {workers} on average "
              f"({share:.0%} of {up:.0f} s)")
    for warning in fallback_warnings(list(resolved.values()), book.book_dir):
        print(warning, file=sys.stderr)
    if interrupted:
        names = [o.name for _, o in finished]
        unfinished = [j.name for j in todo if j.name not in names]
        print(f"INTERRUPTED by {stop.name}: {len(names)} job(s) finished and kept"
              + (f" ({', '.join(names)})" if names else "")
              + (f"; not finished: {', '.join(unfinished)}" if unfinished else "")
              + ". Nothing half-written was left; run the same command again to resume.", file=sys.stderr)
        return INTERRUPTED
    if failures:
        print("FAILED: " + "; ".join(f"{o.name}: {o.error} (kept: {_kept(j, o)})" for j, o in failures),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
