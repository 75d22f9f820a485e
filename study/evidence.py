"""The seed report's claims and accuracies against this study's results, and what the seed's own numbers reveal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from study import stats
from study.loading import DatasetResults
from study.results import Design, ModelRecord, RunRecord
from study.spec import ModelSpec
from study.stats import UNIT, ClaimTest, Difference, Summary
from study.typed import Strict

SEED_DATASET = "mnist"  # the data the seed report's figures were computed on


MARGIN_PP = {"mnist": 0.25, "mnist-sample": 1.0, "fashion-mnist": 0.5}
"""The equivalence margin of each dataset, in percentage points: about twice the standard error that the test set
alone puts on a difference between two of these models (MNIST's 10,000 images: about 0.12 pp; Fashion-MNIST's,
whose models disagree on more images: about 0.25 pp; the sample's 1,000: about 0.5 pp). A smaller margin could
never be shown, whatever the seeds."""
CHANCE_MARGIN = 0.05  # a run within this of guessing (1 / classes) stayed at chance: it did not learn
REPRODUCTION_RESOLUTION_PP = 1.0  # the widest half-width of a prediction interval that can judge a reproduction


class Reproduction(Strict):
    """The seed's test accuracy for a model beside ours over seeds: the shift (ours minus the seed's, pp) with the
    95 % prediction interval for one more run of ours around it, how many of our runs stayed at chance, and the
    verdict; `verdict` is None (and `why_not` says why) where none can be given."""

    model: str
    reported: float | None
    ours: Summary
    shift_pp: float | None
    shift_low: float
    shift_high: float
    at_chance: int
    verdict: str | None
    why_not: str


class ClaimVerdict(Strict):
    """A conclusion of the seed report about model A against model B (`direction`: A against B; `untested`: the
    part of its wording no figure here tests), the figures on both sides, the difference A - B over seeds and
    test images, how its seeds are planned (`planned_a`, `planned_b`), its test within the dataset's family of
    claims (`level` spent over it), and what an undecided claim would take: the seeds planned at `level` over
    `plan_family` claims."""

    claim: str
    untested: str
    direction: str
    model: str
    baseline: str
    seed_diff_pp: float | None
    accuracy_a: float
    accuracy_b: float
    diff: Difference
    margin_pp: float
    at_chance_a: int
    at_chance_b: int
    planned_a: stats.Planned
    planned_b: stats.Planned
    test: ClaimTest | None
    family: int
    needs_for_seed: int | None
    needs_for_ours: int | None
    level: float
    plan_family: int
    verdict: str


class RankCorrelation(Strict):
    """Spearman's rho and Kendall's tau between the models' accuracies on two datasets, with their p-values."""

    n: int
    spearman: float
    spearman_p: float
    kendall: float
    kendall_p: float


def short_name(model_id: str) -> str:
    """A model's id as figures and the front page abbreviate it: model_07 -> M07."""
    return model_id.replace("model_", "M")


def reproduction(model_id: str, reported: float | None, runs: list[RunRecord], dataset: str,
                 classes: int = 10) -> Reproduction:
    """Whether our runs reproduce the seed's accuracy: judged only on the seed's own dataset and only where our
    runs are informative, that is where the prediction interval for one more run is at most
    ±REPRODUCTION_RESOLUTION_PP wide (two seeds rarely are: Student's t with one degree of freedom)."""
    accuracies = [r.test.accuracy for r in runs]
    low, high = stats.prediction_interval(accuracies)
    half_pp = 100 * (high - low) / 2
    stuck = len(at_chance(runs, classes))
    ours = stats.mean_ci(accuracies, bounds=UNIT)
    shift = None if reported is None else 100 * (ours.mean - reported)
    why_not = ("the seed ran on MNIST" if dataset != SEED_DATASET else "no figure in the seed report"
               if reported is None else "needs two or more seeds" if len(accuracies) < 2
               else f"our runs are too spread to tell (±{half_pp:.2f} pp for one more run"
               + (f"; {stuck} of {len(runs)} stayed at chance)" if stuck else ")")
               if half_pp > REPRODUCTION_RESOLUTION_PP else "")
    return Reproduction(model=model_id, reported=reported, ours=ours, shift_pp=shift,
                        shift_low=math.nan if shift is None else 100 * (low - reported),
                        shift_high=math.nan if shift is None else 100 * (high - reported), at_chance=stuck,
                        verdict=None if why_not else stats.reproduction(reported, accuracies), why_not=why_not)


def reproductions(loaded: DatasetResults) -> list[Reproduction]:
    """`reproduction` for every model with results."""
    return [reproduction(rid, r.spec.seed_report.accuracy, loaded.runs[rid], r.dataset.name,
                         len(r.dataset.class_names)) for rid, r in loaded.records.items()]


def at_chance(runs: list[RunRecord], classes: int = 10, margin: float = CHANCE_MARGIN) -> list[RunRecord]:
    """The seeds whose test accuracy stayed within `margin` of guessing (1 / classes): runs that did not learn."""
    return [r for r in runs if r.test.accuracy < 1 / classes + margin]


def correct(runs: list[RunRecord], labels) -> np.ndarray:
    """A runs × test images table: True where the run predicted the image's label."""
    return np.array([np.asarray(r.test.predictions) == np.asarray(labels) for r in runs], dtype=bool)


def comparisons(loaded: DatasetResults, seeds: range | None = None) -> dict[str, Difference]:
    """Each model that has a `compare_with` against that model on the same test set (A - B), by model id, over
    every seed run or over `seeds` alone."""
    def table(model: str) -> np.ndarray:
        return correct([r for r in loaded.runs[model] if seeds is None or r.seed in seeds],
                       loaded.records[model].test_labels)

    out = {}
    for rid, r in loaded.records.items():
        base = loaded.records.get(r.compare_with or "")
        if base is None or base.dataset.sha256 != r.dataset.sha256:
            continue
        out[rid] = stats.difference(table(rid), table(base.id))
    return out


def _plan(v: ClaimVerdict, targets: list[float | None], alpha: float) -> int | None:
    """`stats.seeds_for` with the claim's planned seed sds, for the seed report's difference (`v.seed_diff_pp`) and
    ours at the planned share of runs at chance (ours as it is where every run learned), as `targets` names."""
    return stats.seeds_for(v.direction, targets, v.diff, v.margin_pp, alpha, sds=(v.planned_a.sd, v.planned_b.sd))


def _ours(v: ClaimVerdict) -> float:
    """Our difference as seeds are planned for it: at the planned share of runs at chance of either side."""
    return v.diff.estimate + v.planned_a.mean_shift - v.planned_b.mean_shift


def learned_spread(loaded: DatasetResults) -> stats.Spread | None:
    """The seed variance of test accuracy (pp²) pooled over the models with two or more runs that all learned."""
    return stats.pooled([stats.Spread(var=(100 * r.summary.accuracy.sd) ** 2, df=r.summary.accuracy.n - 1)
                         for rid, r in loaded.records.items() if r.summary.accuracy.n > 1
                         and not at_chance(loaded.runs[rid], len(r.dataset.class_names))])


def _claim_row(spec: ModelSpec, base: ModelSpec, loaded: DatasetResults, diff: Difference,
               pool: stats.Spread | None) -> ClaimVerdict:
    """A claim's figures before its test: both sides, the difference, the margin and how to plan its seeds."""
    record = loaded.records[spec.id]
    classes = len(record.dataset.class_names)
    seed_a, seed_b = spec.seed_report.accuracy, base.seed_report.accuracy

    plan_a, plan_b = (stats.planned([100 * r.test.accuracy for r in loaded.runs[model]],
                                    100 * (1 / classes + CHANCE_MARGIN), pool) for model in (spec.id, base.id))
    return ClaimVerdict(
        claim=spec.seed_claim.text, untested=spec.seed_claim.untested, direction=spec.seed_claim.direction,
        model=spec.id, baseline=base.id, seed_diff_pp=100 * (seed_a - seed_b) if seed_a and seed_b else None,
        accuracy_a=record.summary.accuracy.mean, accuracy_b=loaded.records[base.id].summary.accuracy.mean, diff=diff,
        margin_pp=MARGIN_PP.get(record.dataset.name, MARGIN_PP[SEED_DATASET]),
        at_chance_a=plan_a.at_chance, at_chance_b=plan_b.at_chance, planned_a=plan_a, planned_b=plan_b, test=None,
        family=0, needs_for_seed=None, needs_for_ours=None, level=stats.ALPHA, plan_family=1, verdict=stats.NO_VERDICT)


def _tests(rows: list[ClaimVerdict], loaded: DatasetResults) -> tuple[list[ClaimVerdict], float]:
    """The claims with their tests (one look, or two with a `design`; None where too few seeds) and the level
    spent; a claim decided at a design's first look carries that look's difference."""
    design = loaded.design
    if design is None:
        testable = [i for i, v in enumerate(rows) if v.diff.decidable]
        tests = stats.holm([stats.claim_p(rows[i].diff, rows[i].direction, rows[i].margin_pp) for i in testable])
        level, firsts = stats.ALPHA, {}
    else:
        first = comparisons(loaded, range(design.first_seeds))
        testable = [i for i, v in enumerate(rows) if first[v.model].decidable]
        later = {k: stats.claim_p(rows[i].diff, rows[i].direction, rows[i].margin_pp) for k, i in enumerate(testable)
                 if (rows[i].diff.n_a, rows[i].diff.n_b) != (first[rows[i].model].n_a, first[rows[i].model].n_b)}
        tests = stats.two_looks([stats.claim_p(first[rows[i].model], rows[i].direction, rows[i].margin_pp)
                                 for i in testable], later)
        level, firsts = stats.ALPHA / 2, {i: first[rows[i].model] for i, t in zip(testable, tests) if t.look == 1}
    tested = dict(zip(testable, tests))
    return [v.model_copy(update={"test": tested.get(i), "family": len(testable), "diff": firsts.get(i, v.diff),
                                 "verdict": tested[i].outcome if i in tested else stats.NO_VERDICT})
            for i, v in enumerate(rows)], level


def claim_verdicts(specs: dict[str, ModelSpec], loaded: DatasetResults) -> list[ClaimVerdict]:
    """One verdict per claim of the seed report that these results can test: each claim's test (`stats.claim_p`)
    at the dataset's margin, decided with Holm's correction over the claims whose models have MIN_SEEDS or more
    seeds: in one look at 5 %, or, with a design, in two (`stats.two_looks`): the first `design.first_seeds`
    seeds of every model, then all seeds for the claims the first look left undecided. Undecided claims name the
    seeds they need, planned from the seed spread's upper bound (pooled over the models whose runs all learned)
    and, where runs stayed at chance, from the lower bound of that share."""
    compared = comparisons(loaded)
    pool = learned_spread(loaded)
    rows = [_claim_row(spec, specs[spec.compare_with], loaded, compared[spec.id], pool)
            for spec in specs.values() if spec.seed_claim is not None and spec.id in compared]
    rows, level = _tests(rows, loaded)
    family = max(sum(v.verdict == stats.UNDECIDED for v in rows) if loaded.design else rows[0].family if rows else 1,
                 1)
    out = []
    for v in rows:
        if v.verdict == stats.UNDECIDED:
            v = v.model_copy(update={"needs_for_seed": _plan(v, [v.seed_diff_pp], level / family),
                                     "needs_for_ours": _plan(v, [_ours(v)], level / family)})
        out.append(v.model_copy(update={"level": level, "plan_family": family}))
    return out


class SeedPlan(Strict):
    """After the first look of a two-look design, an undecided claim's plan: the seeds per model (None: no number)
    at which it would have 80 % power at `alpha`, the second look's corrected level, and whether seeds are added."""

    verdict: ClaimVerdict
    seeds: int | None
    alpha: float
    adds: bool


def second_look(verdicts: list[ClaimVerdict], design: Design) -> list[SeedPlan]:
    """The plan of every claim undecided at the first look: the seeds per model that detect, with 80 % power at the
    second look's corrected level, the seed report's difference or the first look's, whichever needs fewer, planned
    as `claim_verdicts` plans; seeds are added where that is more than the claim has and at most `design.max_seeds`."""
    open_ = [v for v in verdicts if v.verdict == stats.UNDECIDED]
    alpha = stats.ALPHA / 2 / max(len(open_), 1)
    plans = []
    for v in open_:
        n = _plan(v, [v.seed_diff_pp, _ours(v)], alpha)
        plans.append(SeedPlan(verdict=v, seeds=n, alpha=alpha,
                              adds=n is not None and min(v.diff.n_a, v.diff.n_b) < n <= design.max_seeds))
    return plans


def seeds_wanted(plans: list[SeedPlan]) -> dict[str, int]:
    """The seeds each model should reach at the second look: the most any of its claims' plans adds."""
    wanted: dict[str, int] = {}
    for plan in plans:
        if plan.adds:
            for model in (plan.verdict.model, plan.verdict.baseline):
                wanted[model] = max(wanted.get(model, 0), plan.seeds)
    return wanted


def across_datasets(results_by_dataset: dict[str, dict[str, ModelRecord]]) -> pd.DataFrame:
    """Each model's mean test accuracy, 95 % interval and rank (1 = best) on every dataset: one row per model
    present on all of them, columns (dataset, field) with fields accuracy, ci_low, ci_high, rank."""
    frames = {}
    for dataset, results in results_by_dataset.items():
        table = pd.DataFrame({rid: {"accuracy": r.summary.accuracy.mean, "ci_low": r.summary.accuracy.low,
                                    "ci_high": r.summary.accuracy.high} for rid, r in results.items()}).T
        table["rank"] = table["accuracy"].rank(ascending=False, method="min").astype(int)
        frames[dataset] = table
    return pd.concat(frames, axis=1, join="inner")


def rank_correlation(table: pd.DataFrame, a: str, b: str) -> RankCorrelation:
    """Spearman's rho and Kendall's tau (scipy) between the models' accuracies on datasets a and b."""
    x, y = table[(a, "accuracy")], table[(b, "accuracy")]
    rho, tau = scipy_stats.spearmanr(x, y), scipy_stats.kendalltau(x, y)
    return RankCorrelation(n=len(x), spearman=float(rho.statistic), spearman_p=float(rho.pvalue),
                           kendall=float(tau.statistic), kendall_p=float(tau.pvalue))
