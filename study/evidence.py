"""The seed report's claims against this study's results, and what the seed's own numbers reveal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from study import stats
from study.results import load_runs, predictions
from study.spec import ModelSpec

TEST_ONES = 1135  # images of digit 1 in the MNIST test set
SEED_DATASET = "mnist"  # the data the seed report's figures were computed on


def reproduction_row(model_id: str, reported: float | None, accuracies: list[float], dataset: str) -> dict:
    """The seed's test accuracy beside ours (mean, sd, min-max over seeds, the 95 % prediction interval for one
    more run) and whether ours reproduce it; a verdict only on the seed's own dataset, with two or more seeds."""
    acc = np.asarray(accuracies, dtype=float)
    low, high = stats.prediction_interval(acc)
    verdict = stats.reproduction(reported, acc) if dataset == SEED_DATASET else None
    why = ("the seed ran on MNIST" if dataset != SEED_DATASET else "no figure in the seed report" if reported is None
           else "needs two or more seeds")
    return {
        "model": model_id,
        "seed reported": "—" if reported is None else f"{reported:.4f}",
        "ours: mean": f"{acc.mean():.4f}",
        "sd": "—" if len(acc) < 2 else f"{acc.std(ddof=1):.4f}",
        "min–max": f"{acc.min():.4f}–{acc.max():.4f}",
        "95 % prediction interval": "—" if np.isnan(low) else f"[{low:.4f}, {high:.4f}]",
        "verdict": verdict or f"— ({why})",
    }


def reproduction_table_of(rows: list[dict]) -> pd.DataFrame:
    """`reproduction_row`s as a table, one row per model."""
    columns = ["model", "seed reported", "ours: mean", "sd", "min–max", "95 % prediction interval", "verdict"]
    return pd.DataFrame(rows, columns=columns).set_index("model")


def reproduction_table(specs: dict[str, ModelSpec], results: dict[str, dict], results_dir: str | Path) -> pd.DataFrame:
    """`reproduction_row` for every model with results, read from its seeds' result files."""
    return reproduction_table_of([
        reproduction_row(rid, specs[rid].seed_report.accuracy,
                         [run["test"]["accuracy"] for run in load_runs(results_dir, r)], r["dataset"]["name"])
        for rid, r in results.items()])


def reproduction_count(table: pd.DataFrame) -> str:
    """One sentence: how many of the seed's accuracies our runs reproduce, or why none was judged."""
    judged = table[~table["verdict"].str.startswith("—")]
    if not len(judged):
        return ("The seed's accuracies were not judged here: " + table["verdict"].iloc[0].strip("— ()") + "."
                if len(table) else "No results yet.")
    return (f"**{int((judged['verdict'] == stats.REPRODUCED).sum())} of {len(judged)}** of the seed report's test accuracies are "
            f"reproduced: they lie inside the 95 % prediction interval for one more run of ours.")


def comparisons(results: dict[str, dict], results_dir: str | Path) -> dict[str, dict]:
    """Each model that has a `compare_with` against that model, on the same test set, by model id."""
    out = {}
    for rid, r in results.items():
        base = results.get(r["compare_with"] or "")
        if base is None or base["dataset"]["sha256"] != r["dataset"]["sha256"]:
            continue
        y_true = np.asarray(r["test_labels"])
        out[rid] = stats.paired_comparison(predictions(load_runs(results_dir, r)),
                                           predictions(load_runs(results_dir, base)), y_true)
    return out


def claims_table(specs: dict[str, ModelSpec], results: dict[str, dict], compared: dict[str, dict]) -> pd.DataFrame:
    """One row per claim of the seed report: its figures, this study's, and the verdict computed from them."""
    rows = []
    for spec in specs.values():
        if spec.seed_claim is None or spec.id not in compared:
            continue
        base = specs[spec.compare_with]
        c = compared[spec.id]
        sign = 1 if spec.seed_claim.direction == "better" else -1
        seed_a, seed_b = spec.seed_report.accuracy, base.seed_report.accuracy
        d = c["diff_pp"]
        rows.append({
            "claim (seed report)": spec.seed_claim.text,
            "A vs B": f"{spec.id} vs {base.id}",
            "seed: A − B": f"{100 * (seed_a - seed_b):+.2f} pp" if seed_a and seed_b else "—",
            "ours: A, B": f"{results[spec.id]['summary']['accuracy']['mean']:.4f}, "
                          f"{results[base.id]['summary']['accuracy']['mean']:.4f}",
            "ours: A − B": f"{d['mean']:+.2f} pp",
            "95 % CI": "—" if np.isnan(d["low"]) else f"[{d['low']:+.2f}, {d['high']:+.2f}] pp",
            "McNemar p (largest)": f"{c['p_max']:.2g}",
            "verdict": stats.verdict(sign, c),
        })
    return pd.DataFrame(rows)


def digit_one_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's recall times the 1,135 test ones: a whole number every time, so it is digit 1's recall."""
    rows = []
    for spec in specs.values():
        recall = spec.seed_report.recall
        if recall is None:
            continue
        ones = recall * TEST_ONES
        rows.append({"model": spec.id, "seed recall": recall, "recall × 1135": round(ones, 6),
                     "whole number": bool(abs(ones - round(ones)) < 1e-6)})
    return pd.DataFrame(rows).set_index("model")


def conclusion_table_audit(specs: dict[str, ModelSpec]) -> pd.DataFrame:
    """The seed's section accuracies beside the ones in its own conclusion table."""
    rows = [{"model": s.id, "section": s.seed_report.accuracy, "conclusion table": s.seed_report.conclusion_table_accuracy,
             "agree": s.seed_report.accuracy == s.seed_report.conclusion_table_accuracy}
            for s in specs.values() if s.seed_report.conclusion_table_accuracy is not None]
    return pd.DataFrame(rows).set_index("model")


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
                     "started from trained weights": rep.train_accuracy_first >= finish})
    return pd.DataFrame(rows).set_index("model")


def across_datasets(results_by_dataset: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """Each model's mean test accuracy, 95 % interval and rank (1 = best) on every dataset, one row per model."""
    frames = []
    for dataset, results in results_by_dataset.items():
        table = pd.DataFrame({rid: {"accuracy": r["summary"]["accuracy"]["mean"], "CI low": r["summary"]["accuracy"]["low"],
                                    "CI high": r["summary"]["accuracy"]["high"]} for rid, r in results.items()}).T
        table["rank"] = table["accuracy"].rank(ascending=False, method="min").astype(int)
        frames.append(table.add_prefix(f"{dataset}: "))
    return pd.concat(frames, axis=1, join="inner").round(4)


def rank_correlation(table: pd.DataFrame, a: str, b: str) -> dict:
    """Spearman's rho and Kendall's tau (scipy) between the models' accuracies on datasets a and b."""
    x, y = table[f"{a}: accuracy"], table[f"{b}: accuracy"]
    rho, tau = scipy_stats.spearmanr(x, y), scipy_stats.kendalltau(x, y)
    return {"n": int(len(x)), "spearman": float(rho.statistic), "spearman_p": float(rho.pvalue),
            "kendall": float(tau.statistic), "kendall_p": float(tau.pvalue)}


def claims_across(claims: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The verdict on every seed-report claim per dataset, and on which datasets it holds (is supported)."""
    columns = {dataset: table.set_index("claim (seed report)")["verdict"] for dataset, table in claims.items()}
    frame = pd.DataFrame(columns)
    supported = frame.eq(stats.SUPPORTED)
    frame["holds on"] = ["all" if row.all() else "none" if not row.any() else ", ".join(c for c, ok in row.items() if ok)
                         for _, row in supported.iterrows()]
    return frame
