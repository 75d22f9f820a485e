"""Statistics over repeated seeds on one shared test set: intervals, the expected accuracy difference between two
models with both of its sources of noise, claim tests corrected for their family, and the seeds a claim needs."""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import ttest_power

from study.typed import Strict

LEVEL = 0.95
ALPHA = 1 - LEVEL
POWER = 0.8
MOST = 100_000  # seed planning counts no further
PLAN_CONFIDENCE = 0.8  # the one-sided confidence of the bounds seed planning plans from
SUPPORTED, CONTRADICTED, EQUIVALENT, UNDECIDED = "supported", "contradicted", "equivalent", "undecided"
MIN_SEEDS = 3  # seeds of each model a verdict needs: with two, neither Welch's nor Hsu's t holds Holm's far tail
NO_VERDICT = f"no verdict: fewer than {MIN_SEEDS} seeds"
REPRODUCED, ABOVE, BELOW = "reproduced", "above our runs", "below our runs"
UNIT = (0.0, 1.0)  # the range of an accuracy, a precision, a recall or an F1
DIFFERENCE_RANGE = (-100.0, 100.0)  # the range of a difference of two accuracies, in percentage points
OUTCOMES = (SUPPORTED, CONTRADICTED, EQUIVALENT)
Direction = Literal["better", "worse", "not worse", "not better"]
SeedDf = Literal["hsu", "welch"]


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
    (`se_images`); `df` are Satterthwaite's degrees of freedom with the seed terms at Hsu's min(n_a, n_b) - 1, and
    [low, high] the 95 % t-interval. With one
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

    @property
    def decidable(self) -> bool:
        """Enough seeds of both models for a verdict (MIN_SEEDS)."""
        return min(self.n_a, self.n_b) >= MIN_SEEDS


class ClaimTest(Strict):
    """One claim's test: the claim's p-value (the smallest level at which its 95 %-style interval decides it), the
    outcome it would have, the Holm-adjusted p over the claims of its family (in a sequential design, the nominal
    level its look needed instead), the outcome as decided, and the look (0: a single look at ALPHA; k: the k-th
    look of a sequential design, the one that decided it, else its last)."""

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


def _residual_mean_square(correct: np.ndarray) -> np.ndarray:
    """The seed × image interaction's mean square of runs × images tables (..., runs, images) of right (1) and
    wrong (0): the residual of a two-way analysis of variance without replication; 0 with one run."""
    n, images = correct.shape[-2:]
    if n < 2:
        return np.zeros(correct.shape[:-2])
    residual = (correct - correct.mean(axis=-1, keepdims=True) - correct.mean(axis=-2, keepdims=True)
                + correct.mean(axis=(-2, -1), keepdims=True))
    return (residual**2).sum(axis=(-2, -1)) / ((n - 1) * (images - 1))


class Differences(NamedTuple):
    """`difference` over a batch of pairs of models: each field an array over the batch (pp; df as they are)."""

    n_a: int
    n_b: int
    images: int
    estimate: np.ndarray
    se: np.ndarray
    se_seeds: np.ndarray
    se_images: np.ndarray
    df: np.ndarray
    sd_a: np.ndarray
    sd_b: np.ndarray
    image_var: np.ndarray


def differences(correct_a: np.ndarray, correct_b: np.ndarray, seed_df: SeedDf = "hsu") -> Differences:
    """`difference` for many pairs at once: runs × images tables stacked on leading axes (..., runs, images), the
    same images within a pair. `seed_df="welch"` gives the seed terms Welch-Satterthwaite's degrees of freedom
    instead of Hsu's, the rule whose far tail errs at two or three seeds (kept to show it by simulation)."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.ndim < 2 or b.ndim != a.ndim or a.shape[-1] != b.shape[-1] or not (a.shape[-2] and b.shape[-2]):
        raise ValueError(f"need runs × images tables on the same images, got shapes {a.shape} and {b.shape}")
    n_a, images, n_b = a.shape[-2], a.shape[-1], b.shape[-2]
    acc_a, acc_b = a.mean(axis=-1), b.mean(axis=-1)
    estimate = acc_a.mean(axis=-1) - acc_b.mean(axis=-1)
    v = np.var(a.mean(axis=-2) - b.mean(axis=-2), axis=-1, ddof=1)
    if min(n_a, n_b) < 2:
        nan, se_images = np.full(v.shape, math.nan), np.sqrt(v / images)
        sds = [np.sqrt(np.var(acc, axis=-1, ddof=1)) if acc.shape[-1] > 1 else nan for acc in (acc_a, acc_b)]
        return _in_pp(n_a, n_b, images, estimate, se_images, nan, se_images, np.full(v.shape, math.inf), *sds, v)
    var_a, var_b = np.var(acc_a, axis=-1, ddof=1), np.var(acc_b, axis=-1, ddof=1)
    ms_a, ms_b = _residual_mean_square(a), _residual_mean_square(b)
    image_var = np.maximum(v - ms_a / n_a - ms_b / n_b, 0.0)
    seeds, shown = var_a / n_a + var_b / n_b, image_var > 0
    terms = [(v / images, images - 1), (-ms_a / (n_a * images), (n_a - 1) * (images - 1)),
             (-ms_b / (n_b * images), (n_b - 1) * (images - 1))]
    total = seeds + np.where(shown, sum(t for t, _ in terms), 0.0)
    shares = np.where(shown, sum(t**2 / d for t, d in terms), 0.0) + (
        seeds**2 / (min(n_a, n_b) - 1) if seed_df == "hsu"
        else (var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(total > 0, total**2 / shares, math.inf)
    return _in_pp(n_a, n_b, images, estimate, np.sqrt(total), np.sqrt(seeds), np.sqrt(image_var / images), df,
                  np.sqrt(var_a), np.sqrt(var_b), image_var)


def _in_pp(n_a: int, n_b: int, images: int, estimate, se, se_seeds, se_images, df, sd_a, sd_b,
           image_var) -> Differences:
    """Differences with the accuracies' fractions turned into percentage points (variances into pp²)."""
    return Differences(n_a, n_b, images, 100 * estimate, 100 * se, 100 * se_seeds, 100 * se_images, df, 100 * sd_a,
                       100 * sd_b, 100**2 * image_var)


def difference(correct_a: np.ndarray, correct_b: np.ndarray, level: float = LEVEL) -> Difference:
    """A - B from each model's runs × images table of right (True) and wrong (False) on the same test images.

    Var(estimate) = s_a²/n_a + s_b²/n_b + (v - MS_a/n_a - MS_b/n_b)/N: the seeds' sample variances of
    accuracy, and the variance v between images of the per-image difference of mean correctness, less the
    run-level noise that v and the seed terms would otherwise both count (each model's seed × image mean square,
    as in a two-way random-effects analysis of variance). Degrees of freedom by Satterthwaite, with the seed
    terms counted as one of min(n_a, n_b) - 1 degrees of freedom (Hsu's conservative solution to the
    Behrens-Fisher problem: Welch's own estimate is too hopeful in the far tail at two or three seeds).
    """
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"need runs × images tables on the same images, got shapes {a.shape} and {b.shape}")
    batch = differences(a[None], b[None])
    one = {field: float(value[0]) for field, value in batch._asdict().items() if isinstance(value, np.ndarray)}
    acc_a, acc_b = a.mean(axis=1), b.mean(axis=1)
    beats = float(stats.mannwhitneyu(acc_a, acc_b).statistic / (len(a) * len(b)))
    quantile = stats.norm.ppf((1 + level) / 2) if math.isinf(one["df"]) else stats.t.ppf((1 + level) / 2, one["df"])
    half = float(quantile) * one["se"]
    return Difference(n_a=batch.n_a, n_b=batch.n_b, images=batch.images, low=one["estimate"] - half,
                      high=one["estimate"] + half, beats=beats, **one)


def _sf(x, df) -> np.ndarray:
    """Student's t survival function at x (NaN, a tie at zero spread, counts as not beyond)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(stats.t.sf(x, df), nan=1.0)


def outcome_ps(estimate, se, df, direction: Direction, margin: float) -> np.ndarray:
    """The p-value of each outcome a claim can have (rows in OUTCOMES order; "not worse"/"not better" have no
    equivalence row) over arrays of differences (pp): twice the one-sided t p for a side of zero or of the margin,
    the larger one-sided p of two for equivalence."""
    def z(x: float) -> np.ndarray:
        return (np.asarray(estimate) - x) / np.asarray(se)

    with np.errstate(divide="ignore", invalid="ignore"):
        if direction in ("better", "worse"):
            sign = 1 if direction == "better" else -1
            tested = [np.minimum(1.0, 2 * _sf(sign * z(0), df)), np.minimum(1.0, 2 * _sf(-sign * z(0), df)),
                      np.maximum(_sf(z(-margin), df), _sf(-z(margin), df))]
        else:
            bound, sign = (-margin, 1) if direction == "not worse" else (margin, -1)
            tested = [np.minimum(1.0, 2 * _sf(sign * z(bound), df)), np.minimum(1.0, 2 * _sf(-sign * z(bound), df))]
    return np.stack(tested)


def claim_ps(estimate, se, df, direction: Direction, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """`claim_p` over arrays of differences (pp): each claim's p and the index in OUTCOMES of its outcome."""
    ps = outcome_ps(estimate, se, df, direction, margin)
    return ps.min(axis=0), ps.argmin(axis=0)


def claim_p(d: Difference, direction: Direction, margin: float) -> tuple[float, str]:
    """A claim's p-value and the outcome it decides at that level, from the difference A - B (pp).

    "better"/"worse": supported or contradicted when the 95 % interval excludes zero, by its side (twice the
    one-sided p); equivalent when two one-sided tests put it inside ±margin (the larger one-sided p: at 5 %, the
    90 % interval inside the margin). "not worse" (non-inferiority): supported when the 95 % interval lies above
    -margin, contradicted when below it; "not better" mirrors that at +margin. The claim's p is the smallest of
    its outcomes' p-values, and its outcome that one's.
    """
    p, index = claim_ps(d.estimate, d.se, d.df, direction, margin)
    return float(p), OUTCOMES[int(index)]


def holm(claims: list[tuple[float, str]], alpha: float = ALPHA) -> list[ClaimTest]:
    """Holm's step-down correction (statsmodels) over a family of claims' (p, outcome if decided): each claim is
    decided when its adjusted p is below `alpha`, else undecided; the family-wise error rate is at most `alpha`."""
    if not claims:
        return []
    reject, adjusted, _, _ = multipletests([p for p, _ in claims], alpha=alpha, method="holm")
    return [ClaimTest(p=p, outcome_if_decided=o, p_holm=float(q), outcome=o if r else UNDECIDED)
            for (p, o), r, q in zip(claims, reject, adjusted)]


Spending = Literal["pocock", "obrien-fleming"]


def spent(fraction, alpha: float, spending: Spending) -> np.ndarray:
    """Lan-DeMets' alpha-spending functions: the two-sided level spent by information `fraction` (0..1) of a
    design at `alpha`, alpha/2 a side: O'Brien-Fleming type 4 - 4Φ(z_{1-alpha/4}/√t) or Pocock type
    alpha·ln(1 + (e - 1)t)."""
    t = np.asarray(fraction, dtype=float)
    if spending == "obrien-fleming":
        with np.errstate(divide="ignore"):
            return 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / np.sqrt(t))
    return alpha * np.log1p((math.e - 1) * t)


SPEND_FLOOR = 1e-7  # a look given less of the level than this decides nothing (its boundary is infinite)


@functools.cache
def nominal_levels(alpha: float, looks: tuple[int, ...], spending: Spending) -> tuple[float, ...]:
    """The two-sided nominal level of each look of a group-sequential test at `alpha` with looks at these seed
    counts (information fractions looks / looks[-1]): the boundaries c_k for |Z| solve, look by look,
    P(|Z_j| < c_j for all j <= k) = 1 - spent(t_k) under the looks' joint normal law (correlation √(t_j/t_k)),
    with scipy's multivariate normal; a look reaches its nominal level 2Φ(-c_k)."""
    t = np.asarray(looks, dtype=float) / looks[-1]
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    budget = spent(t, alpha, spending)
    bounds: list[float] = []
    for k in range(len(t)):
        gained = budget[k] - (budget[k - 1] if k else 0.0)
        if gained < SPEND_FLOOR:
            bounds.append(math.inf)
            continue
        if k == 0 or all(math.isinf(b) for b in bounds):
            bounds.append(float(stats.norm.isf(budget[k] / 2)))
            continue
        law = stats.multivariate_normal(np.zeros(k + 1), corr[: k + 1, : k + 1], maxpts=50_000 * (k + 1),
                                        abseps=1e-8, releps=0)
        kept = np.array([min(b, 40.0) for b in bounds])

        def stays(c: float) -> float:
            upper = np.append(kept, c)
            return float(law.cdf(upper, lower_limit=-upper, rng=np.random.default_rng(0))) - (1 - budget[k])

        bounds.append(float(optimize.brentq(stays, 0.1, 40.0, xtol=1e-6)))
    return tuple(float(2 * stats.norm.sf(b)) for b in bounds)


def hypotheses(d: Difference, direction: Direction, margin: float) -> list[tuple[float, str]]:
    """A claim's hypotheses, each with its p and the outcome its rejection gives: the difference from its boundary
    (zero for "better"/"worse", ∓margin for "not worse"/"not better"; two-sided, its side the outcome) and, for
    "better"/"worse", equivalence within the margin (two one-sided tests)."""
    ps = outcome_ps(d.estimate, d.se, d.df, direction, margin)
    side = int(ps[1] < ps[0])
    return [(float(ps[side]), OUTCOMES[side])] + ([(float(ps[2]), EQUIVALENT)] if len(ps) == 3 else [])


def sequential_holm(ps: list[list[tuple[float, ...]]], alpha: float, looks: tuple[int, ...], spending: Spending
                    ) -> tuple[list[tuple[int, int] | None], list[float]]:
    """A family of claims tested at every look each reached: `ps[i][k]` holds claim i's p of each of its hypotheses
    (`hypotheses`) at look k, in the order of `looks` (one look: `looks` of one element, its nominal level the
    level itself). Holm's procedure with each hypothesis's level spent over the looks (`nominal_levels`; Maurer and
    Bretz's graphical approach), and Shaffer's logical constraint: a claim's difference and its equivalence cannot
    both be false at once, so every claim with a hypothesis still open counts once, each open hypothesis holds
    alpha / (such claims), and a claim passes its share on only when all its hypotheses are rejected. A hypothesis
    is rejected when its p at any look it reached is within that look's nominal level; the others are tested again.
    Returns, per claim, the (look, hypothesis) of its earliest rejection or None, and the level it held last. The
    chance of any false verdict, at any look, is at most `alpha`."""
    rejected: list[dict[int, int]] = [{} for _ in ps]
    held = [alpha / max(len(ps), 1)] * len(ps)
    while open_ := [i for i, claim in enumerate(ps) if len(rejected[i]) < len(claim[0])]:
        level = alpha / len(open_)
        nominal = nominal_levels(level, tuple(looks), spending)
        new = False
        for i in open_:
            held[i] = level
            for h in set(range(len(ps[i][0]))) - set(rejected[i]):
                k = next((k for k, p in enumerate(ps[i]) if p[h] <= nominal[k]), None)
                if k is not None:
                    rejected[i][h], new = k, True
        if not new:
            break
    first = [min(((k, h) for h, k in r.items()), default=None) for r in rejected]
    return first, held


def distance(direction: Direction, diff: float, margin: float) -> float:
    """How far a difference A - B (pp) lies from the boundary its claim must clear: zero for "better"/"worse",
    -margin for "not worse", +margin for "not better"; negative when it lies on the wrong side."""
    return {"better": abs(diff), "worse": abs(diff), "not worse": diff + margin, "not better": margin - diff}[direction]


class Spread(Strict):
    """A seed-to-seed variance of test accuracy (pp²) with its degrees of freedom: one model's, or pooled over
    several models (`pooled`)."""

    var: float
    df: int

    def upper_sd(self, confidence: float = PLAN_CONFIDENCE) -> float:
        """The one-sided upper confidence bound of the sd (chi-square); NaN without degrees of freedom."""
        return math.sqrt(self.var * self.df / _chi2_quantile(1 - confidence, self.df)) if self.df else math.nan


@functools.cache
def _chi2_quantile(q: float, df: int) -> float:
    return float(stats.chi2.ppf(q, df))


def rate_bounds(count: int, runs: int, confidence: float = PLAN_CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) bounds on a share of runs, each one-sided at `confidence` (scipy's binomtest)."""
    ci = stats.binomtest(count, runs).proportion_ci(2 * confidence - 1, method="exact")
    return float(ci.low), float(ci.high)


def pooled(spreads: list[Spread]) -> Spread | None:
    """The variances pooled over models, weighted by their degrees of freedom; None when none has any."""
    df = sum(s.df for s in spreads)
    return Spread(var=sum(s.var * s.df for s in spreads) / df, df=df) if df else None


class Planned(Strict):
    """What seed planning takes one model's runs to be: the seed sd to plan with (pp) and, for a model some of
    whose runs stayed at chance, the bounds on how often that happens and the mean it would have at the bound
    that needs the most seeds, less their observed mean (`mean_shift`, pp)."""

    sd: float
    at_chance: int
    runs: int
    rate_low: float = 0.0
    rate_high: float = 0.0
    mean_shift: float = 0.0


def planned(accuracies_pp, chance_pp: float, pool: Spread | None,
            confidence: float = PLAN_CONFIDENCE) -> Planned:
    """Plan from the upper `confidence` bound of the seed sd: the pool's, when the dataset's learned models give one
    (they are taken to share one spread), else the model's own runs'. Where runs stayed at chance (below
    `chance_pp`), the share that does is known only within exact binomial bounds: plan at the lower bound of that
    share (the difference it makes is smallest there relative to its spread), with its mixture's sd and mean."""
    x = np.asarray(accuracies_pp, dtype=float)
    stuck, learned = x[x < chance_pp], x[x >= chance_pp]
    own = Spread(var=float(np.var(learned, ddof=1)), df=len(learned) - 1) if len(learned) > 1 else None
    spread = pool or own
    sd_learned = spread.upper_sd(confidence) if spread else math.nan
    if not len(stuck):
        return Planned(sd=sd_learned, at_chance=0, runs=len(x))
    rate, rate_high = rate_bounds(len(stuck), len(x), confidence)
    level = float(learned.mean() if len(learned) else x.max())
    gap = level - float(stuck.mean())
    sd = math.sqrt(rate * (1 - rate) * gap**2 + (0.0 if math.isnan(sd_learned) else sd_learned**2))
    shift = float((1 - rate) * level + rate * stuck.mean() - x.mean())
    return Planned(sd=sd, at_chance=len(stuck), runs=len(x), rate_low=rate, rate_high=rate_high, mean_shift=shift)


def seeds_for(direction: Direction, targets: list[float | None], d: Difference, margin: float, alpha: float,
              sds: tuple[float, float] | None = None) -> int | None:
    """`plan_seeds` for one claim, from the difference `d` measured (its seed sds unless `sds` are given); None when
    no target is given or none can be decided by any number of seeds."""
    sd_a, sd_b = sds or (d.sd_a, d.sd_b)
    n = float(plan_seeds(direction, targets, sd_a, sd_b, d.image_var, d.images, margin, alpha))
    return None if math.isnan(n) else int(n)


def plan_seeds(direction: Direction, targets: list, sd_a, sd_b, image_var, images: int, margin: float,
               alpha) -> np.ndarray:
    """The fewest seeds per model that decide a claim with 80 % power at `alpha` if the true difference (pp) were
    one of `targets` (the one needing fewest; None skipped): by showing a difference from the claim's boundary
    (`distance`, two-sided) or, for "better"/"worse", equivalence within the margin (two one-sided tests). Arrays
    broadcast; NaN where no number of seeds decides any target, MOST + 1 beyond MOST."""
    best = np.full(np.broadcast(sd_a, sd_b, image_var, alpha).shape, np.inf)
    for target in (np.asarray(t, dtype=float) for t in targets if t is not None):
        away = distance(direction, target, margin)
        best = np.fmin(best, np.where(away > 0, seeds_needed(away, sd_a, sd_b, image_var, images, alpha), np.nan))
        if direction in ("better", "worse"):
            inside = margin - np.abs(target)
            best = np.fmin(best, np.where(inside > 0, seeds_needed(inside, sd_a, sd_b, image_var, images, alpha,
                                                                   one_sided=True), np.nan))
    return np.where(np.isinf(best), np.nan, best)


def seeds_needed(distance, sd_a, sd_b, image_var, images: int, alpha, power: float = POWER, most: int = MOST,
                 one_sided: bool = False) -> np.ndarray:
    """Seeds per model (the same for both) at which a true difference `distance` pp away from the boundary a claim
    must clear is detected with `power` at level `alpha` (two-sided, or `one_sided`), for seed sds `sd_a`, `sd_b`
    (pp) and an image variance `image_var` (pp²) on `images` test images. NaN where no number of seeds can: the
    test set's own noise, which more seeds do not reduce, already hides it; `most` + 1 beyond `most`.

    With n seeds each the estimate's variance is (sd_a² + sd_b²)/n + image_var/N, and the test has n - 1 seed
    degrees of freedom (Hsu's): statsmodels' one-sample t power with effect distance / σ, σ² = sd_a² + sd_b² +
    n·image_var/N. The power grows with n; the smallest n that reaches `power` is found by doubling and bisection,
    element by element over arrays.
    """
    distance = np.abs(np.asarray(distance, dtype=float))
    spread = np.asarray(sd_a, dtype=float) ** 2 + np.asarray(sd_b, dtype=float) ** 2
    z_alpha = stats.norm.ppf(1 - alpha) if one_sided else stats.norm.ppf(1 - np.asarray(alpha) / 2)
    hidden = distance <= (z_alpha + stats.norm.ppf(power)) * np.sqrt(image_var / images)
    shape = np.broadcast(distance, spread, image_var, alpha).shape

    def reaches(n: np.ndarray) -> np.ndarray:
        return _power(distance, spread, image_var, images, alpha, n, one_sided) >= power

    low, high = np.ones(shape), np.full(shape, 2.0)
    while (grow := ~hidden & (high <= most) & ~reaches(high)).any():
        low, high = np.where(grow, high, low), np.where(grow, 2 * high, high)
    beyond = ~hidden & ~reaches(high)
    while (open_ := ~hidden & ~beyond & (high - low > 1)).any():
        middle = (low + high) // 2
        hit = reaches(middle)
        low, high = np.where(open_ & ~hit, middle, low), np.where(open_ & hit, middle, high)
    return np.where(hidden, np.nan, np.where(beyond, most + 1, high))


def _power(distance, spread, image_var, images: int, alpha, n, one_sided: bool) -> np.ndarray:
    """The power of the claim test with n seeds per model (statsmodels' one-sample t power, n - 1 degrees of
    freedom; the normal approximation where statsmodels gives NaN) for a true distance from its boundary, seed
    variances summing to `spread` and the test set's noise."""
    sigma = np.sqrt(spread + n * np.asarray(image_var) / images)
    effect = distance / np.where(sigma > 0, sigma, 1.0)
    powered = ttest_power(effect, nobs=n, alpha=alpha, alternative="larger" if one_sided else "two-sided")
    # statsmodels' noncentral t gives NaN far in its tail: there the normal approximation, close to 1, stands in
    shift = effect * np.sqrt(n) - stats.norm.isf(np.asarray(alpha) / (1 if one_sided else 2))
    return np.where(sigma == 0, 1.0, np.where(np.isnan(powered), stats.norm.cdf(shift), powered))


def claim_power(direction: Direction, target: float, sd_a: float, sd_b: float, image_var: float, images: int,
                margin: float, alpha: float, n: int) -> float:
    """The chance that a claim is decided at level `alpha` with n seeds per model if the true difference (pp) were
    `target`: by a difference from its boundary or, for "better"/"worse", by equivalence, whichever is likelier."""
    spread = sd_a**2 + sd_b**2
    away = distance(direction, target, margin)
    power = float(_power(abs(away), spread, image_var, images, alpha, n, False)) if away > 0 else 0.0
    if direction in ("better", "worse") and margin - abs(target) > 0:
        power = max(power, float(_power(margin - abs(target), spread, image_var, images, alpha, n, True)))
    return power
