"""The front page's findings, the reproduction verdicts and the seeds that stayed at chance."""

import math

import numpy as np

import pytest

from study import evidence, metrics, report, results, sequential, stats
from study.evidence import ClaimVerdict


def run(seed: int, accuracy: float) -> results.RunRecord:
    y = np.arange(1000) % 10
    pred = y.copy()
    pred[: round(1000 * (1 - accuracy))] = (pred[: round(1000 * (1 - accuracy))] + 1) % 10
    return results.run_record("model_09", seed, {"accuracy": [accuracy]}, 1.0, [1.0],
                              metrics.evaluate(y, pred, tuple("0123456789")))


def test_a_seed_that_stayed_at_chance_is_flagged_with_why_the_interval_is_wide():
    runs = [run(0, 0.11), run(1, 0.95), run(2, 0.96)]
    assert [r.seed for r in evidence.at_chance(runs)] == [0]
    notice = report.at_chance_notice("model_09", runs)
    assert "seed 0 (0.1100) stayed at chance" in notice and "interval is wide" in notice
    assert report.at_chance_notice("model_09", runs[1:]) == ""


def verdict(claim: str, verdict: str, estimate: float, n: int = 3, needs: int | None = None) -> ClaimVerdict:
    half = 0.25
    diff = stats.Difference(n_a=n, n_b=n, images=10_000, estimate=estimate, se=0.1, se_seeds=0.08 if n > 1 else math.nan,
                            se_images=0.06, df=4.0, low=estimate - half, high=estimate + half, beats=0.5, sd_a=0.1,
                            sd_b=0.1, image_var=36.0)
    test = None if n < stats.MIN_SEEDS else stats.ClaimTest(p=0.01, outcome_if_decided=verdict, p_holm=0.09, outcome=verdict)
    return ClaimVerdict(claim=claim, untested="", direction="better", model="model_07", baseline="model_06",
                        seed_diff_pp=0.26, accuracy_a=0.99, accuracy_b=0.98, diff=diff, margin_pp=0.25, at_chance_a=0,
                        at_chance_b=0, planned_a=stats.Planned(sd=0.1, at_chance=0, runs=n),
                        planned_b=stats.Planned(sd=0.1, at_chance=0, runs=n), test=test, family=9,
                        needs_for_seed=needs, needs_for_ours=None, level=stats.ALPHA, plan_family=9, verdict=verdict)


def test_the_findings_table_has_a_row_per_claim_and_a_linked_verdict_per_dataset():
    verdicts = {"mnist": [verdict("Bigger batches help.", stats.CONTRADICTED, -0.5)],
                "fashion-mnist": [verdict("Bigger batches help.", stats.UNDECIDED, 0.02, needs=12)]}
    table = report.findings(verdicts, {"mnist": "mnist/comparison.ipynb",
                                         "fashion-mnist": "fashion-mnist/comparison.ipynb"})
    lines = table.splitlines()
    assert lines[0] == "| the seed report's claim | MNIST | Fashion-MNIST |" and len(lines) == 3
    assert lines[2] == ("| Bigger batches help. (M07 vs M06) | [contradicted](mnist/comparison.ipynb) -0.50 pp "
                        "[-0.75, -0.25]; 3+3 seeds | [undecided](fashion-mnist/comparison.ipynb) +0.02 pp "
                        "[-0.23, +0.27]; 3+3 seeds; seeds needed: 12 for the seed's difference, none can for ours |")


def test_a_single_seed_gives_no_verdict_and_the_page_the_test_set_interval():
    one = verdict("Bigger batches help.", stats.NO_VERDICT, 0.4, n=1)
    cell = report.findings({"mnist": [one]}, {"mnist": "m.ipynb"}).splitlines()[2]
    assert cell.endswith("| [no verdict: 1 seed](m.ipynb) +0.40 pp |")
    row = report.claims_table([one]).iloc[0]
    assert row["ours: A − B, 95 % CI"] == "+0.40 pp [+0.15, +0.65]*" and row["verdict"] == "no verdict"
    assert report.claims_footnote([one]).startswith("\\* one seed: the interval is the test set's alone")
    test = report.tests_table([one]).iloc[0]
    assert test["95 % CI"] == "[+0.15, +0.65] (test set only)" and test["verdict"] == stats.NO_VERDICT
    assert test["se: seeds, images"] == "—, 0.06 pp"


def test_the_reproduction_finding_counts_only_what_can_be_judged():
    pages = {"mnist": "mnist/comparison.ipynb"}
    ours = [run(0, 0.985), run(1, 0.986), run(2, 0.987)]
    judged = [evidence.reproduction("model_01", 0.9845, ours, "mnist"),
              evidence.reproduction("model_02", 0.9950, ours, "mnist"),
              evidence.reproduction("model_09", 0.9788, [run(0, 0.98), run(1, 0.11), run(2, 0.11)], "mnist")]
    assert judged[1].shift_pp == pytest.approx(-0.9) and judged[1].verdict == stats.ABOVE
    assert judged[1].shift_low < judged[1].shift_pp < judged[1].shift_high < 0
    assert judged[2].verdict is None and "2 of 3 stayed at chance" in judged[2].why_not
    finding = report.reproduction_finding({"mnist": judged}, pages)
    assert finding.startswith("Our runs reproduce **1 of 2** of the seed report's test accuracies on MNIST that")
    assert finding.endswith("Not judged, our runs being too few or too spread: model_09.")
    sample = [evidence.reproduction("model_01", 0.9845, ours, "mnist-sample")]
    assert "holds no results" in report.reproduction_finding({"mnist-sample": sample}, pages)


def test_a_design_says_which_claims_no_look_can_decide_and_why_and_where_the_others_go_next():
    design = sequential.Design(looks=(3, 5, 8, 12, 20, 30, 50))
    level = stats.ALPHA / 9
    planned = stats.Planned(sd=0.03, at_chance=0, runs=3)
    open_ = verdict("A higher rate helps.", stats.UNDECIDED, 0.2).model_copy(update={
        "planned_a": planned, "planned_b": planned, "level": level})
    # under the test set's own noise (se 0.6 pp): nothing our seeds leave plausible can be told apart from zero
    hidden = open_.model_copy(update={"diff": open_.diff.model_copy(update={"image_var": 3600.0, "se_images": 0.6})})
    # a tenth of a point with seeds 1 pp apart: at the last look's level, even the favourable end needs > 50 seeds
    wide = stats.Planned(sd=1.0, at_chance=0, runs=3)
    far = open_.model_copy(update={"planned_a": wide, "planned_b": wide,
                                   "diff": open_.diff.model_copy(update={"estimate": 0.1, "se": 0.02, "image_var": 1.0})})
    next_, not_here, not_within = (evidence._futility(v, design) for v in (open_, hidden, far))
    assert not_here.verdict == evidence.NOT_ON_TEST_SET and "se 0.60 pp" in not_here.why_not
    assert not_within.verdict == "not decidable within 50 seeds per model" and "needs" in not_within.why_not
    assert (next_.why_not, next_.next_seeds, next_.next_level) == ("", 5, design.nominal(level)[1])
    power = stats.claim_power("better", 0.2, 0.03, 0.03, 36.0, 10_000, 0.25, design.nominal(level)[1], 5)
    assert next_.next_power == power and 0 < power < 1
    at_last = open_.model_copy(update={"diff": open_.diff.model_copy(update={"n_a": 50, "n_b": 50})})
    assert evidence._futility(at_last, design).why_not == "undecided at the last look (50 seeds per model)"


def test_two_seeds_give_no_verdict_but_their_interval():
    two = verdict("Bigger batches help.", stats.NO_VERDICT, 0.4, n=2)
    cell = report.findings({"mnist": [two]}, {"mnist": "m.ipynb"}).splitlines()[2]
    assert cell.endswith("| [no verdict: 2 seeds](m.ipynb) +0.40 pp [+0.15, +0.65] |")


def test_a_model_with_runs_at_chance_is_planned_from_the_bounds_on_that_share_and_says_the_plan_is_not_firm():
    stuck = stats.planned([98.1, 11.35, 11.35], chance_pp=15.0, pool=stats.Spread(var=0.02, df=20))
    v = verdict("Sigmoid hurts.", stats.UNDECIDED, -58.0).model_copy(update={
        "direction": "worse", "model": "model_09", "planned_a": stuck, "at_chance_a": 2})
    text = report._what_it_takes(v)
    assert "model_09: 2 of 3 runs stayed at chance" in text and "between 29% and 93%" in text
    assert "planned at 29%" in text and "at 10 seeds, with the same share" in text


def test_the_claims_table_keeps_the_seeds_needed_short_and_the_explanations_go_below_it():
    open_ = verdict("Bigger batches help.", stats.UNDECIDED, 0.02, needs=12)
    decided = verdict("Smaller kernels help.", stats.SUPPORTED, 0.6)
    table = report.claims_table([open_, decided])
    assert list(table["seeds needed: seed's, ours"]) == ["12, none can", "—"]
    (item,) = report.what_it_takes([open_, decided]).splitlines()
    assert item.startswith("- **model_07 vs model_06** (Bigger batches help.): 12 seeds per model to detect the seed "
                           "report's difference (+0.26 pp)")


def test_the_digit_one_audit_prints_whole_numbers_whole():
    from study.spec import load_specs
    audit = report.digit_one_audit(load_specs())
    assert audit["whole number"].eq("yes").all()
    assert all(cell.isdigit() for cell in audit["recall × 1135"])
