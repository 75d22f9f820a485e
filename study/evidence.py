"""The seed report's claims and accuracies against this study's results, and what the seed's own numbers reveal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from study import stats
from study.loading import DatasetResults
from study.results import ModelRecord, RunRecord
from study.sequential import Design
from study.spec import ModelSpec
from study.stats import UNIT, ClaimTest, Difference, Summary
from study.typed import Strict

SEED_DATASET = "mnist"  # the data the seed report's figures were computed on


MARGIN_PP = {"mnist": 0.25, "mnist-sample": 1.0, "fashion-mnist": 0.5}
"""The equivalence margin of each dataset, in percentage points: about twice the standard error that the test set
alone puts on a difference between two of these models (MNIST's 10,000 images: about 0.12 pp; Fashion-MNIST's,
whose models disagree on more images: about 0.25 pp; the sample's 1,000: about 0.5 pp). A smaller margin could
never be shown, whatever the seeds."""
NOT_ON_TEST_SET = "not decidable on this test set"
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
    `plan_family` claims. In a sequential design, a claim that no look can decide says why (`why_not`: its verdict is
    then NOT_ON_TEST_SET or `not_within`), and an open one its next look's seeds, nominal level and the chance of a
    verdict there."""

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
    why_not: str = ""
    next_seeds: int | None = None
    next_level: float = math.nan
    next_power: float = 0.0


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
    """The claims with their tests (None where too few seeds) and the level spent: one look at ALPHA over the
    claims with MIN_SEEDS or more seeds, or, with a design, every look each claim reached (`_looks`)."""
    design = loaded.design or Design(looks=(1,), alpha=stats.ALPHA)
    diffs = ([[v.diff] if v.diff.decidable else [] for v in rows] if loaded.design is None
             else _reached(rows, loaded, design.looks))
    return _looks(rows, diffs, design, single=loaded.design is None), design.alpha


def _reached(rows: list[ClaimVerdict], loaded: DatasetResults, looks: tuple[int, ...]) -> list[list[Difference]]:
    """Each claim's difference at every look it reached in turn: the first n seeds of both its models, for each
    look's n that both have."""
    diffs: list[list[Difference]] = [[] for _ in rows]
    for k, n in enumerate(looks):
        table = comparisons(loaded, range(n))
        for i, v in enumerate(rows):
            d = table[v.model]
            if len(diffs[i]) == k and d.n_a == n == d.n_b:
                diffs[i].append(d)
    return diffs


def _looks(rows: list[ClaimVerdict], diffs: list[list[Difference]], design: Design, single: bool
           ) -> list[ClaimVerdict]:
    """The claims tested at every look they reached (`stats.sequential_holm` over the family); each carries the
    difference of the look that decided it, else of its last look, and the level it holds (`single`: one look,
    the difference of all seeds)."""
    testable = [i for i, d in enumerate(diffs) if d]
    ps = {i: [stats.hypotheses(d, rows[i].direction, rows[i].margin_pp) for d in diffs[i]] for i in testable}
    decided, held = stats.sequential_holm([[tuple(p for p, _ in look) for look in ps[i]] for i in testable],
                                          design.alpha, design.looks, design.spending)
    out = [v.model_copy(update={"verdict": stats.NO_VERDICT, "family": len(testable)}) for v in rows]
    for i, first, level in zip(testable, decided, held):
        look = len(diffs[i]) - 1 if first is None else first[0]
        p, outcome = stats.claim_p(diffs[i][look], rows[i].direction, rows[i].margin_pp)
        if first is not None:
            p, outcome = ps[i][look][first[1]]
        test = stats.ClaimTest(p=p, outcome_if_decided=outcome, p_holm=design.nominal(level)[look],
                               outcome=stats.UNDECIDED if first is None else outcome, look=0 if single else look + 1)
        out[i] = out[i].model_copy(update={"test": test, "diff": diffs[i][look], "verdict": test.outcome,
                                           "level": level})
    return out


def _futility(v: ClaimVerdict, design: Design) -> ClaimVerdict:
    """An undecided claim of a design: why no look can decide it (the seeds planned at the last look's nominal
    level, from the most favourable end of our difference's 60 % interval, exceed the last look, or no number
    does: the test set's own noise), else its next look, that look's nominal level and its chance of a verdict."""
    nominal, at = design.nominal(v.level), design.look_index(v.diff.n_a)
    z = float(scipy_stats.norm.ppf(stats.PLAN_CONFIDENCE))
    ours = _ours(v)
    low, high = ours - z * v.diff.se, ours + z * v.diff.se
    most = design.looks[-1]
    best = _plan(v, [low, high, min(max(0.0, low), high)], nominal[-1])
    if best is None:
        return v.model_copy(update={"verdict": NOT_ON_TEST_SET, "why_not": (
            f"the test set's own noise (se {v.diff.se_images:.2f} pp, which seeds do not reduce) hides every "
            f"difference our {v.diff.n_a}+{v.diff.n_b} seeds leave plausible ({low:+.2f} to {high:+.2f} pp)")})
    if at is None or at + 1 == len(design.looks) or best > most:
        why = (f"undecided at the last look ({most} seeds per model)" if at is not None and at + 1 == len(design.looks)
               else f"even at the favourable end of what our seeds leave plausible ({low:+.2f} to {high:+.2f} pp) it "
                    f"needs {best:,} seeds per model")
        return v.model_copy(update={"verdict": not_within(most), "why_not": why})
    n = design.looks[at + 1]
    power = stats.claim_power(v.direction, ours, v.planned_a.sd, v.planned_b.sd, v.diff.image_var, v.diff.images,
                              v.margin_pp, nominal[at + 1], n)
    return v.model_copy(update={"next_seeds": n, "next_level": nominal[at + 1], "next_power": power})


def not_within(seeds: int) -> str:
    """The verdict of a claim that no look of its design, up to `seeds` per model, can decide."""
    return f"not decidable within {seeds} seeds per model"


def claim_verdicts(specs: dict[str, ModelSpec], loaded: DatasetResults) -> list[ClaimVerdict]:
    """One verdict per claim of the seed report that these results can test: each claim's test (`stats.claim_p`)
    at the dataset's margin, decided with Holm's correction over the claims whose models have MIN_SEEDS or more
    seeds (Shaffer's constraint: a claim passes its share on only when its difference and its equivalence are both
    settled): in one look at 5 %, or, with a sequential design, at every look each claim reached, its level spent
    over the design's looks (`_looks`). Undecided claims name the seeds they need, planned from the seed spread's upper
    bound (pooled over the models whose runs all learned) and, where runs stayed at chance, from the lower bound of
    that share; in a design, those no look can decide say why, the others their next look (`_futility`)."""
    compared = comparisons(loaded)
    pool = learned_spread(loaded)
    rows = [_claim_row(spec, specs[spec.compare_with], loaded, compared[spec.id], pool)
            for spec in specs.values() if spec.seed_claim is not None and spec.id in compared]
    rows, level = _tests(rows, loaded)
    design = loaded.design
    family = max(sum(v.verdict == stats.UNDECIDED for v in rows) if design else rows[0].family if rows else 1, 1)
    out = []
    for v in rows:
        if v.verdict == stats.UNDECIDED and design is not None:
            final = design.nominal(v.level)[-1]
            v = v.model_copy(update={"needs_for_seed": _plan(v, [v.seed_diff_pp], final),
                                     "needs_for_ours": _plan(v, [_ours(v)], final), "plan_family": 1})
            out.append(_futility(v, design))
        elif v.verdict == stats.UNDECIDED:
            out.append(v.model_copy(update={"needs_for_seed": _plan(v, [v.seed_diff_pp], level / family),
                                            "needs_for_ours": _plan(v, [_ours(v)], level / family),
                                            "level": level, "plan_family": family}))
        else:
            out.append(v if design else v.model_copy(update={"level": level, "plan_family": family}))
    return out


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
