"""Statistics over repeated seeds: intervals, paired comparisons on one test set, and verdicts on claims."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

LEVEL = 0.95
ALPHA = 1 - LEVEL
SUPPORTED, CONTRADICTED, TIE = "supported", "contradicted", "not distinguishable at the 5 % level"
REPRODUCED, ABOVE, BELOW = "reproduced", "above our runs", "below our runs"


def mean_ci(values, level: float = LEVEL) -> dict:
    """Mean, sample standard deviation and Student-t confidence interval of the mean (NaN below two values)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "sd": math.nan, "low": math.nan, "high": math.nan}
    sd = float(x.std(ddof=1))
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=sd / math.sqrt(n)) if sd else (mean, mean)
    return {"n": n, "mean": mean, "sd": sd, "low": float(low), "high": float(high)}


def prediction_interval(values, level: float = LEVEL) -> tuple[float, float]:
    """Student-t prediction interval for one more value drawn like `values`: mean ± t·sd·√(1 + 1/n); NaN below two."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + level) / 2, n - 1) * float(x.std(ddof=1)) * math.sqrt(1 + 1 / n)
    return float(x.mean() - half), float(x.mean() + half)


def reproduction(reported: float | None, values) -> str | None:
    """Whether a single reported run lies inside the 95 % prediction interval of our runs, above it or below it;
    None when there is nothing to compare (no reported figure, or fewer than two runs)."""
    low, high = prediction_interval(values)
    if reported is None or math.isnan(low):
        return None
    return REPRODUCED if low <= reported <= high else ABOVE if reported > high else BELOW


def mcnemar_exact(correct_a, correct_b) -> dict:
    """McNemar's exact test on paired right/wrong outcomes: a two-sided binomial test on the discordant pairs.

    `only_a` counts images model A got right and B wrong, `only_b` the reverse.
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_a": only_a, "only_b": only_b, "p": float(p)}


def paired_comparison(runs_a: dict[int, np.ndarray], runs_b: dict[int, np.ndarray], y_true: np.ndarray) -> dict:
    """Model A against model B on the same test images, pairing runs that share a seed.

    Each seed pair gets McNemar's exact test; the accuracy difference (A - B, in percentage points) gets a
    t-interval over the seed pairs. The difference counts as distinguishable only if every seed pair's
    McNemar p is below 5 % and, with two or more pairs, the interval excludes zero: both the test-set
    sampling noise and the seed-to-seed noise must be small against it.
    """
    seeds = sorted(set(runs_a) & set(runs_b))
    if not seeds:
        raise ValueError("no seed was run for both models")
    diffs, tests = [], []
    for seed in seeds:
        right_a, right_b = runs_a[seed] == y_true, runs_b[seed] == y_true
        diffs.append(100 * (right_a.mean() - right_b.mean()))
        tests.append({"seed": seed, **mcnemar_exact(right_a, right_b)})
    diff = mean_ci(diffs)
    p_max = max(t["p"] for t in tests)
    interval_clear = len(seeds) < 2 or not (diff["low"] <= 0 <= diff["high"])
    return {"seeds": seeds, "diff_pp": diff, "mcnemar": tests, "p_max": p_max,
            "distinguishable": bool(p_max < ALPHA and interval_clear)}


def verdict(expected_sign: int, comparison: dict) -> str:
    """Whether data back a claim that A - B has `expected_sign` (+1: A better, -1: A worse)."""
    if not comparison["distinguishable"]:
        return TIE
    return SUPPORTED if np.sign(comparison["diff_pp"]["mean"]) == expected_sign else CONTRADICTED
