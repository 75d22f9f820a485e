"""The rounds of a command's sequential designs (`--budget`): after each round, every dataset's claims are tested
again, the next round's seeds go where they buy the most decisions per unit of budget
(`study.sequential.plan_round`), and each round is recorded in the dataset's design.json as it ends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from pipeline.jobs import ModelJob, Outcome, SeedJob
from pipeline.schedule import Job
from study import evidence, loading, report, sequential
from study.data import Dataset

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> tuple[float, str]:
    """A budget as the command line gives it: "90m", "4h", "5400s" (training time: seconds, "s") or a whole number
    of runs ("120": "runs"); ValueError naming what is allowed."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found or (not found[2] and "." in found[1]) or float(found[1]) <= 0:
        raise ValueError(f"--budget {text!r}: give a training time such as 90m, 4h or 5400s, or a whole number of "
                         "runs such as 120")
    amount, unit = float(found[1]), found[2]
    return (amount * UNITS[unit], "s") if unit else (amount, "runs")


class Rounds:
    """A command's rounds over its datasets' designs, the budget (seconds of training wall time on these workers,
    or runs) shared by them: `next()` records the round that just ended and returns the next round's model pages,
    `trained()` notes each seed job's end, `interrupted()` records a round cut short; `deadline` is when no more
    seed job may start."""

    def __init__(self, datasets: list[Dataset], models_dir: Callable[[str], object], specs: dict,
                 jobs: Callable[[Dataset, str, int], list[ModelJob]], workers: int,
                 finished: list[tuple[Job, Outcome]]):
        self.datasets, self.models_dir, self.specs, self.jobs = datasets, models_dir, specs, jobs
        self.workers, self.finished = workers, finished
        self.started: float | None = None
        self.trained_until: float | None = None
        self.seen = 0
        self.costs: dict[str, float] = {}
        self.deadline: float | None = None

    def _designs(self) -> dict[str, sequential.Design]:
        return {d.name: sequential.read(self.models_dir(d.name)) for d in self.datasets}

    def _left(self, designs: dict[str, sequential.Design]) -> float:
        first = next(iter(designs.values()))
        return max(first.budget - sum(d.spent for d in designs.values()), 0.0)

    def next(self) -> list[ModelJob]:
        """Record the round that ended (if one did), then plan the next: a line per claim, the model pages to run
        with the seeds they reach; none when every claim is decided or not decidable, the budget is spent or a
        job failed."""
        designs = self._designs()
        loaded = {d.name: loading.load(self.models_dir(d.name), ids=self.specs) for d in self.datasets}
        verdicts = {name: evidence.claim_verdicts(self.specs, results) for name, results in loaded.items()}
        if self.started is not None:
            designs = self._record(designs, loaded, verdicts)
        if any(not o.ok for _, o in self.finished):
            print("--budget: no more rounds, a job failed")
            return []
        left, jobs, self.costs = self._left(designs), [], {}
        if left <= 0:
            print("--budget: spent; run again with a larger --budget to go on")
            return []
        for d in self.datasets:
            design = designs[d.name]
            have = {rid: len(runs) for rid, runs in loaded[d.name].runs.items()}
            per_seed = loading.seconds_per_seed(loaded[d.name], self.workers)
            if design.unit == "runs":
                per_seed = dict.fromkeys(per_seed, 1.0)
            plan = sequential.plan_round(verdicts[d.name], design, have, per_seed, left)
            left -= plan.cost
            self.costs[d.name] = plan.cost
            print(report.round_lines(d.label, design, plan, left))
            jobs += [job for rid, n in plan.wanted.items() for job in self.jobs(d, rid, n)]
        self.started, self.seen, self.trained_until = time.perf_counter(), len(self.finished), None
        budget_left = self._left(designs)
        self.deadline = (self.started + budget_left) if next(iter(designs.values())).unit == "s" else None
        return jobs

    def trained(self) -> None:
        """Note that a seed job of the round has just finished: the round's training lasts until the last one."""
        self.trained_until = time.perf_counter()

    def _record(self, designs: dict[str, sequential.Design], loaded: dict, verdicts: dict
                ) -> dict[str, sequential.Design]:
        """Append the round that just ended to each dataset's design: its training's wall time (from its start to
        its last seed job's end) shared by the datasets' planned costs, or the runs it trained."""
        seconds = max((self.trained_until or self.started) - self.started, 0.0)
        total = sum(self.costs.values())
        out = {}
        for d in self.datasets:
            trained = sum(1 for j, o in self.finished[self.seen:]
                          if isinstance(j, SeedJob) and o.stored and j.dataset == d.name)
            design = designs[d.name]
            share = self.costs.get(d.name, 0.0) / total if total else 1 / len(self.datasets)
            spent = trained if design.unit == "runs" else seconds * share
            vs = verdicts[d.name]
            done = sequential.Round(seeds={rid: len(runs) for rid, runs in loaded[d.name].runs.items()},
                                    trained=trained, spent=spent,
                                    decided=sum(v.verdict in evidence.stats.OUTCOMES for v in vs),
                                    futile=sum(bool(v.why_not) for v in vs))
            out[d.name] = design.model_copy(update={"rounds": [*design.rounds, done]})
            sequential.write(self.models_dir(d.name), out[d.name])
        self.started = None
        return out

    def interrupted(self) -> None:
        """Record the round under way when the command was stopped, so that its spending counts."""
        if self.started is None:
            return
        loaded = {d.name: loading.load(self.models_dir(d.name), ids=self.specs) for d in self.datasets}
        verdicts = {name: evidence.claim_verdicts(self.specs, results) for name, results in loaded.items()}
        self._record(self._designs(), loaded, verdicts)
