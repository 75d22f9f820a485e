"""The benchmark's measurements and arithmetic (its figures are reported, never asserted)."""

import json
import subprocess
import sys

import pytest

from conftest import REPO
from pipeline import bench


def test_a_measurement_runs_in_a_fresh_process_and_reports_images_per_second():
    out = subprocess.run([sys.executable, "-m", "pipeline.bench", "--measure", "model_06", "mnist-sample", "2", "600",
                          "64", "float32", "1"], cwd=REPO, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["images_per_s"] > 0 and 0 <= result["accuracy"] <= 1


def test_ratios_are_of_medians_with_the_range_of_paired_repeats():
    assert bench._ratios([10, 20, 30], [20, 40, 90]) == "2.00x (2.00–3.00)"
    assert bench._ratios([100, 120, 110], [50, 60, 55], higher_is_better=False) == "2.00x (2.00–2.00)"
    assert bench._spread([3.0, 1.0, 2.0], 1) == "2.0 (1.0–3.0)"


def test_a_single_repeat_is_refused():
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "1"])


def test_the_busy_share_is_read_from_what_the_pipeline_printed():
    printed = "executed 10 model(s)\n30 run(s) trained, 0 found stored; the 2 worker(s) were busy 1.94 of 2 on " \
              "average (97% of 905 s)\n"
    assert bench.busy(printed) == 0.97 and bench.busy("executed 0 model(s)") is None


@pytest.mark.parametrize("how", bench.ROUTES)
def test_each_route_trains_every_seed_in_a_fresh_process(how):
    out = subprocess.run([sys.executable, "-m", "pipeline.bench", "--route", "model_06", "mnist-sample", how, "2", "1"],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["seconds"] > 0 and len(result["accuracy"]) == 2
    assert all(accuracy > 0.5 for accuracy in result["accuracy"])


def test_a_design_is_judged_against_fixed_seeds_at_its_own_runs_paired_over_replicates():
    from study.designs import Outcome, verdict_lines

    def outs(decided: list[int], runs: list[int]) -> list[Outcome]:
        return [Outcome(decided=d, right=d, false=0, runs=r, seconds=0.0) for d, r in zip(decided, runs)]

    # fixed seeds: 2 and 6 claims at 100 and 200 runs in replicate 0, 2 and 4 in replicate 1
    # (fixed 20 the best per run: 5 in 200)
    results = {"fixed 10": outs([2, 2], [100, 100]), "fixed 20": outs([6, 4], [200, 200]),
               "sequential": outs([6, 4], [140, 160]), "sequential, small": outs([1, 1], [90, 110])}
    good, bad = verdict_lines(results)
    # 150 runs on average: fixed seeds there decide 4 (replicate 0) and 3 (replicate 1), so +2 and +1: 1.5 ± 0.5
    assert good == ("- sequential: 3.33 decisions per 100 runs against the best fixed design's 2.50 (fixed 20): yes; "
                    "5.00 claims in 150 runs, +1.50 ± 0.50 (se) against fixed seeds at 150 runs: yes")
    # 100 runs: fixed seeds decide 2 in both, so -1 ± 0: fewer, and fewer per run
    assert bad.endswith("1.00 decisions per 100 runs against the best fixed design's 2.50 (fixed 20): no; 1.00 claims "
                        "in 100 runs, -1.00 ± 0.00 (se) against fixed seeds at 100 runs: no")
