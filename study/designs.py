"""Seed designs benched on simulated claims whose truths are a built book's own figures: each model's mean test
accuracy, its seed spread (the pooled learned spread), its share of runs at chance, each claim's test-set noise and
each model's training seconds per seed. A replicate draws every model's runs and one test-set error per claim once;
every design then reads the same replicate (its first n runs of a model), so that designs differ in their rules
alone."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from study import evidence, loading, sequential, stats
from study.loading import DatasetResults
from study.spec import ModelSpec, load_specs

FIXED = (3, 5, 8, 10, 12, 15, 18, 20, 25, 30, 40, 50)  # seeds per model of the one-look designs: the curve compared
TWO_LOOK_FIRST, TWO_LOOK_CAP = 3, 10  # the previous two-look design: its first look and its most seeds per model
WORKERS = 2  # the workers training side by side that turn training seconds into hours
BUDGETS = (10, 15, 20)  # the budgeted sequential designs spend the runs the fixed design with this many seeds spends
FAR_LOOKS = (*sequential.DEFAULT_LOOKS, 40, 50)  # the sequential design reaching further than its default last look
REPLICATES = 200


@dataclass(frozen=True)
class ModelTruth:
    """A simulated model: its runs that learn score `learned_pp` ± `sd_pp` (seed sd), a share `chance_share` stay at
    chance (`chance_pp` ± `chance_sd_pp`); `seconds` of training per seed on one worker."""

    learned_pp: float
    sd_pp: float
    chance_share: float
    chance_pp: float
    chance_sd_pp: float
    seconds: float

    @property
    def mean_pp(self) -> float:
        """The expected accuracy of a run, over learned runs and those at chance (pp)."""
        return (1 - self.chance_share) * self.learned_pp + self.chance_share * self.chance_pp


@dataclass(frozen=True)
class ClaimTruth:
    """A simulated claim: A (`model`) against B (`baseline`), its true difference A - B (pp), its test set's image
    variance (pp²) over `images` images, and the seed report's difference (pp, None where it printed none)."""

    claim: str
    model: str
    baseline: str
    direction: stats.Direction
    truth_pp: float
    image_var: float
    images: int
    seed_diff_pp: float | None


@dataclass(frozen=True)
class Book:
    """A built book's figures as the truths of the simulation: its models, its claims, its margin and the accuracy
    below which a run stayed at chance (pp)."""

    dataset: str
    margin: float
    chance_pp: float
    models: dict[str, ModelTruth]
    claims: list[ClaimTruth]


@dataclass(frozen=True)
class Replicate:
    """One simulated study: every model's runs in seed order (pp) and each claim's test-set error (pp)."""

    runs: dict[str, np.ndarray]
    errors: np.ndarray


class Outcome(NamedTuple):
    """What a design did on one replicate: claims decided, decided rightly and falsely, runs and training seconds
    (one worker) spent."""

    decided: int
    right: int
    false: int
    runs: int
    seconds: float


def _model_truth(loaded: DatasetResults, rid: str, chance_pp: float, pool: stats.Spread | None) -> ModelTruth:
    """A model's truth from its runs: learned level and at-chance share as observed, the pooled learned spread."""
    record = loaded.records[rid]
    runs = np.array([100 * r.test.accuracy for r in loaded.runs[rid]])
    stuck, learned = runs[runs < chance_pp], runs[runs >= chance_pp]
    own = float(learned.std(ddof=1)) if len(learned) > 1 else 0.0
    return ModelTruth(learned_pp=float(learned.mean() if len(learned) else runs.mean()),
                      sd_pp=math.sqrt(pool.var) if pool else own, chance_share=len(stuck) / len(runs),
                      chance_pp=float(stuck.mean()) if len(stuck) else chance_pp,
                      chance_sd_pp=float(stuck.std(ddof=1)) if len(stuck) > 1 else 0.0,
                      seconds=record.seconds.train / max(len(record.seeds), 1))


def book_truths(loaded: DatasetResults, specs: dict[str, ModelSpec]) -> Book:
    """The truths of a built book: each claim's difference is the book's estimate, its image variance the book's."""
    classes = len(next(iter(loaded.records.values())).dataset.class_names)
    chance_pp = 100 * (1 / classes + evidence.CHANCE_MARGIN)
    pool = evidence.learned_spread(loaded)
    compared = evidence.comparisons(loaded)
    models = {rid: _model_truth(loaded, rid, chance_pp, pool) for rid in loaded.records}
    claims = []
    for spec in specs.values():
        if spec.seed_claim is None or spec.id not in compared:
            continue
        d, seed_a, seed_b = compared[spec.id], spec.seed_report.accuracy, specs[spec.compare_with].seed_report.accuracy
        claims.append(ClaimTruth(claim=spec.seed_claim.text, model=spec.id, baseline=spec.compare_with,
                                 direction=spec.seed_claim.direction, truth_pp=d.estimate, image_var=d.image_var,
                                 images=d.images, seed_diff_pp=100 * (seed_a - seed_b) if seed_a and seed_b else None))
    margin = evidence.MARGIN_PP.get(loaded.dataset, evidence.MARGIN_PP[evidence.SEED_DATASET])
    return Book(dataset=loaded.dataset, margin=margin, chance_pp=chance_pp, models=models, claims=claims)


def draw(book: Book, rng: np.random.Generator, most: int) -> Replicate:
    """A replicate: `most` runs of every model (learned or, at its share, at chance) and one test-set error per
    claim, shared by all its looks and seeds."""
    runs = {}
    for rid, m in book.models.items():
        learned = m.learned_pp + m.sd_pp * rng.standard_normal(most)
        stuck = m.chance_pp + m.chance_sd_pp * rng.standard_normal(most)
        runs[rid] = np.where(rng.random(most) < m.chance_share, stuck, learned)
    scale = np.array([math.sqrt(c.image_var / c.images) for c in book.claims])
    return Replicate(runs=runs, errors=scale * rng.standard_normal(len(book.claims)))


def difference(book: Book, rep: Replicate, c: int, n_a: int, n_b: int) -> stats.Difference:
    """Claim c's difference from the first n_a runs of A and n_b of B: their means' difference plus the replicate's
    test-set error, the seed terms at Hsu's min(n_a, n_b) - 1 degrees of freedom combined with the test set's by
    Satterthwaite, as `stats.differences` combines them."""
    claim = book.claims[c]
    a, b = rep.runs[claim.model][:n_a], rep.runs[claim.baseline][:n_b]
    var_a, var_b = float(a.var(ddof=1)), float(b.var(ddof=1))
    seeds, images = var_a / n_a + var_b / n_b, claim.image_var / claim.images
    shares = seeds**2 / (min(n_a, n_b) - 1) + images**2 / (claim.images - 1)
    df = (seeds + images) ** 2 / shares if shares > 0 else math.inf
    estimate, se = float(a.mean() - b.mean() + rep.errors[c]), math.sqrt(seeds + images)
    half = float(scipy_stats.t.ppf((1 + stats.LEVEL) / 2, df)) * se
    return stats.Difference(n_a=n_a, n_b=n_b, images=claim.images, estimate=estimate, se=se,
                            se_seeds=math.sqrt(seeds), se_images=math.sqrt(images), df=df, low=estimate - half,
                            high=estimate + half, beats=math.nan, sd_a=math.sqrt(var_a), sd_b=math.sqrt(var_b),
                            image_var=claim.image_var)


def holds(direction: stats.Direction, outcome: str, truth: float, margin: float) -> bool:
    """Whether a verdict is true of the true difference: its side of the claim's boundary, or, for "equivalent",
    a difference within the margin."""
    if outcome == stats.EQUIVALENT:
        return abs(truth) < margin
    edge = {"better": 0.0, "worse": 0.0, "not worse": -margin, "not better": margin}[direction]
    up = truth > edge if direction in ("better", "not worse") else truth < edge
    down = truth < edge if direction in ("better", "not worse") else truth > edge
    return up if outcome == stats.SUPPORTED else down


def _score(book: Book, outcomes: list[str], have: dict[str, int]) -> Outcome:
    """A design's outcome on a replicate from its claims' verdicts and the seeds each model reached."""
    decided = [(c, o) for c, o in zip(book.claims, outcomes) if o in stats.OUTCOMES]
    right = sum(holds(c.direction, o, c.truth_pp, book.margin) for c, o in decided)
    return Outcome(decided=len(decided), right=right, false=len(decided) - right, runs=sum(have.values()),
                   seconds=sum(n * book.models[m].seconds for m, n in have.items()))


def _hypotheses(book: Book, rep: Replicate, c: int, have: dict[str, int]) -> list[tuple[float, str]]:
    """Claim c's hypotheses (`stats.hypotheses`) from every run its two models have."""
    claim = book.claims[c]
    d = difference(book, rep, c, have[claim.model], have[claim.baseline])
    return stats.hypotheses(d, claim.direction, book.margin)


def one_look(book: Book, rep: Replicate, claims: list[int], have: dict[str, int], alpha: float) -> list[str]:
    """The outcomes of `claims` tested once at `alpha` as the book tests one look (`stats.sequential_holm`)."""
    tested = [_hypotheses(book, rep, c, have) for c in claims]
    first, _ = stats.sequential_holm([[tuple(p for p, _ in t)] for t in tested], alpha, (1,), "pocock")
    return [stats.UNDECIDED if kh is None else t[kh[1]][1] for t, kh in zip(tested, first)]


def fixed(book: Book, rep: Replicate, n: int) -> Outcome:
    """One look at n seeds per model over the claims, at 5 %."""
    have = dict.fromkeys(book.models, n)
    return _score(book, one_look(book, rep, list(range(len(book.claims))), have, stats.ALPHA), have)


def _planned(book: Book, rep: Replicate, have: dict[str, int]) -> dict[str, stats.Planned]:
    """Each model's seed plan from the runs it has, as `evidence.claim_verdicts` plans: the learned spread pooled
    over the models whose runs all learned, the binomial bound of the share at chance."""
    own = {m: rep.runs[m][:n] for m, n in have.items()}
    pool = stats.pooled([stats.Spread(var=float(x.var(ddof=1)), df=len(x) - 1) for x in own.values()
                         if len(x) > 1 and bool((x >= book.chance_pp).all())])
    return {m: stats.planned(x, book.chance_pp, pool) for m, x in own.items()}


def two_looks(book: Book, rep: Replicate) -> Outcome:
    """The previous two-look design: Holm at 2.5 % at the first look; each undecided claim's models get the seeds
    80 % power asks for at 2.5 % over the undecided claims (the seed report's difference or ours, whichever needs
    fewer; capped at TWO_LOOK_CAP); Holm at 2.5 % over the undecided claims whose seeds grew."""
    have = dict.fromkeys(book.models, TWO_LOOK_FIRST)
    claims = range(len(book.claims))
    outcomes = one_look(book, rep, list(claims), have, stats.ALPHA / 2)
    open_ = [c for c in claims if outcomes[c] == stats.UNDECIDED]
    plans, alpha, wanted = _planned(book, rep, have), stats.ALPHA / 2 / max(len(open_), 1), dict(have)
    for c in open_:
        claim = book.claims[c]
        v = _verdict(book, c, difference(book, rep, c, TWO_LOOK_FIRST, TWO_LOOK_FIRST), plans, stats.UNDECIDED, alpha)
        n = evidence._plan(v, [claim.seed_diff_pp, evidence._ours(v)], alpha)
        for m in (claim.model, claim.baseline) if n else ():
            wanted[m] = max(wanted[m], min(n, TWO_LOOK_CAP))
    later = [c for c in open_ if wanted[book.claims[c].model] > TWO_LOOK_FIRST
             or wanted[book.claims[c].baseline] > TWO_LOOK_FIRST]
    for c, outcome in zip(later, one_look(book, rep, later, wanted, stats.ALPHA / 2)):
        outcomes[c] = outcome
    return _score(book, outcomes, wanted)


def _verdict(book: Book, c: int, d: stats.Difference, plans: dict[str, stats.Planned], outcome: str,
             level: float) -> evidence.ClaimVerdict:
    """Claim c as `evidence.claim_verdicts` gives it in a design, at its look's difference `d`."""
    claim, m = book.claims[c], book.models
    pa, pb = plans[claim.model], plans[claim.baseline]
    return evidence.ClaimVerdict(
        claim=claim.claim, untested="", direction=claim.direction, model=claim.model, baseline=claim.baseline,
        seed_diff_pp=claim.seed_diff_pp, accuracy_a=m[claim.model].mean_pp / 100,
        accuracy_b=m[claim.baseline].mean_pp / 100, diff=d, margin_pp=book.margin, at_chance_a=pa.at_chance,
        at_chance_b=pb.at_chance, planned_a=pa, planned_b=pb, test=None, family=len(book.claims),
        needs_for_seed=None, needs_for_ours=None, level=level, plan_family=1, verdict=outcome)


def verdicts(book: Book, rep: Replicate, have: dict[str, int], design: sequential.Design
             ) -> list[evidence.ClaimVerdict]:
    """The claims as `evidence.claim_verdicts` tests a design's seeds: every look each claim's two models reached,
    `stats.sequential_holm` over the family, and the undecided ones planned at the last look's nominal level and
    judged for futility (`evidence._futility`); the seeds planned for our difference, which only a budget reads
    (`sequential.plan_round`), are planned only under one."""
    plans = _planned(book, rep, have)
    reached = [[difference(book, rep, c, n, n) for n in design.looks if n <= min(have[k.model], have[k.baseline])]
               for c, k in enumerate(book.claims)]
    ps = [[stats.hypotheses(d, book.claims[c].direction, book.margin) for d in ds] for c, ds in enumerate(reached)]
    decided, held = stats.sequential_holm([[tuple(p for p, _ in look) for look in x] for x in ps], design.alpha,
                                          design.looks, design.spending)
    out = []
    for c, (kh, level) in enumerate(zip(decided, held)):
        k = None if kh is None else kh[0]
        look = len(reached[c]) - 1 if k is None else k
        v = _verdict(book, c, reached[c][look], plans, stats.UNDECIDED if kh is None else ps[c][k][kh[1]][1], level)
        if k is None and math.isfinite(design.budget):
            v = v.model_copy(update={"needs_for_ours": evidence._plan(v, [evidence._ours(v)],
                                                                      design.nominal(level)[-1])})
        out.append(evidence._futility(v, design) if k is None else v)
    return out


def sequential_design(book: Book, rep: Replicate, design: sequential.Design, per_seed: dict[str, float]) -> Outcome:
    """The sequential design: rounds planned by `sequential.plan_round` (each open claim to its next look, by power
    per second of training, a shared model paid once, within the budget), until no round adds a seed."""
    have = dict.fromkeys(book.models, design.looks[0])
    left = design.budget
    while True:
        vs = verdicts(book, rep, have, design)
        plan = sequential.plan_round(vs, design, have, per_seed, left)
        if not plan.wanted:
            return _score(book, [v.verdict for v in vs], have)
        have.update(plan.wanted)
        left -= plan.cost


def _budget(book: Book, seeds: int) -> float:
    """The runs after the first look that the fixed design with `seeds` seeds per model spends."""
    return float((seeds - sequential.DEFAULT_LOOKS[0]) * len(book.models))


def contenders(book: Book) -> dict[str, Callable[[Replicate], Outcome]]:
    """Every design benched, by name: each a function of a replicate giving its Outcome. The sequential designs'
    budgets are in runs, as the bench compares designs per run."""
    per_run = dict.fromkeys(book.models, 1.0)
    out: dict[str, Callable[[Replicate], Outcome]] = {}
    for n in FIXED:
        out[f"fixed {n}"] = lambda rep, n=n: fixed(book, rep, n)
    out[f"two looks ({TWO_LOOK_FIRST}, ≤{TWO_LOOK_CAP})"] = lambda rep: two_looks(book, rep)
    for name, design in [("sequential", sequential.Design(budget=math.inf, unit="runs")),
                         *((f"sequential, fixed {n}'s runs", sequential.Design(budget=_budget(book, n), unit="runs"))
                           for n in BUDGETS),
                         (f"sequential, looks to {FAR_LOOKS[-1]}",
                          sequential.Design(looks=FAR_LOOKS, budget=math.inf, unit="runs"))]:
        out[name] = lambda rep, d=design: sequential_design(book, rep, d, per_run)
    return out


def simulate(book: Book, replicates: int, seed: int = 0) -> dict[str, list[Outcome]]:
    """Every design's outcome on the same `replicates` replicates (fixed seeds: replicate r draws from [seed, r])."""
    runs = contenders(book)
    out: dict[str, list[Outcome]] = {name: [] for name in runs}
    most = max(*FIXED, *FAR_LOOKS, TWO_LOOK_CAP)
    for r in range(replicates):
        rep = draw(book, np.random.default_rng([seed, r]), most)
        for name, run in runs.items():
            out[name].append(run(rep))
    return out


def _pm(values: list[float], digits: int = 1) -> str:
    """mean ± sd"""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def _per_100(outs: list[Outcome]) -> float:
    """Claims decided per 100 runs: mean decided over mean runs."""
    return 100 * statistics.mean(o.decided for o in outs) / statistics.mean(o.runs for o in outs)


def row(name: str, outs: list[Outcome]) -> str:
    """One design's line of the table."""
    any_false = sum(o.false > 0 for o in outs) / len(outs)
    hours = [o.seconds / WORKERS / 3600 for o in outs]
    return (f"| {name} | {_pm([o.decided for o in outs])} | {_pm([o.right for o in outs])} | "
            f"{_pm([o.false for o in outs], 2)} ({any_false:.1%}) | {_pm([o.runs for o in outs], 0)} | "
            f"{_pm(hours, 2)} | {_per_100(outs):.2f} |")


def _mean(outs: list[Outcome], field: str) -> float:
    return statistics.mean(getattr(o, field) for o in outs)


def verdict_lines(results: dict[str, list[Outcome]]) -> list[str]:
    """Whether each sequential design decides at least as many claims per run as every fixed design, and more
    claims than fixed seeds decide at its expected runs (the fixed designs' claims decided against their runs,
    joined by straight lines): by more than two standard errors of that difference, paired over the replicates."""
    fixed_ = {name: outs for name, outs in results.items() if name.startswith("fixed")}
    best = max(fixed_, key=lambda f: _per_100(fixed_[f]))
    names = sorted(fixed_, key=lambda f: _mean(fixed_[f], "runs"))
    at = [_mean(fixed_[f], "runs") for f in names]
    lines = []
    for name, outs in ((n, o) for n, o in results.items() if n.startswith("sequential")):
        mine, runs = _per_100(outs), _mean(outs, "runs")
        gain = [o.decided - float(np.interp(runs, at, [fixed_[f][r].decided for f in names]))
                for r, o in enumerate(outs)]
        more, se = statistics.mean(gain), statistics.stdev(gain) / math.sqrt(len(gain))
        shown = "yes" if more > 2 * se else "no" if more < -2 * se else "within two se"
        lines.append(f"- {name}: {mine:.2f} decisions per 100 runs against the best fixed design's "
                     f"{_per_100(fixed_[best]):.2f} ({best}): {'yes' if mine >= _per_100(fixed_[best]) else 'no'}; "
                     f"{_mean(outs, 'decided'):.2f} claims in {runs:.0f} runs, {more:+.2f} ± {se:.2f} (se) "
                     f"against fixed seeds at {runs:.0f} runs: {shown}")
    return lines


def truth_lines(book: Book) -> list[str]:
    """The truths simulated: each claim's difference and test-set se, each model's spread, chance share and cost."""
    claims = "; ".join(f"{evidence.short_name(c.model)}-{evidence.short_name(c.baseline)} {c.direction} "
                       f"{c.truth_pp:+.3f} (test set se {math.sqrt(c.image_var / c.images):.3f})" for c in book.claims)
    models = "; ".join(f"{evidence.short_name(rid)} sd {m.sd_pp:.3f}"
                       + (f", {m.chance_share:.0%} at chance ({m.chance_pp:.2f})" if m.chance_share else "")
                       + f", {m.seconds:.0f} s" for rid, m in book.models.items())
    return [f"truths (pp), margin ±{book.margin} pp: {claims}", f"models (seed sd pp, s per seed): {models}"]


def table(models_dir: str | Path, replicates: int = REPLICATES, seed: int = 0) -> str:
    """The bench of a built dataset (its models folder): the truths, one line per design, and the verdict lines."""
    loaded = loading.load(models_dir)
    book = book_truths(loaded, load_specs())
    results = simulate(book, replicates, seed)
    head = (f"| design ({book.dataset}, {replicates} replicates) | decided | right | false (share of replicates "
            f"with any) | runs | training hours on {WORKERS} workers | decided per 100 runs |\n|---|---|---|---|---|"
            "---|---|")
    return "\n".join([*truth_lines(book), "", head, *(row(n, o) for n, o in results.items()), "",
                      *verdict_lines(results)])
