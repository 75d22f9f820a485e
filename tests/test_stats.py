"""The statistics against independent computations (closed forms, statsmodels' ANOVA, brute force) and, by
simulation where the truth is known, their coverage, error rates and power."""

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


# seed spread larger than the test set's noise, and smaller (B disagreeing with A on many images)
NOISE = {"seeds dominate": (0.3, 0.5), "test set dominates": (0.02, 2.5)}


@pytest.mark.parametrize("noise", NOISE)
@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time(n, noise):
    rng = np.random.default_rng(n)
    seed_sd, own = NOISE[noise]
    covered, seeds_share = 0, []
    for _ in range(300):
        a, b, truth = runs(rng, n, n, 2000, 0.985, 0.983, seed_sd, own)
        d = stats.difference(a, b)
        covered += d.low <= truth <= d.high
        seeds_share.append(d.se_seeds > d.se_images)
    assert (np.mean(seeds_share) > 0.5) == (noise == "seeds dominate")
    assert 0.90 <= covered / 300 <= 0.99


def test_the_share_of_correct_decisions_does_not_fall_as_seeds_are_added():
    rng = np.random.default_rng(7)
    share = {}
    for n in (2, 3, 5, 10):
        correct = 0
        for _ in range(200):
            a, b, truth = runs(rng, n, n, 2000, 0.987, 0.982, 0.3, 0.5)
            p, outcome = stats.claim_p(stats.difference(a, b), "better", 0.25)
            correct += p < stats.ALPHA and outcome == stats.SUPPORTED
        share[n] = correct / 200
    assert truth > 0.25
    assert all(share[m] >= share[n] - 0.05 for n, m in [(2, 3), (3, 5), (5, 10)]), share
    assert share[10] > share[2] + 0.2, share


def test_the_family_wise_error_of_nine_claims_at_no_true_difference_is_at_most_5_percent():
    rng = np.random.default_rng(11)
    families, false = 300, 0
    for _ in range(families):
        claims = []
        for _ in range(9):
            a, b, truth = runs(rng, 3, 3, 300, 0.985, 0.985, 0.3, 0.5)
            claims.append(stats.claim_p(stats.difference(a, b), "better", 0.25))
        decided = stats.holm(claims)
        false += any(t.outcome in (stats.SUPPORTED, stats.CONTRADICTED) for t in decided)
    assert abs(truth) < 1e-9
    assert false / families <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / families)


def test_adding_seeds_where_claims_are_undecided_keeps_the_family_wise_error_at_5_percent():
    # the whole adaptive procedure at no true difference: nine claims, a first look at three seeds (Holm at 2.5 %),
    # then, for the undecided ones, the seeds 80 % power asks for to detect the seed report's difference (here 4 pp,
    # on 300 images) or the first look's, whichever is larger, up to ten, and a second look on all seeds (Holm at
    # 2.5 %): the sizing sees the first look's estimate and spread, and still no more than 5 % of families err
    rng = np.random.default_rng(13)
    families, false, added = 300, 0, 0
    for _ in range(families):
        pairs = [runs(rng, 10, 10, 300, 0.95, 0.95, 0.3, 0.0)[:2] for _ in range(9)]
        first = [stats.difference(a[:3], b[:3]) for a, b in pairs]
        looked = stats.holm([stats.claim_p(d, "better", 0.25) for d in first], stats.ALPHA / 2)
        still = [i for i, t in enumerate(looked) if t.outcome == stats.UNDECIDED]
        second = {}
        for i in still:
            n = stats.seeds_for("better", [4.0, first[i].estimate], first[i], 0.25, stats.ALPHA / 2 / len(still))
            if n is not None and 3 < n <= 10:
                added += 1
                second[i] = stats.claim_p(stats.difference(pairs[i][0][:n], pairs[i][1][:n]), "better", 0.25)
        decided = stats.two_looks([stats.claim_p(d, "better", 0.25) for d in first], second)
        false += any(t.outcome in (stats.SUPPORTED, stats.CONTRADICTED) for t in decided)
    assert added > 2 * families  # seeds were added to more than two claims a family on average
    assert false / families <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / families)


def test_two_looks_spend_half_the_level_at_each_and_decide_the_second_only_where_the_first_did_not():
    first = [(0.001, stats.SUPPORTED), (0.03, stats.SUPPORTED), (0.2, stats.CONTRADICTED)]
    # Holm at 2.5 %: 0.001 < 0.025/3; 0.03 > 0.025/2 stops. Second look, Holm at 2.5 % over the two undecided:
    # 0.01 < 0.025/2, then 0.03 > 0.025/1 (claim 0, decided at the first look, is not looked at again)
    decided = stats.two_looks(first, {0: (0.9, stats.UNDECIDED), 1: (0.01, stats.SUPPORTED), 2: (0.03, stats.SUPPORTED)})
    assert [(t.outcome, t.look) for t in decided] == [(stats.SUPPORTED, 1), (stats.SUPPORTED, 2),
                                                      (stats.UNDECIDED, 2)]
    assert stats.two_looks(first, {})[1].outcome == stats.UNDECIDED


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
def test_each_claim_is_decided_by_where_its_95_percent_interval_lies(direction, estimate, se, outcome):
    d = constructed(estimate, se)
    p, decided = stats.claim_p(d, direction, 0.25)
    assert decided == outcome and p < 0.05
    # p is the level at which the interval reaches the boundary: the 1 - p interval touches it
    boundary = {stats.SUPPORTED: 0.0, stats.CONTRADICTED: 0.0, stats.EQUIVALENT: 0.25}[decided] \
        if direction in ("better", "worse") else (-0.25 if direction == "not worse" else 0.25)
    reach = scipy_stats.t.ppf(1 - p / 2, d.df) * se
    assert min(abs(estimate - reach - boundary), abs(estimate + reach - boundary),
               abs(estimate - reach + boundary), abs(estimate + reach + boundary)) == pytest.approx(0, abs=1e-9)


def test_holm_decides_what_statsmodels_holm_rejects_and_nothing_else():
    claims = [(0.001, stats.SUPPORTED), (0.015, stats.CONTRADICTED), (0.03, stats.EQUIVALENT), (0.5, stats.SUPPORTED)]
    decided = stats.holm(claims)
    # by hand: 0.001 < 0.05/4; 0.015 < 0.05/3; 0.03 > 0.05/2 stops
    assert [t.outcome for t in decided] == [stats.SUPPORTED, stats.CONTRADICTED, stats.UNDECIDED, stats.UNDECIDED]
    assert decided[0].p_holm == pytest.approx(0.004)


def test_seeds_needed_gives_80_percent_power_in_simulation():
    # a pilot of 30 seeds, so that the seed spread it measures is close to the true one
    rng = np.random.default_rng(5)
    a, b, truth = runs(rng, 30, 30, 2000, 0.986, 0.983, 0.3, 0.5)
    pilot = stats.difference(a, b)
    n = stats.seeds_needed(truth, pilot, alpha=0.05)
    assert n is not None and 3 < n < 200
    hits = 0
    for _ in range(200):
        a, b, _ = runs(rng, n, n, 2000, 0.986, 0.983, 0.3, 0.5)
        hits += stats.claim_p(stats.difference(a, b), "better", 0.0)[0] < 0.05
    assert 0.65 <= hits / 200 <= 0.95


def test_no_number_of_seeds_can_beat_the_test_set_s_own_noise():
    d = constructed(0.05, 0.2).model_copy(update={"image_var": 100.0 ** 2 * 0.04, "images": 10_000})  # se 0.2 pp
    assert stats.seeds_needed(0.3, d, alpha=0.05) is None
    assert stats.seeds_needed(2.0, d, alpha=0.05) is not None


def test_runs_shaped_like_model_9_against_model_6_are_undecided_at_three_seeds_and_decided_with_the_seeds_named():
    # Model 9 on MNIST: one of three runs learned (0.9810), two stayed at chance (0.1135); Model 6: 0.9835-0.9898
    rng = np.random.default_rng(9)
    images = 10_000
    labels = rng.integers(0, 10, images)

    def table(accuracies):
        return np.array([rng.permutation(images) < round(acc * images) for acc in accuracies])

    def model_9(n):
        return table([0.981 if rng.random() < 1 / 3 else 0.1135 for _ in range(n)])

    assert len(labels) == images
    a, b = table([0.9810, 0.1135, 0.1135]), table([0.9835, 0.9870, 0.9898])
    d = stats.difference(a, b)
    assert d.estimate == pytest.approx(100 * ((0.9810 + 2 * 0.1135) - (0.9835 + 0.9870 + 0.9898)) / 3)
    assert d.beats == 0.0
    family = 9
    test = stats.holm([stats.claim_p(d, "worse", 0.25)] + [(1.0, stats.SUPPORTED)] * (family - 1))[0]
    assert test.outcome == stats.UNDECIDED
    n = stats.seeds_needed(d.estimate, d, alpha=stats.ALPHA / family)
    assert n is not None and 3 < n <= 40
    decided = 0
    for _ in range(100):
        d = stats.difference(model_9(n), table(rng.uniform(0.9835, 0.9898, n)))
        p, outcome = stats.claim_p(d, "worse", 0.25)
        decided += p < stats.ALPHA / family and outcome == stats.SUPPORTED
    assert decided / 100 >= 0.7


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
