"""Executes the book's notebooks with papermill on Dask: every model page whose inputs changed, then the summary
pages, as `notebooks/pages.yml` declares them.

Usage: python -m pipeline.execute [ID ...] [--datasets NAME ...] [--seeds N] [--smoke] [--force] [-j N]
       [--budget 90m|4h|RUNS [--looks N ...] [--spending pocock|obrien-fleming]]
       [--precision P] [--backend tensorflow|jax|torch] [--scheduler ADDRESS] [--root DIR] [--params DIR]
       [--pages FILE]
Only notebooks whose inputs changed (see pipeline.staleness) are executed, unless --force. With --budget, rounds of
seeds follow the first look as the dataset's sequential design asks (pipeline.rounds). Ctrl-C or SIGTERM
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
from pipeline import rounds
from study import backend, loading, sequential, stats
from study.data import DATASETS, LABELS, STUDY_DATASETS, Dataset, advice, resolve
from study.spec import PARAMS_DIR, SpecError, load_specs

DEFAULT_SEEDS = 3
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
    p.add_argument("--budget", default=None,
                   help="a sequential design: after the first look, add seeds where they buy the most decisions per "
                        "second, until every claim is decided or not decidable or this much training is spent "
                        "(90m, 4h, 5400s, or a number of runs); resumes the design recorded in book/<dataset>/")
    p.add_argument("--looks", type=int, nargs="+", default=None,
                   help=f"the design's looks, seeds per model (default: {' '.join(map(str, sequential.DEFAULT_LOOKS))})")
    p.add_argument("--spending", default=None, choices=("pocock", "obrien-fleming"),
                   help=f"the design's alpha-spending function (default: {sequential.DEFAULT_SPENDING})")
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
    problems += _design_problems(args)
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


def _design_problems(args: argparse.Namespace) -> list[str]:
    """What is wrong with the design options: the budget, the looks (increasing, the first at least MIN_SEEDS and
    equal to --seeds if given) and options that need --budget."""
    if args.budget is None:
        return [f"{name} needs --budget" for name, given in (("--looks", args.looks), ("--spending", args.spending))
                if given is not None]
    problems = []
    try:
        args.budget_amount, args.budget_unit = rounds.parse_budget(args.budget)
    except ValueError as exc:
        problems.append(str(exc))
    looks = args.looks or list(sequential.DEFAULT_LOOKS)
    if looks[0] < stats.MIN_SEEDS or any(b <= a for a, b in zip(looks, looks[1:])):
        problems.append(f"--looks must increase from at least {stats.MIN_SEEDS} seeds, got {' '.join(map(str, looks))}")
    if args.seeds is not None and args.seeds != looks[0]:
        problems.append(f"--seeds {args.seeds} with --budget: the first look is --looks' first, {looks[0]}")
    return problems


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
         more: rounds.Rounds | None = None) -> float:
    """Run the model pages' seed jobs, each page as soon as its seeds are in, then, in a design, round after round
    the pages `more` asks for the same way (no seed job starting after its deadline), then the summary pages (all
    of them when a model ran), on the plan's local workers (each pinned to its own GPU where there are GPUs) or the
    cluster at --scheduler, publishing each outcome as it arrives and appending it to `finished`; the seconds the
    workers were up. KeyboardInterrupt on Ctrl-C or SIGTERM."""
    before = running_now()
    NOTEBOOKS.open()
    try:
        with schedule.client(plan.workers, plan.args.scheduler, plan.scratch) as client:
            up = time.perf_counter()

            def publish(jobs: list[Job], what: str, then=None, deadline=None) -> None:
                for job, outcome in schedule.run(client, jobs, what, then, deadline):
                    with stop.shielded():
                        job.publish(outcome)
                        finished.append((job, outcome))
                    if more is not None and isinstance(job, SeedJob):
                        more.trained()

            def publish_models(models: list[ModelJob], what: str, deadline=None) -> bool:
                if models:
                    seeds, then = _pages_when_seeded(models)
                    publish(seeds, what, then, deadline)
                return bool(models)

            try:
                _stages(plan, todo, pages, more, publish, publish_models)
                return time.perf_counter() - up
            except KeyboardInterrupt:
                NOTEBOOKS.close()  # the kernels first, so that the workers' jobs end and the cluster closes at once
                if more is not None:
                    with stop.shielded():
                        more.interrupted()
                raise
    finally:
        end(descendants(but=before))


def _stages(plan: Plan, todo: list[ModelJob], pages: list[PageJob], more: rounds.Rounds | None,
            publish: Callable, publish_models: Callable) -> None:
    """The model pages, then a design's rounds until they end, then the summary pages (all of them when a model
    ran, new results changing every one)."""
    ran = publish_models(todo, "models")
    while more is not None and publish_models(more.next(), "round", more.deadline):
        ran = True
    publish(plan.page_jobs(force=True) if ran else pages, "pages")


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
    design: sequential.Design | None
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
    seeds = seed_count(args) if args.budget is None else (args.looks or sequential.DEFAULT_LOOKS)[0]
    if gpus:
        print(f"{len(gpus)} GPU(s) seen by {args.backend}: {', '.join(gpus)}; {workers} worker(s), each on its own")
    return Plan(args=args, specs=specs, book=book, data=list({d.name: d for d in resolved.values()}.values()),
                workers=workers, threads=max(1, (os.cpu_count() or 1) // workers), gpus=gpus,
                science=staleness.science_hash(), seeds=seeds,
                design=None if args.budget is None else sequential.Design(
                    looks=tuple(args.looks or sequential.DEFAULT_LOOKS), spending=args.spending or
                    sequential.DEFAULT_SPENDING, budget=args.budget_amount, unit=args.budget_unit),
                scratch=None if args.scheduler else scratch)


def _designs(plan: Plan) -> dict[str, dict[str, int]]:
    """Record each dataset's design (resuming the one recorded, with this command's budget; without --budget, the
    one recorded is kept unless --seeds asks for a plain edition) and return the seeds each model's page is to have:
    the first look's, or in a design at least those its page has. Refused when --looks or --spending differ from
    the design recorded."""
    args, seeds = plan.args, {}
    for d in plan.data:
        models_dir = plan.book.models_dir(d.name)
        recorded = sequential.read(models_dir)
        design = None if args.seeds is not None and plan.design is None else recorded
        if plan.design is not None and recorded is not None:
            differs = [f"--{name} {given}" for name, given, kept in (
                ("looks", args.looks and tuple(args.looks), recorded.looks), ("spending", args.spending, recorded.spending))
                if given is not None and given != kept]
            if differs:
                raise Refused(f"{sequential.design_path(models_dir)} records a design with looks "
                              f"{' '.join(map(str, recorded.looks))} and {recorded.spending} spending; "
                              f"{', '.join(differs)} would change it: leave them out to resume it, or delete that "
                              "file to start a new design")
            design = recorded.model_copy(update={"budget": plan.design.budget, "unit": plan.design.unit})
        elif plan.design is not None:
            design = plan.design
        sequential.write(models_dir, design)
        have = {} if design is None else {rid: len(r.seeds) for rid, r in loading.load(models_dir, ids=plan.specs)
                                          .records.items()}
        first = design.looks[0] if design else plan.seeds
        seeds[d.name] = {rid: max(first, have.get(rid, 0)) for rid in plan.specs}
    return seeds


def _todo(plan: Plan) -> tuple[list[ModelJob], list[ModelJob]]:
    """The model pages asked for and those of them to execute (out of date, damaged, or all with --force), after
    setting damaged results aside and naming orphans; the design recorded beside each dataset's models."""
    args = plan.args
    seeds = _designs(plan)
    jobs = [job for d in plan.data for rid in (args.ids or list(plan.specs))
            for job in plan.model_jobs(d, [rid], seeds[d.name][rid])]
    for line in set_aside_damaged(jobs) + orphans(plan.book, plan.specs):
        print(line)
    todo = jobs if args.force else [j for j in jobs if not j.is_fresh()]
    skipped = [j.name for j in jobs if j not in todo]
    if skipped:
        print(f"up to date, skipped: {', '.join(skipped)}")
    for job in jobs:
        if job not in todo:  # a failure of other inputs than the page's is out of date
            failed_path(job.notebook).unlink(missing_ok=True)
    return jobs, todo


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
        more = None if plan.design is None else rounds.Rounds(
            plan.data, plan.book.models_dir, specs, lambda d, rid, n: plan.model_jobs(d, [rid], n), plan.workers,
            finished)
        if todo or pages or more:
            try:
                up = _run(plan, todo, pages, stop, finished, more)
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
