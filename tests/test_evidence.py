"""The front page's findings, the reproduction verdicts and the seeds that stayed at chance."""

import numpy as np

from study import evidence, metrics, results, stats
from study.evidence import ClaimVerdict


def run(seed: int, accuracy: float) -> results.RunRecord:
    y = np.arange(100) % 10
    pred = y.copy()
    pred[: round(100 * (1 - accuracy))] = (pred[: round(100 * (1 - accuracy))] + 1) % 10
    return results.run_record("model_09", seed, {"accuracy": [accuracy]}, 1.0, [1.0],
                              metrics.evaluate(y, pred, tuple("0123456789")))


def test_a_seed_that_stayed_at_chance_is_flagged_with_why_the_interval_is_wide():
    runs = [run(0, 0.11), run(1, 0.95), run(2, 0.96)]
    assert [r.seed for r in evidence.at_chance(runs)] == [0]
    notice = evidence.at_chance_notice("model_09", runs)
    assert "seed 0 (0.1100) stayed at chance" in notice and "interval is wide" in notice
    assert evidence.at_chance_notice("model_09", runs[1:]) == ""


def verdict(claim: str, verdict: str, mean: float) -> ClaimVerdict:
    diff = stats.mean_ci([mean - 0.1, mean, mean + 0.1], bounds=(-100.0, 100.0))
    return ClaimVerdict(claim=claim, model="model_07", baseline="model_06", seed_diff_pp=0.26, accuracy_a=0.99,
                        accuracy_b=0.98, diff_pp=diff, p_max=0.01, verdict=verdict)


def test_the_findings_table_has_a_row_per_claim_and_a_linked_verdict_per_dataset():
    verdicts = {"mnist": [verdict("Bigger batches help.", stats.CONTRADICTED, -0.5)],
                "fashion-mnist": [verdict("Bigger batches help.", stats.TIE, 0.02)]}
    table = evidence.findings(verdicts, {"mnist": "mnist/comparison.ipynb",
                                         "fashion-mnist": "fashion-mnist/comparison.ipynb"})
    lines = table.splitlines()
    assert lines[0] == "| the seed report's claim | MNIST | Fashion-MNIST |" and len(lines) == 3
    assert lines[2] == ("| Bigger batches help. (M07 vs M06) | [contradicted](mnist/comparison.ipynb) -0.50 pp "
                        "[-0.75, -0.25] | [not distinguishable](fashion-mnist/comparison.ipynb) +0.02 pp "
                        "[-0.23, +0.27] |")


def test_the_reproduction_finding_counts_only_what_can_be_judged():
    pages = {"mnist": "mnist/comparison.ipynb"}
    judged = [evidence.reproduction("model_01", 0.9845, [0.985, 0.986, 0.987], "mnist"),
              evidence.reproduction("model_02", 0.9950, [0.985, 0.986, 0.987], "mnist")]
    assert evidence.reproduction_finding({"mnist": judged}, pages).startswith(
        "Our runs reproduce **1 of 2** of the seed report's test accuracies on MNIST")
    sample = [evidence.reproduction("model_01", 0.9845, [0.5, 0.6], "mnist-sample")]
    assert "holds no results" in evidence.reproduction_finding({"mnist-sample": sample}, pages)
