"""Runs jobs on Dask distributed, a local cluster by default or an existing one by address, and reports each as
it finishes."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline.interrupt import signals_ignored
from pipeline.jobs import ModelJob, Outcome, PageJob, SeedJob, run_job
from pipeline.workers import mismatches


@contextlib.contextmanager
def client(workers: int, scheduler: str | None = None, scratch: Path | None = None):
    """A Dask client: on `scheduler` if given, else on a local cluster of `workers` single-threaded workers whose
    files (Dask's `dask-scratch-space`, the scheduler's too) go into `scratch`. The workers are processes of their
    own (a seed job trains in its worker's process, which keeps Keras and the data loaded for the next), each
    pinned to its own GPU where there are GPUs."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    # saturation 1.0: a one-thread worker holds one job, so none waits queued behind another while a worker idles
    with dask.config.set({"temporary-directory": str(scratch) if scratch else None,
                          "distributed.scheduler.worker-saturation": 1.0}):
        with signals_ignored():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        with cluster, Client(cluster) as c:
            yield c


def refusals(address: str, timeout: float = 5.0) -> list[str]:
    """Why the Dask cluster at `address` cannot run this study, a line per reason: its scheduler cannot be reached,
    it has no worker, or a worker runs other code or packages than this checkout (`pipeline.workers`)."""
    from dask.distributed import Client

    try:
        with Client(address, timeout=f"{timeout}s") as c:
            return [f"--scheduler {address}: {problem}" for problem in mismatches(c)]
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"--scheduler {address}: cannot connect ({reason}); check that `dask scheduler` runs there, that "
                "the address and port are right and that this machine can reach it"]


Job = SeedJob | ModelJob | PageJob


def run(client, jobs: list[Job], what: str, then: Callable[[Job, Outcome], list[Job]] | None = None,
        deadline: float | None = None) -> Iterator[tuple[Job, Outcome]]:
    """Run every job on `client`'s workers, one per worker at a time, longest first; yield each job with its outcome
    as it finishes, and print its line once the caller has handled (published) it, so a printed page is a kept
    one. Then `then(job, outcome)` names the jobs that can start now (a model page whose seeds are in), which go
    ahead of every job still waiting. A failing job does not stop the others; a job whose worker died is rerun on
    another (Dask retries it), and fails, named, when the cluster gives it up. With a `deadline` (a
    `time.perf_counter()` value), seed jobs start one per worker and none starts after it: the budget is passed by
    at most the runs already going, one per worker."""
    from dask.distributed import as_completed

    start = time.perf_counter()
    futures: dict = {}
    held = _Held(jobs, deadline, sum(client.nthreads().values()))

    def submit(batch: list[Job], priority: int) -> list:
        ordered = longest_first(batch)
        new = [client.submit(run_job, job, key=f"{job.name}-{job.inputs_hash[:12]}", pure=False,
                             priority=priority - rank) for rank, job in enumerate(ordered)]
        futures.update(zip(new, ordered))
        return new

    running = as_completed(submit(held.first(jobs), 0))
    # the bar redraws in a terminal; in a log (CI, nox piped) each finished job's line carries the progress
    with tqdm(total=len(jobs), desc=what, unit="job", file=sys.stdout, mininterval=1, disable=not sys.stdout.isatty(),
              bar_format="{desc}: {n}/{total} |{bar:30}| {elapsed} elapsed, ~{remaining} left") as bar:
        for done, future in enumerate(running, 1):
            job = futures[future]
            outcome = _outcome(future, job, start)
            yield job, outcome
            more = then(job, outcome) if then else []
            started, dropped = held.release(futures)
            for new in submit(more, len(futures) + len(more)) + submit(started, 0):
                running.add(new)
            bar.total += len(more) - dropped
            progress = _progress(done, bar.total, time.perf_counter() - start) if bar.disable else ""
            bar.write(line(outcome) + progress, file=sys.stdout)
            bar.update()


def _outcome(future, job: Job, start: float) -> Outcome:
    """A finished job's outcome, or its failure when its worker died and Dask gave it up."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - Dask's KilledWorker, or a lost connection: that job failed
        return Outcome(name=job.name, ok=False, seconds=time.perf_counter() - start,
                       for_page=job.page if isinstance(job, SeedJob) else "",
                       error=f"its worker died and Dask gave it up ({type(exc).__name__}: {exc})")


class _Held:
    """Seed jobs held back under a deadline (none without one): one per worker slot at a time, none started after
    it."""

    def __init__(self, jobs: list[Job], deadline: float | None, slots: int):
        self.deadline, self.slots = deadline, slots
        self.jobs = [j for j in longest_first(jobs) if isinstance(j, SeedJob)] if deadline is not None else []

    def first(self, jobs: list[Job]) -> list[Job]:
        """The jobs to submit at once: all but the held seed jobs, and as many of those as there are slots."""
        held = set(self.jobs)
        out = [j for j in jobs if j not in held] + self.jobs[: self.slots]
        del self.jobs[: self.slots]
        return out

    def release(self, futures: dict) -> tuple[list[Job], int]:
        """The held seed jobs that can start now, and how many were dropped, the deadline having passed."""
        if self.deadline is None:
            return [], 0
        if time.perf_counter() >= self.deadline:
            dropped = len(self.jobs)
            if dropped:
                print(f"budget spent: {dropped} seed job(s) not started", file=sys.stdout)
            self.jobs.clear()
            return [], dropped
        going = sum(1 for f, j in futures.items() if isinstance(j, SeedJob) and not f.done())
        out = self.jobs[: max(self.slots - going, 0)]
        del self.jobs[: len(out)]
        return out, 0


def seed_jobs(models: list[ModelJob]) -> list[SeedJob]:
    """The seed jobs of the model pages, each estimated at its model's last recorded seconds per seed, else at an
    estimate from its parameter file scaled to the recorded ones."""
    recorded = {j: j.recorded_seconds() for j in models}
    pairs = [(recorded[j], j.estimated_cost()) for j in models if recorded[j]]
    scale = sum(r for r, _ in pairs) / sum(c for _, c in pairs) if pairs else 1.0
    return [seed for j in models for seed in j.seed_jobs(recorded[j] or scale * j.estimated_cost())]


def longest_first(jobs: list[Job]) -> list[Job]:
    """Jobs in the order to start them: seed jobs by their estimated training, longest first, so that no long run
    starts last (those likely stored go last: they only check); other jobs as given."""
    return sorted(jobs, key=lambda j: -j.seconds if isinstance(j, SeedJob) else 0.0)


def busy_share(outcomes: list[Outcome], workers: int, seconds: float) -> float:
    """The workers' mean busy share over `seconds` of a run: their jobs' seconds over the workers' seconds."""
    return sum(o.seconds for o in outcomes) / (workers * seconds) if seconds > 0 else 0.0


def _progress(done: int, total: int, elapsed: float) -> str:
    left = elapsed / done * (total - done)
    return f"   [{done}/{total} done, {elapsed:.0f} s elapsed, ~{left:.0f} s left]"


def line(outcome: Outcome) -> str:
    """One line for a finished job: the run trained or found stored (seed jobs), its test accuracy (model pages)
    or status, and its time."""
    if not outcome.ok:
        return f"  {outcome.name}: FAILED after {outcome.seconds:.0f} s: {outcome.error}"
    if outcome.for_page:
        return f"  {outcome.name}: {'trained' if outcome.stored else 'stored run found'}, {outcome.seconds:.0f} s"
    if outcome.record is None:
        return f"  {outcome.name}: ok, {outcome.seconds:.0f} s"
    acc, d = outcome.record.summary.accuracy, outcome.record.dataset
    spread = f" ± {acc.sd:.4f}" if acc.n > 1 else ""
    return (f"  {outcome.name}: test accuracy {acc.mean:.4f}{spread} over {acc.n} seed(s) on {d.label} "
            f"({d.n_train:,}/{d.n_test:,}), {outcome.seconds:.0f} s")


def summary_table(outcomes: list[Outcome], seeds: list[Outcome] = ()) -> str:
    """The finished model pages as a table: status, accuracy and sd (four decimals), seeds, the runs trained for
    it now, their seconds and the page's (one decimal)."""
    rows = []
    for o in outcomes:
        acc = o.record.summary.accuracy if o.ok and o.record else None
        trained = [s for s in seeds if s.for_page == o.name and s.stored]
        rows.append({"model": o.name, "status": "ok" if o.ok else "FAILED",
                     "accuracy": f"{acc.mean:.4f}" if acc else "—",
                     "sd": f"{acc.sd:.4f}" if acc and acc.n > 1 else "—", "seeds": str(acc.n) if acc else "—",
                     "trained": str(len(trained)), "training s": f"{sum(s.seconds for s in trained):.1f}",
                     "page s": f"{o.seconds:.1f}"})
    return pd.DataFrame(rows).set_index("model").to_string()
