"""The statistics against independent computations (closed forms, statsmodels' ANOVA, brute force) and, by
simulation where the truth is known, their coverage, error rates and power."""

import gc
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.special import ndtr
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm

from study import stats

# --- simulated runs with a known truth -----------------------------------------------------------------------
# A run of a model gets test image x right with probability Φ(mu + u + b_x (+ w_x)): u ~ N(0, seed_sd) is the
# run's seed, b_x ~ N(0, SPREAD) how hard the image is for every model and w_x ~ N(0, own) how hard it is for
# model B alone. Over seeds and images, the expected accuracy is then Φ(mu / sqrt(1 + seed_sd² + SPREAD² + own²)).
SPREAD = 1.5


def expected_accuracy(mu: float, seed_sd: float, own: float = 0.0) -> float:
    return float(scipy_stats.norm.cdf(mu / math.sqrt(1 + seed_sd**2 + SPREAD**2 + own**2)))


def mu_for(accuracy: float, seed_sd: float, own: float = 0.0) -> float:
    return float(scipy_stats.norm.ppf(accuracy) * math.sqrt(1 + seed_sd**2 + SPREAD**2 + own**2))


def runs(rng, n_a, n_b, images, acc_a, acc_b, seed_sd, own):
    """Tables of right/wrong for n_a runs of A and n_b of B on one fresh test set, and the true A - B in pp."""
    b, w = rng.normal(0, SPREAD, images), rng.normal(0, own, images)
    mu_a, mu_b = mu_for(acc_a, seed_sd), mu_for(acc_b, seed_sd, own)
    a = rng.random((n_a, images)) < ndtr(mu_a + rng.normal(0, seed_sd, (n_a, 1)) + b)
    bb = rng.random((n_b, images)) < ndtr(mu_b + rng.normal(0, seed_sd, (n_b, 1)) + b + w)
    return a, bb, 100 * (expected_accuracy(mu_a, seed_sd) - expected_accuracy(mu_b, seed_sd, own))


# --- families of claims, many at once: the procedure's error rates, coverage and power by simulation -------------
# A run of a model gets test image x right with probability Φ(mu + u + b_x + w_x): b_x ~ N(0, SPREAD) is shared by
# every model, w_x ~ N(0, own) is the model's own, u the run's seed shift (normal, or Student's t with 3 degrees of
# freedom: heavy tails). A run "at chance" guesses: right with probability 0.1. Truth: the expected accuracy of A
# minus B over seeds and over test images, in pp. Families of nine claims are simulated side by side with NumPy,
# and Holm (statsmodels) is applied per family.
SCENARIOS = {
    "seeds dominate": dict(seed_sd=0.3, own=0.5, tails="normal"),
    "test set dominates": dict(seed_sd=0.02, own=2.5, tails="normal"),
    "heavy tails": dict(seed_sd=0.3, own=0.5, tails="t3"),
    "runs at chance": dict(seed_sd=0.3, own=0.5, tails="normal", collapse=1 / 3),
}
FAMILY_SCENARIOS = list(SCENARIOS)
# a difference on the margin (several pp here, for the margin to be several standard errors wide) without the
# skew that a large seed spread far from the accuracy's middle gives the runs
SCENARIOS |= {"seeds dominate, narrow": dict(seed_sd=0.15, own=0.5, tails="normal"),
              "test set dominates, narrow": dict(seed_sd=0.02, own=2.5, tails="normal")}
FAMILIES, CLAIMS, IMAGES, ACCURACY, MARGIN = 3000, 9, 200, 0.95, 0.25
BOUND = 0.05 + 1.5 * math.sqrt(0.05 * 0.95 / FAMILIES)  # a procedure at 6.5 % passes this one time in 50


@pytest.fixture(autouse=True)
def frozen_heap():
    """statsmodels' multipletests calls gc.collect(); with the test session's heap frozen it takes microseconds."""
    gc.freeze()
    yield
    gc.unfreeze()


def seed_shifts(rng, shape, sd, tails):
    return rng.normal(0, sd, shape) if tails == "normal" else sd * rng.standard_t(3, shape) / math.sqrt(3)


def model_runs(rng, shape_b, n, scenario, accuracy, chance_rate=0.0):
    """Right/wrong tables (..., n, images) of one model on test sets whose shared difficulties are `shape_b`."""
    s = SCENARIOS[scenario]
    own = rng.normal(0, s["own"], shape_b.shape)
    lead = shape_b.shape[:-2]
    p = ndtr(mu_for(accuracy, s["seed_sd"], s["own"]) + seed_shifts(rng, lead + (n, 1), s["seed_sd"], s["tails"])
             + shape_b + own)
    right = rng.random(lead + (n, shape_b.shape[-1])) < p
    stuck = rng.random(right.shape[:-1]) < chance_rate
    right[stuck] = rng.random((int(stuck.sum()), right.shape[-1])) < 0.1
    return right


def pairs(rng, n, scenario, families=FAMILIES, claims=CLAIMS, shift_pp=0.0, images=IMAGES):
    """A and B for families × claims: no true difference (B shifted by `shift_pp` in truth, normal seeds only),
    but under "runs at chance" claim 0's A stays at chance one run in three (Model 9's shape). Returns the tables
    and each claim's true A - B in pp."""
    s = SCENARIOS[scenario]
    b = rng.normal(0, SPREAD, (families, claims, 1, images))
    a = model_runs(rng, b, n, scenario, ACCURACY)
    bb = model_runs(rng, b, n, scenario, ACCURACY - shift_pp / 100)
    truth = np.full(claims, shift_pp)
    if s.get("collapse"):
        a[:, 0] = model_runs(rng, b[:, 0], n, scenario, ACCURACY, s["collapse"])
        truth[0] = -100 * s["collapse"] * (ACCURACY - 0.1)
    return a, bb, truth


def directions(truth):
    return ["worse" if t < 0 else "better" for t in truth]


def claim_tests(d: stats.Differences, dirs, margin=MARGIN):
    ps, outcomes = zip(*(stats.claim_ps(d.estimate[:, k], d.se[:, k], d.df[:, k], dirs[k], margin)
                         for k in range(len(dirs))))
    return np.stack(ps, axis=1), np.array(stats.OUTCOMES)[np.stack(outcomes, axis=1)]


def false_outcome(outcomes, truth, margin=MARGIN):
    """Verdicts that are false for their claim's truth: a side where there is none, the wrong side, or
    equivalence beyond the margin."""
    side = np.sign(truth)
    wrong_side = np.where(side == 0, np.isin(outcomes, [stats.SUPPORTED, stats.CONTRADICTED]),
                          outcomes == stats.CONTRADICTED)
    return wrong_side | ((outcomes == stats.EQUIVALENT) & (np.abs(truth) >= margin))


def any_false(decided, outcomes, truth):
    return (decided & false_outcome(outcomes, truth)).any(axis=1)


def holm_decided(p, alpha=stats.ALPHA):
    gc.freeze()
    return np.array([[t.outcome != stats.UNDECIDED for t in stats.holm([(q, "x") for q in row], alpha)] for row in p])


def one_look(a, b, truth, seed_df="hsu", min_seeds=stats.MIN_SEEDS):
    """Any false verdict per family, one look at all seeds (no verdict below `min_seeds`)."""
    d = stats.differences(a, b, seed_df)
    p, outcomes = claim_tests(d, directions(truth))
    decided = holm_decided(p) & (min(d.n_a, d.n_b) >= min_seeds)
    return any_false(decided, outcomes, truth), d


@pytest.mark.parametrize("n", [2, 3, 5, 10])
@pytest.mark.parametrize("scenario", FAMILY_SCENARIOS)
def test_the_family_wise_error_of_one_look_is_at_most_5_percent(scenario, n):
    rng = np.random.default_rng([n, len(scenario)])
    false, _ = one_look(*pairs(rng, n, scenario))
    assert false.mean() <= BOUND, f"{scenario}, {n} seeds: {100 * false.mean():.2f} % of families erred"


def test_welch_s_degrees_of_freedom_fail_the_bound_at_three_seeds():
    # the same families with the seed terms' degrees of freedom by Welch-Satterthwaite, as before: too many errors
    rng = np.random.default_rng([3, len("seeds dominate")])
    welch, _ = one_look(*pairs(rng, 3, "seeds dominate"), seed_df="welch")
    assert welch.mean() > BOUND, f"{100 * welch.mean():.2f} %"


@pytest.mark.parametrize("n", [2, 3, 5, 10])
@pytest.mark.parametrize("scenario", ["seeds dominate", "test set dominates", "heavy tails"])
def test_the_interval_covers_the_true_difference_93_to_99_percent_of_the_time(scenario, n):
    rng = np.random.default_rng([n, len(scenario), 3])
    a, b, truth = pairs(rng, n, scenario, families=FAMILIES // CLAIMS, shift_pp=0.5)
    d = stats.differences(a, b)
    half = np.where(np.isinf(d.df), scipy_stats.norm.ppf(0.975), scipy_stats.t.ppf(0.975, d.df)) * d.se
    covered = (np.abs(d.estimate - truth) <= half).mean()
    assert (np.median(d.se_seeds > d.se_images) > 0.5) == (scenario != "test set dominates")
    assert 0.93 <= covered <= 0.99, f"{scenario}, {n} seeds: {100 * covered:.1f} %"


@pytest.mark.parametrize("n", [3, 10])
@pytest.mark.parametrize("scenario", ["seeds dominate, narrow", "test set dominates, narrow"])
def test_equivalence_is_declared_falsely_at_most_5_percent_of_the_time_at_the_margin(scenario, n):
    # two one-sided tests at 5 % for one claim (its 90 % interval inside the margin), the truth on the margin, 16,000
    # claims in four batches. Where the test set dominates the test is exact: its rate is 5 % up to sampling noise,
    # and the bound allows three standard errors (5.5 %; a procedure at 6.5 % fails it)
    rng = np.random.default_rng([n, len(scenario), 4])
    false, se, margin, batches = 0, [], 4.0, 4
    for _ in range(batches):
        a, b, truth = pairs(rng, n, scenario, families=4000, claims=1, shift_pp=margin, images=1000)
        d = stats.differences(a[:, 0], b[:, 0])
        p = stats.outcome_ps(d.estimate, d.se, d.df, "better", margin)[stats.OUTCOMES.index(stats.EQUIVALENT)]
        false, se = false + (p < 0.05).sum(), se + [d.se.mean()]
    rate = false / (4000 * batches)
    assert max(se) < margin / 3  # the lower bound seldom binds: the rate is the upper test's
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / (4000 * batches)), f"{scenario}, {n}: {100 * rate:.2f} %"
    assert rate > (0.025 if scenario.startswith("seeds") and n == 3 else 0.03), f"{scenario}, {n}: {100 * rate:.2f} %"


def power_after_planning(rng, scenario, target_pp, first=3, looks=600, alpha=stats.ALPHA / CLAIMS, at_chance=0,
                         images=2000):
    """The real power of the seeds a first look names when the truth is what that look shows: each first look of
    `first` runs per model (A's first `at_chance` runs at chance) plans seeds, as the book does, for the difference
    it estimates (the spread pooled over eight more pairs like B); then a model whose truth is that estimate (A's
    runs at chance in the share the look saw) is tested once at the seeds named. Also the seeds named."""
    hits, named = [], []
    for _ in range(looks):
        b = rng.normal(0, SPREAD, (1, images))
        a_runs = model_runs(rng, b, first, scenario, ACCURACY + target_pp / 100)
        a_runs[:at_chance] = rng.random((at_chance, images)) < 0.1
        b_runs = model_runs(rng, b, first, scenario, ACCURACY)
        others = 100 * model_runs(rng, rng.normal(0, SPREAD, (16, 1, images)), first, scenario, ACCURACY).mean(-1)
        pool = stats.pooled([stats.Spread(var=float(np.var(x, ddof=1)), df=first - 1) for x in others])
        plan_a, plan_b = (stats.planned(100 * r.mean(-1), 15.0, pool) for r in (a_runs, b_runs))
        d = stats.difference(a_runs, b_runs)
        learned = 100 * (a_runs[at_chance:].mean() - b_runs.mean())
        n = stats.seeds_for("better", [d.estimate + plan_a.mean_shift - plan_b.mean_shift], d, 0.0, alpha,
                            sds=(plan_a.sd, plan_b.sd))
        if n is None or n > 400:
            continue
        b = rng.normal(0, SPREAD, (1, images))
        a_new = model_runs(rng, b, n, scenario, min(ACCURACY + learned / 100, 0.995), at_chance / first)
        p, outcome = stats.claim_p(stats.difference(a_new, model_runs(rng, b, n, scenario, ACCURACY)), "better", 0.0)
        right = stats.SUPPORTED if d.estimate > 0 else stats.CONTRADICTED
        hits.append(p < alpha and outcome == right)
        named.append(n)
    return float(np.mean(hits)), np.array(named)


@pytest.mark.parametrize("scenario", ["seeds dominate", "test set dominates", "heavy tails"])
def test_the_seeds_a_three_seed_look_names_give_at_least_70_percent_power(scenario):
    rng = np.random.default_rng([len(scenario), 5])
    power, named = power_after_planning(rng, scenario, 2.0)
    assert len(named) > 300 and power >= 0.7, f"{scenario}: {100 * power:.1f} % at {np.median(named)} seeds"


@pytest.mark.parametrize("at_chance", [1, 2])
def test_the_seeds_named_for_a_model_whose_runs_stay_at_chance_give_at_least_70_percent_power(at_chance):
    # Model 9 against Model 6: a first look of three runs with one or two at chance, and the truth that share
    rng = np.random.default_rng([at_chance, 6])
    power, named = power_after_planning(rng, "seeds dominate", -0.3, looks=300, at_chance=at_chance)
    assert len(named) > 200 and power >= 0.7, f"{at_chance} of 3: {100 * power:.1f} % at {np.median(named)} seeds"


@pytest.mark.slow
def test_error_control_report():
    # the long version (`nox -s bench -- --only error-control`): 9,000 families per one-look case, each rate for today's rule (Hsu's seed degrees of freedom, three seeds for a verdict) and the one before
    # (Welch-Satterthwaite, two seeds enough), printed with its standard error
    def pct(x, count):
        return f"{100 * x:5.2f} ± {100 * math.sqrt(max(x * (1 - x), 1e-4) / count):.2f}"

    print("\nscenario              seeds  one look: Welch, 2+ | Hsu, 3+        coverage: Welch | Hsu")
    failed = []
    for scenario in FAMILY_SCENARIOS:
        for n in (2, 3, 5, 10):
            rng = np.random.default_rng([n, len(scenario), 7])
            before, after, cover = [], [], {"welch": [], "hsu": []}
            for _ in range(3):
                a, b, truth = pairs(rng, n, scenario)
                before.append(one_look(a, b, truth, "welch", min_seeds=2)[0])
                false, d = one_look(a, b, truth)
                after.append(false)
                for rule in cover:
                    d = stats.differences(a, b, rule)
                    cover[rule].append(np.abs(d.estimate - truth) <= scipy_stats.t.ppf(0.975, d.df) * d.se)
            welch1, hsu1 = np.concatenate(before).mean(), np.concatenate(after).mean()
            covered = {rule: np.concatenate(c).mean() for rule, c in cover.items()}
            print(f"{scenario:22s} {n:3d}  {pct(welch1, 3 * FAMILIES)} | {pct(hsu1, 3 * FAMILIES)}   "
                  f"{100 * covered['welch']:.1f} | {100 * covered['hsu']:.1f}")
            failed += [(scenario, n, "one look")] if hsu1 > 0.05 + 1.5 * math.sqrt(0.05 * 0.95 / (3 * FAMILIES)) else []
    print("\nfalse 'equivalent' at the margin, one claim at 5 %: before (Welch, 95 % interval) | now (Hsu, TOST)")
    for scenario in ("seeds dominate, narrow", "test set dominates, narrow"):
        for n in (3, 5, 10):
            a, b, truth = pairs(np.random.default_rng([n, 8]), n, scenario, families=8000, claims=1, shift_pp=3.0,
                                images=2000)
            rates = []
            for rule, level in (("welch", 0.025), ("hsu", 0.05)):
                d = stats.differences(a[:, 0], b[:, 0], rule)
                p = stats.outcome_ps(d.estimate, d.se, d.df, "better", 3.0)[stats.OUTCOMES.index(stats.EQUIVALENT)]
                rates.append(pct((p < level).mean(), 8000))
            print(f"{scenario:28s} {n:3d}  {rates[0]} | {rates[1]}")
    assert not failed


def test_the_variance_is_the_two_anova_mean_squares_and_the_seeds_variances():
    # statsmodels' two-way ANOVA (seed + image, no replication) gives each model's residual mean square
    rng = np.random.default_rng(3)
    a, b, _ = runs(rng, 3, 4, 60, 0.8, 0.75, 0.3, 0.8)

    def residual_ms(table):
        frame = pd.DataFrame([(s, i, float(c)) for (s, i), c in np.ndenumerate(table)], columns=["seed", "image", "c"])
        return anova_lm(ols("c ~ C(seed) + C(image)", frame).fit()).loc["Residual", "mean_sq"]

    var = (np.var(a.mean(1), ddof=1) / 3 + np.var(b.mean(1), ddof=1) / 4
           + (np.var(a.mean(0) - b.mean(0), ddof=1) - residual_ms(a) / 3 - residual_ms(b) / 4) / 60)
    d = stats.difference(a, b)
    assert d.se == pytest.approx(100 * math.sqrt(var))
    assert d.se**2 == pytest.approx(d.se_seeds**2 + d.se_images**2)
    assert d.estimate == pytest.approx(100 * (a.mean() - b.mean()))


def test_with_one_seed_each_the_interval_is_the_test_set_s_paired_proportions_interval():
    # closed form from the discordant counts: only A right (k), only B right (m) of N images
    a = np.array([[1] * 50 + [1] * 30 + [0] * 10 + [0] * 10], dtype=bool)
    b = np.array([[1] * 50 + [0] * 30 + [1] * 10 + [0] * 10], dtype=bool)
    k, m, n = 30, 10, 100
    se = math.sqrt((k + m - (k - m) ** 2 / n) / (n - 1) / n)
    d = stats.difference(a, b)
    assert not d.seed_spread_known and math.isnan(d.se_seeds)
    assert d.estimate == pytest.approx(100 * (k - m) / n)
    assert d.low == pytest.approx(100 * ((k - m) / n - 1.959963984540054 * se))


def test_beats_counts_the_pairs_of_runs_a_wins_ties_half():
    a = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)  # accuracies .75, .25, .5
    b = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool)  # .5, .25
    pairs = [(x, y) for x in (.75, .25, .5) for y in (.5, .25)]
    expected = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x, y in pairs) / len(pairs)
    assert stats.difference(a, b).beats == pytest.approx(expected)


def constructed(estimate: float, se: float, df: float = 50.0) -> stats.Difference:
    """A difference with a given estimate and standard error (pp), for the decision rules alone."""
    half = scipy_stats.t.ppf(0.975, df) * se
    return stats.Difference(n_a=3, n_b=3, images=10_000, estimate=estimate, se=se, se_seeds=se, se_images=0.0,
                            df=df, low=estimate - half, high=estimate + half, beats=0.5, sd_a=se, sd_b=se,
                            image_var=0.0)


@pytest.mark.parametrize("direction, estimate, se, outcome", [
    ("better", 0.6, 0.1, stats.SUPPORTED), ("better", -0.6, 0.1, stats.CONTRADICTED),
    ("worse", -0.6, 0.1, stats.SUPPORTED), ("better", 0.02, 0.05, stats.EQUIVALENT),
    ("not worse", -0.05, 0.05, stats.SUPPORTED), ("not worse", -0.9, 0.1, stats.CONTRADICTED),
    ("not better", 0.05, 0.05, stats.SUPPORTED), ("not better", 0.9, 0.1, stats.CONTRADICTED),
])
def test_each_claim_is_decided_by_where_its_interval_lies(direction, estimate, se, outcome):
    d = constructed(estimate, se)
    p, decided = stats.claim_p(d, direction, 0.25)
    assert decided == outcome and p < 0.05
    # p is the level at which the interval reaches the boundary: the 1 - p interval touches it (1 - 2p for the two
    # one-sided tests of equivalence: at 5 %, the 90 % interval)
    boundary = {stats.SUPPORTED: 0.0, stats.CONTRADICTED: 0.0, stats.EQUIVALENT: 0.25}[decided] \
        if direction in ("better", "worse") else (-0.25 if direction == "not worse" else 0.25)
    reach = scipy_stats.t.ppf(1 - (p if decided == stats.EQUIVALENT else p / 2), d.df) * se
    assert min(abs(estimate - reach - boundary), abs(estimate + reach - boundary),
               abs(estimate - reach + boundary), abs(estimate + reach + boundary)) == pytest.approx(0, abs=1e-9)


def test_holm_decides_what_statsmodels_holm_rejects_and_nothing_else():
    claims = [(0.001, stats.SUPPORTED), (0.015, stats.CONTRADICTED), (0.03, stats.EQUIVALENT), (0.5, stats.SUPPORTED)]
    decided = stats.holm(claims)
    # by hand: 0.001 < 0.05/4; 0.015 < 0.05/3; 0.03 > 0.05/2 stops
    assert [t.outcome for t in decided] == [stats.SUPPORTED, stats.CONTRADICTED, stats.UNDECIDED, stats.UNDECIDED]
    assert decided[0].p_holm == pytest.approx(0.004)


def test_no_number_of_seeds_can_beat_the_test_set_s_own_noise():
    image_var = 100.0**2 * 0.04  # on 10,000 images: se 0.2 pp
    assert np.isnan(stats.seeds_needed(0.3, 0.2, 0.2, image_var, 10_000, alpha=0.05))
    assert stats.seeds_needed(2.0, 0.2, 0.2, image_var, 10_000, alpha=0.05) < 10


def test_seeds_needed_matches_statsmodels_power_at_the_seeds_it_names_and_not_one_fewer():
    from statsmodels.stats.power import TTestPower
    n = int(stats.seeds_needed(0.5, 0.3, 0.4, 0.0, 10_000, alpha=0.01))
    effect = 0.5 / math.sqrt(0.3**2 + 0.4**2)
    assert TTestPower().power(effect, nobs=n, alpha=0.01) >= stats.POWER > TTestPower().power(effect, nobs=n - 1,
                                                                                               alpha=0.01)


def test_mean_ci_on_fixed_data():
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302652729911275 / 1.7320508075688772
    ci = stats.mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert (ci.n, ci.mean, ci.sd) == (3, 2.0, 1.0)
    assert ci.low == pytest.approx(2 - half) and ci.high == pytest.approx(2 + half)


def test_mean_ci_of_one_value_has_no_interval():
    ci = stats.mean_ci([0.5])
    assert ci.mean == 0.5 and math.isnan(ci.low) and math.isnan(ci.sd)


def test_prediction_interval_for_one_more_run_on_fixed_data():
    # mean 2, sd 1, n 3: half-width t(0.975, 2) * sqrt(1 + 1/3), wider than the interval of the mean
    low, high = stats.prediction_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * math.sqrt(4 / 3)
    assert low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert all(math.isnan(v) for v in stats.prediction_interval([0.5]))


def test_reproduction_verdict_against_the_prediction_interval():
    ours = [0.985, 0.987, 0.986]  # mean 0.986, sd 0.001: interval 0.986 ± 0.00497
    assert stats.reproduction(0.9845, ours) == stats.REPRODUCED
    assert stats.reproduction(0.9912, ours) == stats.ABOVE
    assert stats.reproduction(0.9788, ours) == stats.BELOW
    assert stats.reproduction(None, ours) is None and stats.reproduction(0.98, [0.98]) is None


def test_an_interval_is_clipped_to_the_figure_s_range_and_says_so():
    # three seeds, one stuck at chance: the t-interval of the mean leaves [0, 1]
    ci = stats.mean_ci([0.10, 0.55, 0.60], bounds=stats.UNIT)
    assert ci.clipped and (ci.low, ci.high) == (0.0, 1.0)
    assert stats.interval(ci).endswith("(clipped to the possible range)")
    assert not stats.mean_ci([0.90, 0.91, 0.92], bounds=stats.UNIT).clipped
    assert stats.interval(stats.mean_ci([0.5])) == "—"


def test_planning_holds_where_statsmodels_noncentral_t_gives_nan():
    # a third of a point's spread between runs at chance and runs that learned: statsmodels' t power is NaN at 64
    # seeds and more for this effect, which once sent the seed search past 20 to 196
    n = np.arange(2, 400)
    power = stats._power(33.22, 32.45**2, 111.3, 10_000, 0.00208473967087553, n, one_sided=False)
    reached = power >= stats.POWER
    assert not np.isnan(power).any() and reached[np.argmax(reached):].all()
    assert stats.plan_seeds("worse", [-33.22, 2.51, 0.0], 32.45, 0.183, 111.3, 10_000, 0.25, 0.00208473967087553) == 20
