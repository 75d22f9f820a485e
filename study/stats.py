"""Statistics over repeated seeds on one shared test set: intervals, the expected accuracy difference between two
models with both of its sources of noise, claim tests corrected for their family, and the seeds a claim needs."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower

from study.typed import Strict

LEVEL = 0.95
ALPHA = 1 - LEVEL
POWER = 0.8
SUPPORTED, CONTRADICTED, EQUIVALENT, UNDECIDED = "supported", "contradicted", "equivalent", "undecided"
NO_VERDICT = "no verdict: one seed"
REPRODUCED, ABOVE, BELOW = "reproduced", "above our runs", "below our runs"
UNIT = (0.0, 1.0)  # the range of an accuracy, a precision, a recall or an F1
Direction = Literal["better", "worse", "not worse", "not better"]


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


class Difference(Strict):
    """The expected test accuracy of model A minus model B over training seeds, in percentage points, from
    `n_a` and `n_b` runs scored on one shared test set of `images` images.

    The standard error has two parts: the runs' spread between seeds (`se_seeds`) and the finite test set
    (`se_images`); `df` are Welch-Satterthwaite degrees of freedom, and [low, high] the 95 % t-interval. With one
    run on a side the seed spread is unknown (`se_seeds` NaN): the interval is then the test set's alone, for
    these two runs. `beats` is the probability that a run of A scores higher than a run of B, over all pairs
    of runs (ties count half); `sd_a`, `sd_b` are each model's seed-to-seed sd, and `image_var` the variance
    between test images of the expected per-image difference (in pp²), the two inputs of a power analysis.
    """

    n_a: int
    n_b: int
    images: int
    estimate: float
    se: float
    se_seeds: float
    se_images: float
    df: float
    low: float
    high: float
    beats: float
    sd_a: float
    sd_b: float
    image_var: float

    @property
    def seed_spread_known(self) -> bool:
        return min(self.n_a, self.n_b) >= 2


class ClaimTest(Strict):
    """One claim's test: the claim's p-value (the smallest level at which its 95 %-style interval decides it), the
    outcome it would have, the Holm-adjusted p over the claims of its family, the outcome as decided, and the
    look that decided it (0: a single look at ALPHA; 1 or 2: `two_looks`)."""

    p: float
    outcome_if_decided: str
    p_holm: float
    outcome: str
    look: int = 0


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


def _residual_mean_square(correct: np.ndarray) -> float:
    """The seed × image interaction's mean square of a runs × images table of right (1) and wrong (0): the
    residual of a two-way analysis of variance without replication; 0 with one run."""
    n, images = correct.shape
    if n < 2:
        return 0.0
    residual = correct - correct.mean(axis=1, keepdims=True) - correct.mean(axis=0) + correct.mean()
    return float((residual**2).sum() / ((n - 1) * (images - 1)))


def difference(correct_a: np.ndarray, correct_b: np.ndarray, level: float = LEVEL) -> Difference:
    """A - B from each model's runs × images table of right (True) and wrong (False) on the same test images.

    Var(estimate) = s_a²/n_a + s_b²/n_b + (v - MS_a/n_a - MS_b/n_b)/N: the seeds' sample variances of
    accuracy, and the variance v between images of the per-image difference of mean correctness, less the
    run-level noise that v and the seed terms would otherwise both count (each model's seed × image mean square,
    as in a two-way random-effects analysis of variance). Degrees of freedom by Welch-Satterthwaite.
    """
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not (len(a) and len(b)):
        raise ValueError(f"need runs × images tables on the same images, got shapes {a.shape} and {b.shape}")
    (n_a, images), n_b = a.shape, len(b)
    acc_a, acc_b = a.mean(axis=1), b.mean(axis=1)
    estimate = float(acc_a.mean() - acc_b.mean())
    v = float(np.var(a.mean(axis=0) - b.mean(axis=0), ddof=1))
    beats = float(stats.mannwhitneyu(acc_a, acc_b).statistic / (n_a * n_b))
    var_a, var_b = (float(np.var(acc, ddof=1)) if len(acc) > 1 else math.nan for acc in (acc_a, acc_b))
    if min(n_a, n_b) < 2:
        se_images = math.sqrt(v / images)
        z = float(stats.norm.ppf((1 + level) / 2))
        return _in_pp(n_a=n_a, n_b=n_b, images=images, estimate=estimate, se=se_images, se_seeds=math.nan,
                      se_images=se_images, df=math.inf, low=estimate - z * se_images, high=estimate + z * se_images,
                      beats=beats, sd_a=math.sqrt(var_a), sd_b=math.sqrt(var_b), image_var=v)
    ms_a, ms_b = _residual_mean_square(a), _residual_mean_square(b)
    image_var = max(v - ms_a / n_a - ms_b / n_b, 0.0)
    terms = [(var_a / n_a, n_a - 1), (var_b / n_b, n_b - 1)]
    if image_var > 0:
        terms += [(v / images, images - 1), (-ms_a / (n_a * images), (n_a - 1) * (images - 1)),
                  (-ms_b / (n_b * images), (n_b - 1) * (images - 1))]
    total = sum(t for t, _ in terms)
    se = math.sqrt(total)
    df = total**2 / sum(t**2 / d for t, d in terms) if total > 0 else math.inf
    half = float(stats.t.ppf((1 + level) / 2, df)) * se
    return _in_pp(n_a=n_a, n_b=n_b, images=images, estimate=estimate, se=se,
                  se_seeds=math.sqrt(var_a / n_a + var_b / n_b), se_images=math.sqrt(image_var / images), df=df,
                  low=estimate - half, high=estimate + half, beats=beats, sd_a=math.sqrt(var_a),
                  sd_b=math.sqrt(var_b), image_var=image_var)


def _in_pp(*, beats: float, images: int, n_a: int, n_b: int, df: float, image_var: float, **fractions: float) \
        -> Difference:
    """A Difference with its accuracies' fractions turned into percentage points."""
    return Difference(n_a=n_a, n_b=n_b, images=images, df=df, beats=beats, image_var=image_var * 100**2,
                      **{k: 100 * v for k, v in fractions.items()})


def beyond(d: Difference, x: float, side: int) -> float:
    """p for "A - B lies above x" (side +1) or below it (-1): twice the one-sided t p-value, so that p < 5 %
    exactly when the 95 % interval lies wholly on that side of x."""
    if d.se == 0:
        return 0.0 if side * (d.estimate - x) > 0 else 1.0
    return float(min(1.0, 2 * stats.t.sf(side * (d.estimate - x) / d.se, d.df)))


def claim_p(d: Difference, direction: Direction, margin: float) -> tuple[float, str]:
    """A claim's p-value and the outcome it decides at that level, from the difference A - B (pp).

    "better"/"worse": supported or contradicted when the interval excludes zero, by its side; equivalent when it
    lies inside ±margin. "not worse" (non-inferiority): supported when the interval lies above -margin,
    contradicted when below it; "not better" mirrors that at +margin. The claim's p is the smallest of its
    outcomes' p-values (`beyond`), and its outcome that one's.
    """
    if direction in ("better", "worse"):
        sign = 1 if direction == "better" else -1
        tested = [(beyond(d, 0, sign), SUPPORTED), (beyond(d, 0, -sign), CONTRADICTED),
                  (max(beyond(d, -margin, 1), beyond(d, margin, -1)), EQUIVALENT)]
    else:
        bound, sign = (-margin, 1) if direction == "not worse" else (margin, -1)
        tested = [(beyond(d, bound, sign), SUPPORTED), (beyond(d, bound, -sign), CONTRADICTED)]
    return min(tested)


def holm(claims: list[tuple[float, str]], alpha: float = ALPHA) -> list[ClaimTest]:
    """Holm's step-down correction (statsmodels) over a family of claims' (p, outcome if decided): each claim is
    decided when its adjusted p is below `alpha`, else undecided; the family-wise error rate is at most `alpha`."""
    if not claims:
        return []
    reject, adjusted, _, _ = multipletests([p for p, _ in claims], alpha=alpha, method="holm")
    return [ClaimTest(p=p, outcome_if_decided=o, p_holm=float(q), outcome=o if r else UNDECIDED)
            for (p, o), r, q in zip(claims, reject, adjusted)]


def two_looks(first: list[tuple[float, str]], second: dict[int, tuple[float, str]]) -> list[ClaimTest]:
    """The claims of a family decided in two looks, spending half of ALPHA at each (a Bonferroni split, valid
    whatever the looks' dependence): Holm at ALPHA/2 over every claim's first-look (p, outcome); then Holm at
    ALPHA/2 over the second-look (p, outcome) of the claims still undecided, by their index in `first` (claims
    given no second look stay undecided). The chance of any false verdict over both looks is at most ALPHA."""
    tests = [t.model_copy(update={"look": 1}) for t in holm(first, ALPHA / 2)]
    still = [i for i, t in enumerate(tests) if t.outcome == UNDECIDED and i in second]
    for i, t in zip(still, holm([second[i] for i in still], ALPHA / 2)):
        tests[i] = t.model_copy(update={"look": 2})
    return tests


def distance(direction: Direction, diff: float, margin: float) -> float:
    """How far a difference A - B (pp) lies from the boundary its claim must clear: zero for "better"/"worse",
    -margin for "not worse", +margin for "not better"; negative when it lies on the wrong side."""
    return {"better": abs(diff), "worse": abs(diff), "not worse": diff + margin, "not better": margin - diff}[direction]


def seeds_for(direction: Direction, targets: list[float | None], d: Difference, margin: float,
              alpha: float) -> int | None:
    """`seeds_needed` for a claim if the true difference were the target farthest from the boundary the claim must
    clear; None when no target is given or no number of seeds can detect any of them."""
    distances = [distance(direction, t, margin) for t in targets if t is not None]
    if not distances or max(distances) <= 0:
        return None
    return seeds_needed(max(distances), d, alpha)


def seeds_needed(distance: float, d: Difference, alpha: float, power: float = POWER, most: int = 100_000) -> int | None:
    """Seeds per model (the same for both) at which a true difference `distance` pp away from the boundary a claim
    must clear is detected with `power` at level `alpha`, for the seed spread and image variance `d` measured
    (statsmodels' two-sample t power). None when no number of seeds can: the test set's own noise, which more
    seeds do not reduce, already hides it. A number above `most` is returned as `most + 1`.

    The variance of the estimate with n seeds each is (sd_a² + sd_b²)/n + image_var/N, which statsmodels' power
    for two samples of n takes as 2σ²/n with σ² = (sd_a² + sd_b²)/2 + n·image_var/(2N); the power grows with n,
    and the smallest n that reaches `power` is found by doubling and bisection.
    """
    distance = abs(distance)
    if distance <= (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * math.sqrt(d.image_var / d.images):
        return None
    seeds_var = (d.sd_a**2 + d.sd_b**2) / 2
    analysis = TTestIndPower()

    def reaches(n: int) -> bool:
        sigma = math.sqrt(seeds_var + n * d.image_var / (2 * d.images))
        return sigma == 0 or analysis.power(distance / sigma, nobs1=n, alpha=alpha, ratio=1.0) >= power

    low, high = 1, 2
    while not reaches(high):
        if high > most:
            return most + 1
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high
