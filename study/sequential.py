"""A dataset's group-sequential design: looks at seed counts fixed in advance, each claim's level spent over them
(`study.stats.sequential_holm`), the rounds taken so far, and where the next round's seeds buy the most decisions
per second of training."""

from __future__ import annotations

import math
from pathlib import Path

from study import stats
from study.files import write_atomic
from study.typed import Strict

DEFAULT_LOOKS = (3, 6, 9, 12, 16, 20, 25, 30)
DEFAULT_SPENDING: stats.Spending = "pocock"


class Round(Strict):
    """One round of a design after its first look: the seeds each model had when it ended, the runs it trained and
    the seconds (or runs) of the budget it spent, and the claims decided and not decidable when it ended."""

    seeds: dict[str, int]
    trained: int
    spent: float
    decided: int
    futile: int


class Design(Strict):
    """How a dataset's seeds are chosen: the looks (seeds per model) and the spending function fixed in advance, the
    family's level, the budget after the first look (`unit`: "s" of training on this machine's workers, or "runs")
    and the rounds taken."""

    looks: tuple[int, ...] = DEFAULT_LOOKS
    spending: stats.Spending = DEFAULT_SPENDING
    alpha: float = stats.ALPHA
    budget: float = 0.0
    unit: str = "s"
    rounds: list[Round] = []

    @property
    def spent(self) -> float:
        """The budget spent by the rounds taken."""
        return sum(r.spent for r in self.rounds)

    @property
    def left(self) -> float:
        return max(self.budget - self.spent, 0.0)

    def nominal(self, level: float) -> tuple[float, ...]:
        """Each look's nominal level for a claim holding `level`."""
        return stats.nominal_levels(level, self.looks, self.spending)

    def planned_seeds(self, needs: int | None) -> int:
        """The seeds per model planned for an open claim: what it needs (None: unknown), at most the last look."""
        return min(needs or self.looks[-1], self.looks[-1])

    def look_index(self, seeds: int) -> int | None:
        """Which look `seeds` per model is (None: not a look)."""
        return self.looks.index(seeds) if seeds in self.looks else None


def design_path(models_dir: str | Path) -> Path:
    """Where a dataset's design lies: beside its models folder."""
    return Path(models_dir).parent / "design.json"


def read(models_dir: str | Path) -> Design | None:
    """The design of the dataset whose models lie in `models_dir`, or None (one look at the seeds there)."""
    path = design_path(models_dir)
    return Design.model_validate_json(path.read_bytes()) if path.is_file() else None


def write(models_dir: str | Path, design: Design | None) -> None:
    """Record a dataset's design (None: remove it, the seeds there being one look)."""
    if design is None:
        design_path(models_dir).unlink(missing_ok=True)
    else:
        write_atomic(design_path(models_dir), design.model_dump_json(indent=1))


class Step(Strict):
    """What the next round does for one claim: its state (`decided`, `futile`, `adds`, `waits` for budget, or
    `untested`), the seeds per model it goes to, its chance of being decided there and that chance per second (or
    run) of the budget, and why, in words."""

    claim: str
    model: str
    baseline: str
    state: str
    seeds: int | None = None
    power: float = 0.0
    per_cost: float = 0.0
    why: str = ""


class RoundPlan(Strict):
    """The next round: the seeds each model should reach, the runs that adds, its estimated cost, and a step per
    claim."""

    wanted: dict[str, int]
    added: int
    cost: float
    steps: list[Step]


def _settled(verdicts: list) -> tuple[list[Step], list[tuple]]:
    """The steps of the claims a round cannot move (decided, not decidable, or at no look it can reach), and the
    open claims with their steps still to fill."""
    steps, open_ = [], []
    for v in verdicts:
        step = Step(claim=v.claim, model=v.model, baseline=v.baseline, state="untested")
        if v.verdict in stats.OUTCOMES:
            steps.append(step.model_copy(update={"state": "decided", "why": f"{v.verdict} at {v.diff.n_a} seeds"}))
        elif v.why_not:
            steps.append(step.model_copy(update={"state": "futile", "why": f"{v.verdict}: {v.why_not}"}))
        elif v.next_seeds is None:
            steps.append(step.model_copy(update={"why": "no look it can reach"}))
        else:
            open_.append((v, step))
    return steps, open_


def plan_round(verdicts: list, design: Design, have: dict[str, int], cost_per_seed: dict[str, float],
               budget_left: float) -> RoundPlan:
    """The next round of a design from the claims' verdicts (`study.evidence.claim_verdicts`). Each open claim's plan
    is the seeds that give it 80 % power for our difference at the last look's level (at most the last look); the
    claims are taken by their chance of a verdict at the next look per unit of what their plan costs, and each is
    given the budget its whole plan needs while the budget left covers it, so that the budget goes to claims it can
    see through. A claim taken goes to its next look; one whose plan the budget left cannot cover waits. A model
    shared by several claims is paid for once."""
    steps, open_ = _settled(verdicts)
    held, wanted = dict(have), dict(have)

    def cost(v, n: int, base: dict[str, int]) -> float:
        return sum(max(0, n - base.get(m, 0)) * cost_per_seed[m] for m in dict.fromkeys((v.model, v.baseline)))

    def plan(v) -> int:
        return max(design.planned_seeds(v.needs_for_ours), v.next_seeds)

    ranked = sorted(open_, key=lambda vs: -vs[0].next_power / max(cost(vs[0], plan(vs[0]), have), 1e-9))
    reserved = 0.0
    for v, step in ranked:
        n, whole = v.next_seeds, cost(v, plan(v), have)
        step = step.model_copy(update={"seeds": n, "power": v.next_power,
                                       "per_cost": v.next_power / whole if whole else math.inf})
        extra = cost(v, plan(v), held)
        if extra > budget_left - reserved:
            steps.append(step.model_copy(update={
                "state": "waits", "why": f"the {plan(v)} seeds per model planned for it cost {extra:,.0f} more than "
                                         f"the claims before it hold; {max(budget_left - reserved, 0):,.0f} of the "
                                         "budget is left"}))
            continue
        reserved += extra
        for m in (v.model, v.baseline):
            held[m], wanted[m] = max(held.get(m, 0), plan(v)), max(wanted.get(m, 0), n)
        steps.append(step.model_copy(update={
            "state": "adds", "why": f"undecided at {v.diff.n_a} seeds; {n} seeds per model give it a "
                                    f"{v.next_power:.0%} chance of a verdict at {100 * v.next_level:.2g} %, and "
                                    f"the budget holds the {plan(v)} planned for it"}))
    wanted = {m: n for m, n in wanted.items() if n > have.get(m, 0)}
    return RoundPlan(wanted=wanted, added=sum(n - have.get(m, 0) for m, n in wanted.items()),
                     cost=sum((n - have.get(m, 0)) * cost_per_seed[m] for m, n in wanted.items()), steps=steps)
