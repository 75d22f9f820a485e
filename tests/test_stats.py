import math

import numpy as np
import pytest

from study import stats


def test_mcnemar_exact_against_a_hand_computed_case():
    # 1 image only A gets right, 9 only B: two-sided binomial, P = 2 * (C(10,0) + C(10,1)) / 2**10 = 22/1024
    a = np.array([1] * 5 + [1] + [0] * 9 + [0] * 3, dtype=bool)
    b = np.array([1] * 5 + [0] + [1] * 9 + [0] * 3, dtype=bool)
    result = stats.mcnemar_exact(a, b)
    assert (result.only_a, result.only_b) == (1, 9)
    assert result.p == pytest.approx(22 / 1024)


def test_mcnemar_without_discordant_pairs_is_one():
    same = np.array([True, False, True])
    assert stats.mcnemar_exact(same, same).p == 1.0


def test_mean_ci_on_fixed_data():
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302652729911275 / 1.7320508075688772
    ci = stats.mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert (ci.n, ci.mean, ci.sd) == (3, 2.0, 1.0)
    assert ci.low == pytest.approx(2 - half) and ci.high == pytest.approx(2 + half)


def test_mean_ci_of_one_value_has_no_interval():
    ci = stats.mean_ci([0.5])
    assert ci.mean == 0.5 and math.isnan(ci.low) and math.isnan(ci.sd)


def constructed(accuracy_a: list[float], accuracy_b: list[float], n: int = 2000) -> stats.Comparison:
    """Seeded predictions with exact accuracies for A and B (A's errors at the start, B's at the end)."""
    y = np.zeros(n, dtype=int)
    runs_a, runs_b = {}, {}
    for seed, (acc_a, acc_b) in enumerate(zip(accuracy_a, accuracy_b)):
        pred_a, pred_b = y.copy(), y.copy()
        pred_a[: round(n * (1 - acc_a))] = 1
        pred_b[n - round(n * (1 - acc_b)):] = 1
        runs_a[seed], runs_b[seed] = pred_a, pred_b
    return stats.paired_comparison(runs_a, runs_b, y)


def test_verdict_clear_win():
    c = constructed([0.95, 0.951, 0.949], [0.90, 0.901, 0.899])
    assert c.distinguishable and c.diff_pp.mean == pytest.approx(5.0)
    assert stats.verdict(+1, c) == stats.SUPPORTED
    assert stats.verdict(-1, c) == stats.CONTRADICTED


def test_verdict_clear_loss():
    c = constructed([0.80, 0.81, 0.79], [0.90, 0.90, 0.90])
    assert stats.verdict(-1, c) == stats.SUPPORTED
    assert stats.verdict(+1, c) == stats.CONTRADICTED


def test_verdict_tie_when_seeds_disagree():
    # A wins on two seeds and loses on one: the interval of the difference spans zero
    c = constructed([0.95, 0.95, 0.85], [0.90, 0.90, 0.90])
    assert not c.distinguishable
    assert stats.verdict(+1, c) == stats.TIE


def test_verdict_tie_when_the_test_set_cannot_tell():
    # half a percentage point on 2,000 images: McNemar cannot separate it although seeds agree
    c = constructed([0.905, 0.905, 0.905], [0.90, 0.90, 0.90])
    assert c.p_max > 0.05 and stats.verdict(+1, c) == stats.TIE


def test_comparison_needs_a_shared_seed():
    with pytest.raises(ValueError, match="no seed"):
        stats.paired_comparison({0: np.zeros(3)}, {1: np.zeros(3)}, np.zeros(3))


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
