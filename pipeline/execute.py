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
from dataclasses import dataclass
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
from study import backend, evidence, loading, report, results
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
    first = seed_count(args)
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
    plans = evidence.second_look(evidence.claim_verdicts(specs, loading.load(book.models_dir(dataset), ids=specs)),
                                 design)
    return evidence.seeds_wanted(plans), report.second_look_lines(plans, design)


def set_aside_damaged(jobs: list[ModelJob]) -> list[str]:
    """Rename each job's model file whose result files cannot be read back to `<id>.json.damaged`, so that the job
    reruns; a line per file set aside, naming what was wrong."""
    lines = []
    for job in jobs:
        record = job.models_dir / f"{job.spec_id}.json"
        problem = loading.damage(job.models_dir, job.spec_id) if record.is_file() else None
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


def _run(plan: Plan, todo: list[ModelJob], pages: list[PageJob], stop: Stop, finished: list[tuple[Job, Outcome]],
         second_look: Callable[[], list[ModelJob]] | None = None) -> float:
    """Run the model pages' seed jobs, each page as soon as its seeds are in, then the pages `second_look` asks for
    once they are in (if any) the same way, then the summary pages (all of them when a model ran), on the plan's
    local workers (each pinned to its own GPU where there are GPUs) or the cluster at --scheduler, publishing each
    outcome as it arrives and appending it to `finished`; the seconds the workers were up. KeyboardInterrupt on
    Ctrl-C or SIGTERM."""
    before = running_now()
    NOTEBOOKS.open()
    try:
        with schedule.client(plan.workers, plan.args.scheduler, plan.scratch) as client:
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
                    pages = plan.page_jobs(force=True)
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


def seed_count(args: argparse.Namespace) -> int:
    """The seeds per model the command asks for (the first look of a design): --seeds, else 1 with --smoke, else
    DEFAULT_SEEDS."""
    return args.seeds or (1 if args.smoke else DEFAULT_SEEDS)


@dataclass(frozen=True)
class Plan:
    """What the command runs, every default worked out once: the book, its specs, the data, the workers and the
    threads each, the GPUs, the science's hash, the seeds, the design (None: one look) and, locally, the scratch
    folder."""

    args: argparse.Namespace
    specs: dict
    book: Book
    data: list[Dataset]
    workers: int
    threads: int
    gpus: list[str]
    science: str
    seeds: int
    design: results.Design | None
    scratch: Path | None

    def model_jobs(self, data: Dataset, ids: list[str], seeds: int) -> list[ModelJob]:
        """The model pages `ids` on `data` with seeds 0..seeds-1 and this command's options."""
        a = self.args
        return model_jobs(self.book, self.specs, ids, data=data, seeds=list(range(seeds)), smoke=a.smoke,
                          threads=self.threads, precision=a.precision, backend=a.backend, gpus=self.gpus,
                          science=self.science, scratch_root=self.scratch)

    def page_jobs(self, force: bool) -> list[PageJob]:
        """The summary pages to execute (all with `force`)."""
        return page_jobs(self.book, science=self.science, force=force, scratch_root=self.scratch)


def _plan(args: argparse.Namespace, specs: dict, book: Book, resolved: dict[str, Dataset], scratch: Path) -> Plan:
    """The command's plan from its checked arguments."""
    gpus = [] if args.scheduler else backend_gpus(args.backend)
    workers = args.jobs or len(gpus) or os.cpu_count() or 1
    seeds = seed_count(args)
    if gpus:
        print(f"{len(gpus)} GPU(s) seen by {args.backend}: {', '.join(gpus)}; {workers} worker(s), each on its own")
    return Plan(args=args, specs=specs, book=book, data=list({d.name: d for d in resolved.values()}.values()),
                workers=workers, threads=max(1, (os.cpu_count() or 1) // workers), gpus=gpus,
                science=staleness.science_hash(), seeds=seeds,
                design=results.Design(first_seeds=seeds, max_seeds=args.max_seeds) if args.until_decided else None,
                scratch=None if args.scheduler else scratch)


def _todo(plan: Plan) -> tuple[list[ModelJob], list[ModelJob]]:
    """The model pages asked for and those of them to execute (out of date, damaged, or all with --force), after
    setting damaged results aside and naming orphans; the design recorded beside each dataset's models."""
    args = plan.args
    jobs = [job for d in plan.data for job in plan.model_jobs(d, args.ids or list(plan.specs), plan.seeds)]
    for line in set_aside_damaged(jobs) + orphans(plan.book, plan.specs):
        print(line)
    todo = jobs if args.force else [j for j in jobs if not j.is_fresh()]
    skipped = [j.name for j in jobs if j not in todo]
    if skipped:
        print(f"up to date, skipped: {', '.join(skipped)}")
    for job in jobs:
        if job not in todo:  # a failure of other inputs than the page's is out of date
            failed_path(job.notebook).unlink(missing_ok=True)
    for d in plan.data:
        results.write_design(plan.book.models_dir(d.name), plan.design)
    return jobs, todo


def _second_look(plan: Plan, finished: list[tuple[Job, Outcome]]) -> list[ModelJob]:
    """After the first look of a design: the model pages whose claims are undecided, with the seeds they need."""
    if any(not o.ok for _, o in finished):
        print("--until-decided: no seeds added, a model failed at the first look")
        return []
    more = []
    for d in plan.data:
        wanted, lines = added_seeds(plan.book, plan.specs, d.name, plan.design)
        print("\n".join([f"--until-decided on {d.label}: {len(lines)} claim(s) undecided at the first look",
                          *(f"  {line}" for line in lines)]))
        more += [job for spec_id, n in wanted.items() for job in plan.model_jobs(d, [spec_id], n)]
    return more


def _execute(args: argparse.Namespace, specs: dict, book: Book, resolved: dict[str, Dataset]) -> int:
    """Plan, run and report: the stale models in parallel, then the summary pages, with everything already
    checked."""
    kernel_env()
    ensure_kernel()
    finished: list[tuple[Job, Outcome]] = []
    up, interrupted = 0.0, False
    stop, start = Stop(), time.perf_counter()
    with stop.installed(), _scratch() as scratch:
        plan = _plan(args, specs, book, resolved, scratch)
        jobs, todo = _todo(plan)
        pages = [] if todo else plan.page_jobs(force=args.force)
        if todo or pages or plan.design:
            try:
                up = _run(plan, todo, pages, stop, finished,
                          (lambda: _second_look(plan, finished)) if plan.design else None)
            except KeyboardInterrupt:
                interrupted = True
        with stop.shielded():
            write_status(book)
            write_toc(book)
    return _report(plan, jobs, todo, finished, up, time.perf_counter() - start, resolved,
                   stop.name if interrupted else None)


def _report(plan: Plan, jobs: list[ModelJob], todo: list[ModelJob], finished: list[tuple[Job, Outcome]], up: float,
            seconds: float, resolved: dict[str, Dataset], interrupted_by: str | None) -> int:
    """Print what ran, how busy the workers were, the fallbacks and the failures; the exit status."""
    outcomes = [o for j, o in finished if isinstance(j, ModelJob)]
    seeds = [o for j, o in finished if isinstance(j, SeedJob)]
    failures = [(j, o) for j, o in finished if not o.ok]
    if outcomes:
        print(schedule.summary_table(outcomes, seeds))
    print(f"executed {len(outcomes)} model(s) and {sum(isinstance(j, PageJob) for j, _ in finished)} page(s), "
          f"{len(failures)} failed, {len(jobs) - len(todo)} model(s) up to date; {seconds:.0f} s, into "
          f"{plan.book.book_dir}")
    if up:
        share, workers = schedule.busy_share([o for _, o in finished], plan.workers, up), plan.workers
        print(f"{sum(1 for o in seeds if o.stored)} run(s) trained, {sum(1 for o in seeds if not o.stored)} found "
              f"stored; the {workers} worker(s) were busy {share * workers:.2f} of {workers} on average "
              f"({share:.0%} of {up:.0f} s)")
    for warning in fallback_warnings(list(resolved.values()), plan.book.book_dir):
        print(warning, file=sys.stderr)
    if interrupted_by:
        names = [o.name for _, o in finished]
        unfinished = [j.name for j in todo if j.name not in names]
        print(f"INTERRUPTED by {interrupted_by}: {len(names)} job(s) finished and kept"
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
