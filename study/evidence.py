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
from study.results import ModelRecord, RunRecord, predictions, read_runs
from study.spec import ModelSpec
from study.stats import UNIT, Comparison, Summary, interval
from study.typed import Strict

TEST_ONES = 1135  # images of digit 1 in the MNIST test set
SEED_DATASET = "mnist"  # the data the seed report's figures were computed on


class Reproduction(Strict):
    """The seed's test accuracy for a model beside ours over seeds, with the 95 % prediction interval for one
    more run of ours and the verdict; `verdict` is None (and `why_not` says why) where none can be given."""

    model: str
    reported: float | None
    ours: Summary
    interval_low: float
    interval_high: float
    interval_clipped: bool
    verdict: str | None
    why_not: str


class ClaimVerdict(Strict):
    """A conclusion of the seed report about model A against model B, the figures on both sides and the verdict."""

    claim: str
    model: str
    baseline: str
    seed_diff_pp: float | None
    accuracy_a: float
    accuracy_b: float
    diff_pp: Summary
    p_max: float
    verdict: str


class RankCorrelation(Strict):
    """Spearman's rho and Kendall's tau between the models' accuracies on two datasets, with their p-values."""

    n: int
    spearman: float
    spearman_p: float
    kendall: float
    kendall_p: float


def reproduction(model_id: str, reported: float | None, accuracies: list[float], dataset: str) -> Reproduction:
    """Whether our runs reproduce the seed's accuracy; judged only on the seed's own dataset, with two or more seeds."""
    low, high, clipped = stats.clip(*stats.prediction_interval(accuracies), UNIT)
    verdict = stats.reproduction(reported, accuracies) if dataset == SEED_DATASET else None
    why_not = ("" if verdict else "the seed ran on MNIST" if dataset != SEED_DATASET
               else "no figure in the seed report" if reported is None else "needs two or more seeds")
    return Reproduction(model=model_id, reported=reported, ours=stats.mean_ci(accuracies, bounds=UNIT),
                        interval_low=low, interval_high=high, interval_clipped=clipped, verdict=verdict,
                        why_not=why_not)


def reproductions(results: dict[str, ModelRecord], models_dir: str | Path) -> list[Reproduction]:
    """`reproduction` for every model with results, from its seeds' result files."""
    return [reproduction(rid, r.spec.seed_report.accuracy, [run.test.accuracy for run in read_runs(models_dir, r)],
                         r.dataset.name) for rid, r in results.items()]


def reproduction_table(rows: list[Reproduction]) -> pd.DataFrame:
    """Reproductions for display, one row per model."""
    return pd.DataFrame([{
        "model": r.model, "seed reported": figure(r.reported), "ours: mean": figure(r.ours.mean),
        "sd": figure(r.ours.sd), "min–max": f"{r.ours.min:.4f}–{r.ours.max:.4f}",
        "95 % prediction interval": "—" if math.isnan(r.interval_low) else
        f"[{r.interval_low:.4f}, {r.interval_high:.4f}]" + (" (clipped to [0, 1])" if r.interval_clipped else ""),
        "verdict": r.verdict or f"— ({r.why_not})",
    } for r in rows]).set_index("model")


def reproduction_count(rows: list[Reproduction]) -> str:
    """One sentence: how many of the seed's accuracies our runs reproduce, or why none was judged."""
    judged = [r for r in rows if r.verdict]
    if not judged:
        return f"The seed's accuracies were not judged here: {rows[0].why_not}." if rows else "No results yet."
    hits = sum(r.verdict == stats.REPRODUCED for r in judged)
    return (f"**{hits} of {len(judged)}** of the seed report's test accuracies are reproduced: they lie inside the "
            f"95 % prediction interval for one more run of ours.")


def at_chance(runs: list[RunRecord], classes: int = 10, margin: float = 0.05) -> list[RunRecord]:
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


def comparisons(results: dict[str, ModelRecord], models_dir: str | Path) -> dict[str, Comparison]:
    """Each model that has a `compare_with` against that model, on the same test set, by model id."""
    out = {}
    for rid, r in results.items():
        base = results.get(r.compare_with or "")
        if base is None or base.dataset.sha256 != r.dataset.sha256:
            continue
        out[rid] = stats.paired_comparison(predictions(read_runs(models_dir, r)),
                                           predictions(read_runs(models_dir, base)), np.asarray(r.test_labels))
    return out


def claim_verdicts(specs: dict[str, ModelSpec], results: dict[str, ModelRecord],
                   compared: dict[str, Comparison]) -> list[ClaimVerdict]:
    """One verdict per claim of the seed report that can be tested on these results."""
    verdicts = []
    for spec in specs.values():
        if spec.seed_claim is None or spec.id not in compared:
            continue
        base = specs[spec.compare_with]
        c = compared[spec.id]
        seed_a, seed_b = spec.seed_report.accuracy, base.seed_report.accuracy
        verdicts.append(ClaimVerdict(
            claim=spec.seed_claim.text, model=spec.id, baseline=base.id,
            seed_diff_pp=100 * (seed_a - seed_b) if seed_a and seed_b else None,
            accuracy_a=results[spec.id].summary.accuracy.mean, accuracy_b=results[base.id].summary.accuracy.mean,
            diff_pp=c.diff_pp, p_max=c.p_max,
            verdict=stats.verdict(1 if spec.seed_claim.direction == "better" else -1, c)))
    return verdicts


def claims_table(verdicts: list[ClaimVerdict]) -> pd.DataFrame:
    """Claim verdicts for display: the seed's figures, this study's, and the verdict."""
    return pd.DataFrame([{
        "claim (seed report)": v.claim,
        "A vs B": f"{v.model} vs {v.baseline}",
        "seed: A − B": "—" if v.seed_diff_pp is None else f"{v.seed_diff_pp:+.2f} pp",
        "ours: A, B": f"{v.accuracy_a:.4f}, {v.accuracy_b:.4f}",
        "ours: A − B": f"{v.diff_pp.mean:+.2f} pp",
        "95 % CI": interval(v.diff_pp, digits=2, unit=" pp", signed=True),
        "McNemar p (largest)": f"{v.p_max:.2g}",
        "verdict": v.verdict,
    } for v in verdicts])


def findings(verdicts: dict[str, list[ClaimVerdict]], pages: dict[str, str]) -> str:
    """The front page's answer, as a MyST table: one row per claim of the seed report, one column per dataset,
    each cell the verdict (linked to the page with its evidence), our effect and its 95 % interval."""
    claims = {v.claim: (v.model, v.baseline) for vs in verdicts.values() for v in vs}
    if not claims:
        return "No claim of the seed report can be tested yet: run `nox -s execute`."
    header = "| the seed report's claim | " + " | ".join(LABELS[d] for d in verdicts) + " |"
    lines = [header, "| --- |" + " --- |" * len(verdicts)]
    for claim, (model, baseline) in claims.items():
        cells = []
        for dataset, vs in verdicts.items():
            v = next((v for v in vs if v.claim == claim), None)
            ci = interval(v.diff_pp, digits=2, signed=True) if v else "—"
            cells.append("—" if v is None else
                         f"[{v.verdict.replace(' at the 5 % level', '')}]({pages[dataset]}) {v.diff_pp.mean:+.2f} pp"
                         + ("" if ci == "—" else f" {ci}"))
        short = f"{model} vs {baseline}".replace("model_", "M")
        lines.append(f"| {claim} ({short}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    return (f"Our runs reproduce **{hits} of {len(judged)}** of the seed report's test accuracies on MNIST: they lie "
            f"inside the 95 % prediction interval for one more run of ours ([evidence]({pages[SEED_DATASET]})).")


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
        rows.append({"model": spec.id, "seed recall": recall, "recall × 1135": round(ones, 6),
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
