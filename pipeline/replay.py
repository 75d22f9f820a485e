"""Replays a book's recorded job times on N workers: how long its model pages would take and how busy the workers
stay, split as `pipeline.execute` runs them (a seed job per run, then the page's job, which assembles the page from
its seeds' runs) against the split that preceded it, one job per (dataset, model) page training all its seeds.

Usage: python -m pipeline.replay BOOK_DIR [BOOK_DIR ...] [--workers 2 4 8 16 32] [--fill]
       [--like MODEL=DONOR*RATIO ...]

A BOOK_DIR holds `<dataset>/models/<id>.json` records and their pages, as `nox -s execute` writes them. The jobs
start in list order, each on the first free worker once what it needs is done (Dask's order for tasks of equal
priority): every seed job, page by page, then every page's job. The pipeline orders them otherwise (seed jobs longest
first, a page's job ahead of the seed jobs still waiting). A seed job is charged the whole page's time outside
training (kernel, imports, data, evaluation, figures) on top of its seed's training, and so is the page's job, which
in the pipeline only assembles the page: the replay errs against the seed split. With --fill, a model page missing
on one dataset is replayed with the same model's times on the other dataset; with --like, a model recorded nowhere
is replayed as another's pages with its seeds' training scaled by a measured ratio. Both say so.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.staleness import stamp

WORKERS = (2, 4, 8, 16, 32)


class _Seconds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    train: float
    total: float | None = None


class _Timed(BaseModel):
    """The timing fields of a model record or a seed's run record, whatever version of the study wrote it."""

    model_config = ConfigDict(extra="ignore")
    seconds: _Seconds
    runs: list[str] = []


@dataclass(frozen=True)
class Recorded:
    """One model page's recorded times: the page's wall time, each seed's training, and whether it stands in for a
    page that was not recorded."""

    dataset: str
    model: str
    seeds: tuple[float, ...]
    page: float
    stand_in: bool = False

    @property
    def other(self) -> float:
        """The page's time outside training: kernel, imports, data, evaluation and figures."""
        return self.page - sum(self.seeds)


@dataclass(frozen=True)
class Task:
    name: str
    seconds: float
    after: tuple[str, ...] = ()


def recorded(book_dirs: list[Path]) -> list[Recorded]:
    """Every model page recorded in `book_dirs`, later folders replacing earlier ones' pages. A page without a
    stamped wall time gets its record's total plus the median kernel start of the pages that have one."""
    found: dict[tuple[str, str], tuple[_Timed, list[float], float | None]] = {}
    for book in book_dirs:
        for path in sorted(book.glob("*/models/*.json")):
            times = _Timed.model_validate_json(path.read_text())
            seeds = [_Timed.model_validate_json((path.parent / run).read_text()).seconds.train for run in times.runs]
            page = stamp(path.with_suffix(".ipynb")).get("seconds")
            found[(path.parent.parent.name, path.stem)] = (times, seeds, page)
    if not found:
        raise FileNotFoundError(f"no model records (<dataset>/models/<id>.json) in {', '.join(map(str, book_dirs))}")
    starts = [page - t.seconds.total for t, _, page in found.values() if page is not None and t.seconds.total]
    start = statistics.median(starts) if starts else 0.0
    return [Recorded(d, m, tuple(seeds), page if page is not None else (t.seconds.total or t.seconds.train) + start)
            for (d, m), (t, seeds, page) in sorted(found.items())]


def filled(pages: list[Recorded]) -> list[Recorded]:
    """The pages, plus each model missing on a dataset replayed with that model's times on another dataset."""
    datasets, models = sorted({p.dataset for p in pages}), sorted({p.model for p in pages})
    have = {(p.dataset, p.model): p for p in pages}
    out = list(pages)
    for d in datasets:
        for m in models:
            if (d, m) not in have:
                donor = next(p for p in pages if p.model == m)
                out.append(Recorded(d, m, donor.seeds, donor.page, stand_in=True))
    return sorted(out, key=lambda p: (p.dataset, p.model))


def like(pages: list[Recorded], model: str, donor: str, ratio: float) -> list[Recorded]:
    """The pages, plus `model` on every dataset `donor` was recorded on: the donor's page with each seed's training
    scaled by `ratio` (how much longer `model` trains, measured)."""
    scaled = [Recorded(p.dataset, model, tuple(ratio * s for s in p.seeds), p.other + ratio * sum(p.seeds), True)
              for p in pages if p.model == donor]
    if not scaled:
        raise ValueError(f"--like {model}={donor}*{ratio}: no page of {donor} was recorded")
    return sorted(pages + scaled, key=lambda p: (p.dataset, p.model))


def page_jobs(pages: list[Recorded]) -> list[Task]:
    """The split before seed jobs: one job per model page, training its seeds itself."""
    return [Task(f"{p.dataset}/{p.model}", p.page) for p in pages]


def seed_jobs(pages: list[Recorded]) -> list[Task]:
    """The pipeline's split: a job per seed (its training plus the page's time outside training), then the page's
    job, which assembles the page from its seeds' runs once they are done."""
    seeds = [Task(f"{p.dataset}/{p.model}/seed_{i}", p.other + s) for p in pages for i, s in enumerate(p.seeds)]
    assembled = [Task(f"{p.dataset}/{p.model}", p.other, tuple(f"{p.dataset}/{p.model}/seed_{i}"
                                                                   for i in range(len(p.seeds)))) for p in pages]
    return seeds + assembled


def replay(tasks: list[Task], workers: int) -> tuple[float, float]:
    """The wall time of `tasks` on `workers` workers and the share of worker time spent busy: each free worker takes
    the first task, in list order, whose dependencies are done."""
    pending, running, done = list(tasks), [], set()
    now, free = 0.0, workers
    while pending or running:
        ready = [t for t in pending if set(t.after) <= done]
        for task in ready[:free]:
            pending.remove(task)
            heapq.heappush(running, (now + task.seconds, task.name))
            free -= 1
        if not running:
            raise ValueError(f"tasks wait on tasks that never run: {', '.join(t.name for t in pending)}")
        now, name = heapq.heappop(running)
        done.add(name)
        free += 1
        while running and running[0][0] == now:
            done.add(heapq.heappop(running)[1])
            free += 1
    busy = sum(t.seconds for t in tasks)
    return now, busy / (workers * now)


def table(pages: list[Recorded], workers: tuple[int, ...] = WORKERS) -> str:
    """The replay as a Markdown table: per N workers, each split's wall time and busy share, and the speed-up."""
    rows = ["| workers | one job per page | busy | one job per seed | busy | per seed vs per page |",
            "|---:|---:|---:|---:|---:|---:|"]
    for n in workers:
        (page_wall, page_busy), (seed_wall, seed_busy) = replay(page_jobs(pages), n), replay(seed_jobs(pages), n)
        rows.append(f"| {n} | {page_wall:,.0f} s | {page_busy:.0%} | {seed_wall:,.0f} s | {seed_busy:.0%} | "
                    f"{page_wall / seed_wall:.2f}x |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.replay", description=__doc__.splitlines()[0])
    parser.add_argument("books", nargs="+", type=Path, help="book folders holding <dataset>/models/<id>.json")
    parser.add_argument("--workers", nargs="+", type=int, default=list(WORKERS))
    parser.add_argument("--fill", action="store_true",
                        help="replay a model missing on one dataset with its times on another")
    parser.add_argument("--like", nargs="+", default=[], metavar="MODEL=DONOR*RATIO",
                        help="replay MODEL, recorded nowhere, as DONOR with its training RATIO times as long")
    args = parser.parse_args(argv)
    try:
        pages = recorded(args.books)
        if args.fill:
            pages = filled(pages)
        for text in args.like:
            model, _, rest = text.partition("=")
            donor, _, ratio = rest.partition("*")
            pages = like(pages, model, donor, float(ratio))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in pages:
        seeds = ", ".join(f"{s:,.0f}" for s in p.seeds)
        print(f"{p.dataset}/{p.model}: page {p.page:,.0f} s, seeds {seeds} s"
              + (" (stand-in, not recorded: see --fill and --like)" if p.stand_in else ""))
    print(f"\n{len(pages)} model pages ({sum(p.stand_in for p in pages)} of them stand-ins), "
          f"{sum(len(p.seeds) for p in pages)} seeds, {sum(p.page for p in pages):,.0f} s of work\n")
    print(table(pages, tuple(args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
