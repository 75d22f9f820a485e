"""The seed report's claims and accuracies against this study's results, and what the seed's own numbers reveal."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from study import stats
from study.data import LABELS
from study.report import figure
from study.results import Design, ModelRecord, RunRecord, read_runs
from study.spec import ModelSpec
from study.stats import UNIT, ClaimTest, Difference, Summary
from study.typed import Strict

TEST_ONES = 1135  # images of digit 1 in the MNIST test set
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
    claims, and what an undecided claim would take."""

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
    what_it_takes: str
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


def reproductions(results: dict[str, ModelRecord], models_dir: str | Path) -> list[Reproduction]:
    """`reproduction` for every model with results, from its seeds' result files."""
    return [reproduction(rid, r.spec.seed_report.accuracy, read_runs(models_dir, r), r.dataset.name,
                         len(r.dataset.class_names)) for rid, r in results.items()]


def reproduction_table(rows: list[Reproduction]) -> pd.DataFrame:
    """Reproductions for display, one row per model."""
    return pd.DataFrame([{
        "model": r.model, "seed reported": figure(r.reported), "ours: mean": figure(r.ours.mean),
        "sd": figure(r.ours.sd), "min–max": f"{r.ours.min:.4f}–{r.ours.max:.4f}",
        "runs at chance": f"{r.at_chance} of {r.ours.n}",
        "shift: ours − seed": "—" if r.shift_pp is None else f"{r.shift_pp:+.2f} pp",
        "95 % prediction interval of the shift": "—" if math.isnan(r.shift_low) else
        f"[{r.shift_low:+.2f}, {r.shift_high:+.2f}] pp",
        "verdict": r.verdict or f"— ({r.why_not})",
    } for r in rows]).set_index("model")


def reproduction_count(rows: list[Reproduction]) -> str:
    """One sentence: how many of the seed's accuracies our runs reproduce, of those that could be judged."""
    judged = [r for r in rows if r.verdict]
    if not judged:
        return f"The seed's accuracies were not judged here: {rows[0].why_not}." if rows else "No results yet."
    hits = sum(r.verdict == stats.REPRODUCED for r in judged)
    skipped = len(rows) - len(judged)
    return (f"**{hits} of {len(judged)}** of the seed report's test accuracies that our runs can judge are "
            f"reproduced: they lie inside the 95 % prediction interval for one more run of ours."
            + (f" {skipped} more cannot be judged (see the last column)." if skipped else ""))


def at_chance(runs: list[RunRecord], classes: int = 10, margin: float = CHANCE_MARGIN) -> list[RunRecord]:
    """The seeds whose test accuracy stayed within `margin` of guessing (1 / classes): runs that did not learn."""
    return [r for r in runs if r.test.accuracy < 1 / classes + margin]


def at_chance_notice(model_id: str, runs: list[RunRecord], classes: int = 10) -> str:
    """A MyST warning naming the seeds of a model that stayed at chance, and why its interval is then wide; ""
    when none did."""
    stuck = at_chance(runs, classes)
    if not stuck:
        return ""
    seeds = ", ".join(f"seed {r.seed} ({r.test.accuracy:.4f})" for r in stuck)
    return (f"```{{warning}}\n{model_id}: {seeds} stayed at chance (1 in {classes} right): that run did not learn. "
            f"Its mean and interval over seeds mix runs that did not learn with runs that did, which is why the "
            f"interval is wide; read the seeds one by one.\n```")


def correct(runs: list[RunRecord], labels) -> np.ndarray:
    """A runs × test images table: True where the run predicted the image's label."""
    return np.array([np.asarray(r.test.predictions) == np.asarray(labels) for r in runs], dtype=bool)


def comparisons(results: dict[str, ModelRecord], models_dir: str | Path, seeds: range | None = None) \
        -> dict[str, Difference]:
    """Each model that has a `compare_with` against that model on the same test set (A - B), by model id, over
    every seed run or over `seeds` alone."""
    def table(record: ModelRecord) -> np.ndarray:
        return correct([r for r in read_runs(models_dir, record) if seeds is None or r.seed in seeds],
                       record.test_labels)

    out = {}
    for rid, r in results.items():
        base = results.get(r.compare_with or "")
        if base is None or base.dataset.sha256 != r.dataset.sha256:
            continue
        out[rid] = stats.difference(table(r), table(base))
    return out


def _seeds(n: int | None) -> str:
    return "no number of seeds" if n is None else f"{_count(n)} seeds"


def _at_chance_plan(model: str, plan: stats.Planned) -> str:
    """How a model some of whose runs stayed at chance is planned for, and what more seeds would tell."""
    share = plan.at_chance / plan.runs
    later = max(10, 2 * plan.runs)
    low, high = stats.rate_bounds(round(share * later), later)
    return (f"{model}: {plan.at_chance} of {plan.runs} runs stayed at chance, so the share of runs that do is known "
            f"only to lie between {plan.rate_low:.0%} and {plan.rate_high:.0%}; the seeds are planned at "
            f"{plan.rate_low:.0%}, and no plan from so few runs is firm: at {later} seeds, with the same share, it "
            f"would be known within {low:.0%}–{high:.0%}")


def _what_it_takes(v: ClaimVerdict, level: float, family: int) -> str:
    """What an undecided claim would take, in words: the seeds per model at 80 % power at `level` over `family`."""
    d = v.diff
    if not d.decidable:
        return f"{stats.MIN_SEEDS} seeds of each model: with fewer, the seed-to-seed spread is too uncertain to decide"
    spent = f"{100 * level:g} % over {family} claim{'s' if family > 1 else ''}"
    text = f"80 % power at {100 * level / family:.2g} % ({spent}, Holm's first step)"
    seed, ours = v.needs_for_seed, v.needs_for_ours
    if v.seed_diff_pp is None:
        head = "the seed report printed no difference to plan for"
    elif seed is None and stats.distance(v.direction, v.seed_diff_pp, v.margin_pp) <= 0:
        head = f"the seed report's own difference ({v.seed_diff_pp:+.2f} pp) lies beyond the margin the claim needs"
    elif seed is None:
        head = (f"no number of seeds: the test set's own noise (se {math.sqrt(d.image_var / d.images):.2f} pp, which "
                f"seeds do not reduce) hides the seed report's difference ({v.seed_diff_pp:+.2f} pp)")
    else:
        head = f"{_seeds(seed)} per model to detect the seed report's difference ({v.seed_diff_pp:+.2f} pp)"
    chance = [_at_chance_plan(m, p) for m, p in ((v.model, v.planned_a), (v.baseline, v.planned_b)) if p.at_chance]
    return (f"{head}; {_seeds(ours)} per model for a difference the size of ours ({d.estimate:+.2f} pp); {text}; "
            "seed spreads planned at their upper 80 % bound" + "".join(f"; {c}" for c in chance))


def _plan(v: ClaimVerdict, targets: list[float | None], alpha: float) -> int | None:
    """`stats.seeds_for` with the claim's planned seed sds, for the seed report's difference (`v.seed_diff_pp`) and
    ours at the planned share of runs at chance (ours as it is where every run learned), as `targets` names."""
    return stats.seeds_for(v.direction, targets, v.diff, v.margin_pp, alpha, sds=(v.planned_a.sd, v.planned_b.sd))


def _ours(v: ClaimVerdict) -> float:
    """Our difference as seeds are planned for it: at the planned share of runs at chance of either side."""
    return v.diff.estimate + v.planned_a.mean_shift - v.planned_b.mean_shift


def learned_spread(results: dict[str, ModelRecord], runs: dict[str, list[RunRecord]]) -> stats.Spread | None:
    """The seed variance of test accuracy (pp²) pooled over the models with two or more runs that all learned."""
    return stats.pooled([stats.Spread(var=(100 * r.summary.accuracy.sd) ** 2, df=r.summary.accuracy.n - 1)
                         for rid, r in results.items() if r.summary.accuracy.n > 1
                         and not at_chance(runs[rid], len(r.dataset.class_names))])


def _claim_row(spec: ModelSpec, base: ModelSpec, results: dict[str, ModelRecord], diff: Difference,
               runs: dict[str, list[RunRecord]], pool: stats.Spread | None) -> ClaimVerdict:
    """A claim's figures before its test: both sides, the difference, the margin and how to plan its seeds."""
    record = results[spec.id]
    classes = len(record.dataset.class_names)
    seed_a, seed_b = spec.seed_report.accuracy, base.seed_report.accuracy

    plan_a, plan_b = (stats.planned([100 * r.test.accuracy for r in runs[model]],
                                    100 * (1 / classes + CHANCE_MARGIN), pool) for model in (spec.id, base.id))
    return ClaimVerdict(
        claim=spec.seed_claim.text, untested=spec.seed_claim.untested, direction=spec.seed_claim.direction,
        model=spec.id, baseline=base.id, seed_diff_pp=100 * (seed_a - seed_b) if seed_a and seed_b else None,
        accuracy_a=record.summary.accuracy.mean, accuracy_b=results[base.id].summary.accuracy.mean, diff=diff,
        margin_pp=MARGIN_PP.get(record.dataset.name, MARGIN_PP[SEED_DATASET]),
        at_chance_a=plan_a.at_chance, at_chance_b=plan_b.at_chance, planned_a=plan_a, planned_b=plan_b, test=None, family=0, needs_for_seed=None,
        needs_for_ours=None, what_it_takes="", verdict=stats.NO_VERDICT)


def _tests(rows: list[ClaimVerdict], results: dict[str, ModelRecord], models_dir: str | Path,
           design: Design | None) -> tuple[list[ClaimVerdict], float]:
    """The claims with their tests (one look, or two with a `design`; None where too few seeds) and the level
    spent; a claim decided at a design's first look carries that look's difference."""
    if design is None:
        testable = [i for i, v in enumerate(rows) if v.diff.decidable]
        tests = stats.holm([stats.claim_p(rows[i].diff, rows[i].direction, rows[i].margin_pp) for i in testable])
        level, firsts = stats.ALPHA, {}
    else:
        first = comparisons(results, models_dir, range(design.first_seeds))
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


def claim_verdicts(specs: dict[str, ModelSpec], results: dict[str, ModelRecord], compared: dict[str, Difference],
                   models_dir: str | Path, design: Design | None = None) -> list[ClaimVerdict]:
    """One verdict per claim of the seed report that these results can test: each claim's test (`stats.claim_p`)
    at the dataset's margin, decided with Holm's correction over the claims whose models have MIN_SEEDS or more
    seeds: in one look at 5 %, or, with a `design`, in two (`stats.two_looks`): the first `design.first_seeds`
    seeds of every model, then all seeds for the claims the first look left undecided. Undecided claims name the
    seeds they need, planned from the seed spread's upper bound (pooled over the models whose runs all learned)
    and, where runs stayed at chance, from the lower bound of that share."""
    runs = {rid: read_runs(models_dir, r) for rid, r in results.items()}
    pool = learned_spread(results, runs)
    rows = [_claim_row(spec, specs[spec.compare_with], results, compared[spec.id], runs, pool)
            for spec in specs.values() if spec.seed_claim is not None and spec.id in compared]
    rows, level = _tests(rows, results, models_dir, design)
    family = max(sum(v.verdict == stats.UNDECIDED for v in rows) if design else rows[0].family if rows else 1, 1)
    out = []
    for v in rows:
        if v.verdict == stats.UNDECIDED:
            v = v.model_copy(update={"needs_for_seed": _plan(v, [v.seed_diff_pp], level / family),
                                     "needs_for_ours": _plan(v, [_ours(v)], level / family)})
        if v.verdict in (stats.UNDECIDED, stats.NO_VERDICT):
            v = v.model_copy(update={"what_it_takes": _what_it_takes(v, level, family)})
        out.append(v)
    return out


def second_look(verdicts: list[ClaimVerdict], design: Design) -> tuple[dict[str, int], list[str]]:
    """After the first look of a two-look design: for every claim still undecided, the seeds per model that would
    detect, with 80 % power at the second look's corrected level, the seed report's difference or the first look's,
    whichever needs fewer, planned as `claim_verdicts` plans; capped at `design.max_seeds`. Returns the seeds each
    model should reach (the most any of its claims asks) and a line per undecided claim saying why."""
    open_ = [v for v in verdicts if v.verdict == stats.UNDECIDED]
    alpha = stats.ALPHA / 2 / max(len(open_), 1)
    wanted, lines = {}, []
    for v in open_:
        n = _plan(v, [v.seed_diff_pp, _ours(v)], alpha)
        name = f"{v.model} vs {v.baseline} ({v.claim})"
        if n is None:
            lines.append(f"{name}: no seeds added: no number of seeds can decide it, the test set's own noise being "
                         "larger than the differences to detect")
        elif n > design.max_seeds:
            lines.append(f"{name}: no seeds added: it needs {_seeds(n)} per model, more than --max-seeds "
                         f"{design.max_seeds}")
        elif n <= min(v.diff.n_a, v.diff.n_b):
            lines.append(f"{name}: no seeds added: the {v.diff.n_a}+{v.diff.n_b} seeds it has give it 80 % power")
        else:
            for model in (v.model, v.baseline):
                wanted[model] = max(wanted.get(model, 0), n)
            lines.append(f"{name}: undecided at {v.diff.n_a}+{v.diff.n_b} seeds; {n} seeds per model give it 80 % "
                         f"power at {100 * alpha:.2g} %")
    return wanted, lines


def _ci(d: Difference) -> str:
    """The interval as pages print it, cut to the possible range of a difference of accuracies (±100 pp)."""
    low, high, clipped = stats.clip(d.low, d.high, stats.DIFFERENCE_RANGE)
    return f"[{low:+.2f}, {high:+.2f}]" + (" (clipped to ±100)" if clipped else "")


def claims_table(verdicts: list[ClaimVerdict]) -> pd.DataFrame:
    """Claim verdicts for display: the seed's figures, this study's, the test and the verdict."""
    return pd.DataFrame([{
        "claim (seed report)": v.claim + (f" (not tested: “{v.untested}”)" if v.untested else ""),
        "A vs B": f"{v.model} vs {v.baseline}",
        "claimed": f"A {v.direction} than B" if v.direction in ("better", "worse") else f"A {v.direction}",
        "seed: A − B": "—" if v.seed_diff_pp is None else f"{v.seed_diff_pp:+.2f} pp",
        "seeds (at chance)": f"{v.diff.n_a} ({v.at_chance_a}), {v.diff.n_b} ({v.at_chance_b})",
        "ours: A − B": f"{v.diff.estimate:+.2f} pp",
        "95 % CI": _ci(v.diff) + ("" if v.diff.seed_spread_known else " (test set only)"),
        "se: seeds, images": ("—" if not v.diff.seed_spread_known else f"{v.diff.se_seeds:.2f}") +
        f", {v.diff.se_images:.2f} pp",
        "P(A run beats B run)": f"{v.diff.beats:.2f}",
        "p (Holm)": "—" if v.test is None else f"{v.test.p:.2g} ({v.test.p_holm:.2g})",
        "look": "—" if v.test is None or not v.test.look else ("first", "second")[v.test.look - 1],
        "verdict": v.verdict,
        "seeds needed: seed's, ours": (f"{_count(v.needs_for_seed)}, {_count(v.needs_for_ours)}"
                                       if v.verdict == stats.UNDECIDED else "see below" if v.what_it_takes else "—"),
    } for v in verdicts])


def what_it_takes(verdicts: list[ClaimVerdict]) -> str:
    """What each undecided claim would take, as a MyST list below the claims table (one item per claim); ""
    when every claim is decided."""
    items = [f"- **{v.model} vs {v.baseline}** ({v.claim}): {v.what_it_takes}." for v in verdicts if v.what_it_takes]
    return "\n".join(items)


def design_notice(design: Design | None) -> str:
    """What a two-look design means for the verdicts, as a MyST note; "" for a single look."""
    if design is None:
        return ""
    return (f"```{{note}}\nSeeds were added where claims were undecided (`--until-decided`, at most {design.max_seeds} "
            f"per model). The first look tested every claim on each model's first {design.first_seeds} seeds, Holm at "
            f"2.5 %; for the claims it left undecided, the seeds that 80 % power asks for were added to both models "
            f"(where that stays within the maximum) and the second look tested them on all their seeds, Holm at "
            f"2.5 %. Splitting the 5 % between the two looks keeps the chance of any false verdict at 5 %, however "
            f"the added seeds were chosen. The *look* column says which look decided each claim.\n```")


def findings(verdicts: dict[str, list[ClaimVerdict]], pages: dict[str, str]) -> str:
    """The front page's answer, as a MyST table: one row per claim of the seed report, one column per dataset,
    each cell the verdict (linked to the page with its evidence), our effect, its 95 % interval, the seeds it
    rests on and, where undecided, the seeds it would need to detect the seed report's difference."""
    claims = {v.claim: (v.model, v.baseline) for vs in verdicts.values() for v in vs}
    if not claims:
        return "No claim of the seed report can be tested yet: run `nox -s execute`."
    header = "| the seed report's claim | " + " | ".join(LABELS[d] for d in verdicts) + " |"
    lines = [header, "| --- |" + " --- |" * len(verdicts)]
    for claim, (model, baseline) in claims.items():
        cells = []
        for dataset, vs in verdicts.items():
            v = next((v for v in vs if v.claim == claim), None)
            cells.append("—" if v is None else _cell(v, pages[dataset]))
        short = f"{short_name(model)} vs {short_name(baseline)}"
        lines.append(f"| {claim} ({short}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(v: ClaimVerdict, page: str) -> str:
    """One findings cell: the linked verdict, our difference and interval, the seeds, what an open claim needs;
    with one seed only the verdict that none is given and the difference (the page shows the test set's interval)."""
    d = v.diff
    if not d.seed_spread_known:
        return f"[no verdict: 1 seed]({page}) {d.estimate:+.2f} pp"
    if not d.decidable:
        return f"[no verdict: {min(d.n_a, d.n_b)} seeds]({page}) {d.estimate:+.2f} pp {_ci(d)}"
    text = f"[{v.verdict}]({page}) {d.estimate:+.2f} pp {_ci(d)}; {d.n_a}+{d.n_b} seeds"
    if v.verdict == stats.UNDECIDED:
        text += (f"; seeds needed: {_count(v.needs_for_seed)} for the seed's difference, {_count(v.needs_for_ours)} "
                 "for ours")
    return text


def _count(n: int | None) -> str:
    return "none can" if n is None else f">{n - 1:,}" if n > stats.MOST else f"{n:,}"


def reproduction_finding(reproduced: dict[str, list[Reproduction]], pages: dict[str, str]) -> str:
    """The front page's sentence on the seed's accuracies: how many our runs reproduce on MNIST, linked."""
    if SEED_DATASET not in reproduced:
        return ("The seed report's accuracies are on the full MNIST, which this book holds no results for, so "
                "none is judged here.")
    rows = reproduced[SEED_DATASET]
    judged = [r for r in rows if r.verdict]
    if not judged:
        return f"The seed report's accuracies are not judged here: {rows[0].why_not if rows else 'no results yet'}."
    hits = sum(r.verdict == stats.REPRODUCED for r in judged)
    skipped = [r.model for r in rows if not r.verdict]
    return (f"Our runs reproduce **{hits} of {len(judged)}** of the seed report's test accuracies on MNIST that they "
            f"can judge: they lie inside the 95 % prediction interval for one more run of ours "
            f"([evidence]({pages[SEED_DATASET]}))."
            + (f" Not judged, our runs being too few or too spread: {', '.join(skipped)}." if skipped else ""))


def claims_across(verdicts: dict[str, list[ClaimVerdict]]) -> pd.DataFrame:
    """The verdict on every seed-report claim per dataset (columns: dataset labels), and on which it holds."""
    frame = pd.DataFrame({LABELS[dataset]: {v.claim: v.verdict for v in vs} for dataset, vs in verdicts.items()})
    supported = frame.eq(stats.SUPPORTED)
    frame["holds on"] = ["all" if row.all() else "none" if not row.any() else ", ".join(c for c, ok in row.items() if ok)
                         for _, row in supported.iterrows()]
    return frame.rename_axis("claim (seed report)")


def digit_one_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's recall times the 1,135 test ones: a whole number every time, so it is digit 1's recall."""
    rows = []
    for spec in specs.values():
        recall = spec.seed_report.recall
        if recall is None:
            continue
        ones = recall * TEST_ONES
        rows.append({"model": spec.id, "seed recall": recall,
                     "recall × 1135": round(ones) if abs(ones - round(ones)) < 1e-6 else round(ones, 6),
                     "whole number": "yes" if abs(ones - round(ones)) < 1e-6 else "no"})
    return pd.DataFrame(rows).set_index("model").map(figure)


def conclusion_table_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's section accuracies beside the ones in its own conclusion table."""
    rows = [{"model": s.id, "section": s.seed_report.accuracy, "conclusion table": s.seed_report.conclusion_table_accuracy,
             "agree": "yes" if s.seed_report.accuracy == s.seed_report.conclusion_table_accuracy else "no"}
            for s in specs.values() if s.seed_report.conclusion_table_accuracy is not None]
    return pd.DataFrame(rows).set_index("model").map(figure)


def warm_start_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """Models whose first epoch starts where the other models finish: they continued from trained weights.

    A model is flagged when its first-epoch training accuracy reaches the median last-epoch training
    accuracy of the other models.
    """
    reported = {s.id: s.seed_report for s in specs.values()
                if s.seed_report.train_accuracy_first is not None and s.seed_report.train_accuracy_last is not None}
    rows = []
    for sid, rep in reported.items():
        finish = float(np.median([r.train_accuracy_last for k, r in reported.items() if k != sid]))
        rows.append({"model": sid, "first epoch": rep.train_accuracy_first, "last epoch": rep.train_accuracy_last,
                     "others' median last epoch": round(finish, 4),
                     "started from trained weights": "yes" if rep.train_accuracy_first >= finish else "no"})
    return pd.DataFrame(rows).set_index("model").map(figure)


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


def across_table(table: pd.DataFrame) -> pd.DataFrame:
    """`across_datasets` for display: "<dataset label>: <figure>" columns, four decimals."""
    names = {"accuracy": "accuracy", "ci_low": "CI low", "ci_high": "CI high", "rank": "rank"}
    shown = table.copy()
    shown.columns = [f"{LABELS[d]}: {names[f]}" for d, f in table.columns]
    return shown.map(figure)


def rank_correlation(table: pd.DataFrame, a: str, b: str) -> RankCorrelation:
    """Spearman's rho and Kendall's tau (scipy) between the models' accuracies on datasets a and b."""
    x, y = table[(a, "accuracy")], table[(b, "accuracy")]
    rho, tau = scipy_stats.spearmanr(x, y), scipy_stats.kendalltau(x, y)
    return RankCorrelation(n=len(x), spearman=float(rho.statistic), spearman_p=float(rho.pvalue),
                           kendall=float(tau.statistic), kendall_p=float(tau.pvalue))
