"""Statistics over repeated seeds: intervals, paired comparisons on one test set, and verdicts on claims."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from study.typed import Strict

LEVEL = 0.95
ALPHA = 1 - LEVEL
SUPPORTED, CONTRADICTED, TIE = "supported", "contradicted", "not distinguishable at the 5 % level"
REPRODUCED, ABOVE, BELOW = "reproduced", "above our runs", "below our runs"
UNIT = (0.0, 1.0)  # the range of an accuracy, a precision, a recall or an F1


class Summary(Strict):
    """Values over seeds: count, mean, sample sd, the Student-t 95 % interval of the mean (NaN below two values;
    `clipped` when it was cut to the figure's range) and the smallest and largest."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    min: float
    max: float
    clipped: bool = False


class McNemar(Strict):
    """McNemar's exact test for one seed pair: images only A got right, only B got right, and the p-value."""

    seed: int
    only_a: int
    only_b: int
    p: float


class Comparison(Strict):
    """Model A against model B over the seeds both ran: the accuracy difference A - B in percentage points,
    each seed pair's McNemar test, the largest p-value and whether the difference is distinguishable."""

    seeds: list[int]
    diff_pp: Summary
    mcnemar: list[McNemar]
    p_max: float
    distinguishable: bool


def mean_ci(values, level: float = LEVEL, bounds: tuple[float, float] | None = None) -> Summary:
    """Mean, sample standard deviation and Student-t confidence interval of the mean (NaN below two values), the
    interval clipped to `bounds` (a figure's range, such as [0, 1] for an accuracy) when it leaves them."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    lowest, highest = (float(x.min()), float(x.max())) if n else (math.nan, math.nan)
    if n < 2:
        return Summary(n=n, mean=mean, sd=math.nan, low=math.nan, high=math.nan, min=lowest, max=highest)
    sd = float(x.std(ddof=1))
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=sd / math.sqrt(n)) if sd else (mean, mean)
    low, high, clipped = clip(float(low), float(high), bounds)
    return Summary(n=n, mean=mean, sd=sd, low=low, high=high, min=lowest, max=highest, clipped=clipped)


def clip(low: float, high: float, bounds: tuple[float, float] | None) -> tuple[float, float, bool]:
    """An interval cut to `bounds` (None: left as it is), and whether it was cut."""
    if bounds is None or not (low < bounds[0] or high > bounds[1]):  # NaN, no interval, is left as it is
        return low, high, False
    return max(low, bounds[0]), min(high, bounds[1]), True


def interval(summary: Summary, digits: int = 4, unit: str = "", signed: bool = False) -> str:
    """A summary's interval as pages print it, "—" without one, saying so when it was clipped."""
    if math.isnan(summary.low):
        return "—"
    sign = "+" if signed else ""
    text = f"[{summary.low:{sign}.{digits}f}, {summary.high:{sign}.{digits}f}]{unit}"
    return f"{text} (clipped to the possible range)" if summary.clipped else text


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


def mcnemar_exact(correct_a, correct_b, seed: int = 0) -> McNemar:
    """McNemar's exact test on paired right/wrong outcomes: a two-sided binomial test on the discordant pairs.

    `only_a` counts images model A got right and B wrong, `only_b` the reverse.
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return McNemar(seed=seed, only_a=only_a, only_b=only_b, p=float(p))


def paired_comparison(runs_a: dict[int, np.ndarray], runs_b: dict[int, np.ndarray], y_true: np.ndarray) -> Comparison:
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
        tests.append(mcnemar_exact(right_a, right_b, seed))
    diff = mean_ci(diffs, bounds=(-100.0, 100.0))
    p_max = max(t.p for t in tests)
    interval_clear = len(seeds) < 2 or not (diff.low <= 0 <= diff.high)
    return Comparison(seeds=seeds, diff_pp=diff, mcnemar=tests, p_max=p_max,
                      distinguishable=bool(p_max < ALPHA and interval_clear))


def verdict(expected_sign: int, comparison: Comparison) -> str:
    """Whether data back a claim that A - B has `expected_sign` (+1: A better, -1: A worse)."""
    if not comparison.distinguishable:
        return TIE
    return SUPPORTED if np.sign(comparison.diff_pp.mean) == expected_sign else CONTRADICTED
