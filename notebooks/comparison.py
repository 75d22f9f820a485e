# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (cnn-study)
#     language: python
#     name: cnn-study
# ---

# %% [markdown]
# # Conclusions: which differences are real
#
# Every figure on this page is computed from the result files the model pages wrote
# (`book/<dataset>/models/<id>.json` and one file per seed), next to the figures the seed report printed. Each model
# was trained several times from fresh initialisations with different seeds: a difference between two models
# that is smaller than the spread between seeds of one model is not evidence of anything.
#
# Each row of the figure is one conclusion the seed report drew about a model (A) against the model it differs
# from in one factor (B): our 95 % interval of A − B, coloured by its verdict, the side the seed report claimed
# (arrow), the seed report's own single-run difference (diamond) and the equivalence margin (shaded band).

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dir = "../book/mnist/models"

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.evidence
import study.loading
import study.plots
import study.report
import study.results
import study.spec

specs = study.spec.load_specs(params_dir)
loaded = study.loading.load(results_dir, ids=specs)
results = loaded.records
table = study.results.summary(results)
verdicts = study.evidence.claim_verdicts(specs, loaded)

# %% tags=["remove-input"]
for dataset in {r.dataset.name: r.dataset for r in results.values()}.values():
    display(Markdown(study.report.data_notice(dataset)))
missing = [s for s in specs if s not in results]
if missing:
    display(Markdown(f"```{{warning}}\nNo results for {', '.join(missing)}: they have not run yet or their run "
                     "failed (see their pages). Run `nox -s execute`.\n```"))
if verdicts:
    display(study.plots.claims_figure(verdicts, "The seed report's claims: our difference A − B and its 95 % interval"))

# %% [markdown]
# ## The seed report's claims and the evidence
#
# The verdicts first; how they are reached is in the box below the table.

# %% tags=["remove-input", "full-width"]
if loaded.design:
    display(Markdown(study.report.design_notice(loaded.design)))
    if loaded.design.rounds:
        display(study.report.rounds_table(loaded.design).style.hide(axis="index"))
display(study.report.claims_table(verdicts).style.hide(axis="index"))
if study.report.claims_footnote(verdicts):
    display(Markdown(study.report.claims_footnote(verdicts)))
if study.report.what_it_takes(verdicts):
    display(Markdown("````{admonition} What the undecided claims would take\n:class: dropdown\n"
                     + study.report.what_it_takes(verdicts) + "\n````"))

# %% [markdown]
# ````{admonition} How a claim is tested: what is estimated and how a claim is decided
# :class: dropdown
#
# **What is estimated.** For each claim, the expected test accuracy of A minus that of B over training seeds, in
# percentage points (pp): the mean of A's runs minus the mean of B's. Its 95 % interval counts both sources of noise.
# *Seeds*: a model trained again from another initialisation scores differently; each model's spread between seeds
# enters as s²/n, as in Welch's t-test (runs of A and B are not paired: seed *k* of A has nothing to do with seed *k*
# of B). *Test images*: all runs are scored on one test set of N images, so the difference also depends on which
# images happen to be in it: the variance between images of the per-image difference in how often A and B are right,
# divided by N, less the run-to-run noise the seed term already counts (a two-way random-effects analysis of
# variance). Student's t gives the interval, its degrees of freedom by Satterthwaite with the seed terms counted at
# the fewer seeds less one (Hsu's conservative answer to the Behrens-Fisher problem): Welch's own estimate of them is
# too hopeful in the far tail where Holm's correction decides, and let 5.8 % of 9,000 simulated families of nine
# claims with no true difference get a false verdict at three seeds, where 5 % is promised (3.6 % with Hsu's).
# Simulations with a known truth (the test suite) show the interval covering the true difference 94-98 % of the time
# at 2, 3, 5 and 10 seeds, whether the seeds' or the images' noise is the larger. A bootstrap over seeds would not:
# with three seeds, three differences of one sign make every resample that sign, so its interval is far too narrow
# exactly where this book's seed counts are.
#
# **How a claim is decided.** *Better*/*worse* claims are *supported* when the interval lies wholly on the claimed
# side of zero, *contradicted* when wholly on the other, and *equivalent* when two one-sided tests put it inside the
# equivalence margin (at 5 %, the 90 % interval inside the band in the figure: about twice the standard error the test
# set alone gives such a difference, the smallest difference this test set can resolve). Claims that a change does
# *not hurt* (or *not help*) are tested against the margin: supported when the interval lies above −margin (below
# +margin), contradicted when wholly beyond it. The p-value of a claim is the smallest level at which its interval
# decides it; Holm's correction over the claims of this dataset, a claim passing its level on only once its
# difference and its equivalence are both settled (Shaffer's constraint), keeps the chance of any false verdict among
# them at 5 %. Otherwise the claim is *undecided*, and the list below the table says what it would take: the seeds per model at
# which the seed report's own difference (and one the size of ours) would be detected with 80 % power at the corrected
# level, or that no number of seeds can, when the test set's own noise is larger than that difference. The seeds are
# planned for the spread the seeds may have, not the one three runs happened to show: the upper 80 % bound of the
# spread pooled over this dataset's models whose runs all learned; where runs stayed at chance, for the lowest share
# of such runs that an exact binomial bound allows, so that the named seeds keep their power if the first runs were
# lucky (the test suite checks at least 70 % real power). A model with fewer than three seeds gives *no verdict*: with
# one its spread between seeds is unknown (the interval shown is the test set's alone); with two the spread is too
# uncertain for a t-test to hold the family's 5 % (8-12 % of simulated families of nine claims erred, with Welch's
# degrees of freedom or Hsu's). Beside each claim: the probability that a run of A scores higher than a run of B, over
# every pair of runs, and how many runs of each stayed at chance: a figure that still reads where runs did not all
# learn.
# ````

# %% tags=["remove-input", "hide-output", "full-width"]
display(Markdown("**The tests behind the verdicts.**"))
display(study.report.tests_table(verdicts).style.hide(axis="index"))

# %% [markdown]
# ## Does this study reproduce the seed report's accuracies?
#
# The seed report trained each model once, on MNIST. Its test accuracy is *reproduced* when it lies inside
# the 95 % prediction interval for one more run of ours (Student-t, from our seeds' mean and standard
# deviation), and otherwise lies *above* or *below* our runs; the shift is our mean minus the seed's figure,
# with the prediction interval around it. Only results on the full MNIST are judged, and only where our runs can
# tell: where the prediction interval is at most ±1 pp wide (three seeds or more, none stuck at chance, usually).

# %% tags=["remove-input", "full-width"]
reproduced = study.evidence.reproductions(loaded)
display(Markdown(study.report.reproduction_count(reproduced)))
if any(r.verdict or r.why_not != reproduced[0].why_not for r in reproduced):
    display(study.report.reproduction_table(reproduced).rename_axis(None))

# %% [markdown]
# ## Every model's test error and accuracy with their intervals

# %% tags=["remove-input"]
if len(table):
    display(study.plots.forest(table))

# %% tags=["remove-input", "full-width"]
positive_class = next((r.positive_class for r in results.values()), "class 1")
display(study.report.summary_table(table.drop(columns=["title"]), positive_class))
for rid, record in results.items():
    stuck = study.report.at_chance_notice(rid, loaded.runs[rid], len(record.dataset.class_names))
    if stuck:
        display(Markdown(stuck))

# %% [markdown]
# ## Accuracy by the factor each model varies
#
# Each point is one model's test accuracy minus that of the model it is compared with, in percentage
# points: this study's difference with its 95 % interval (seeds and test images), and the seed report's
# single-run figure.

# %% tags=["remove-input"]
if len(table):
    display(study.plots.effect_by_factor(table, study.evidence.comparisons(loaded)))

# %% [markdown]
# ## Parameters and training time against test error

# %% tags=["remove-input"]
if len(table):
    display(study.plots.accuracy_against(table, "params", "trainable parameters (log scale)",
                                         "Test error against model size", log=True))

# %% tags=["remove-input"]
if len(table):
    display(study.plots.accuracy_against(table, "train_seconds", "training time per seed (s)",
                                         "Test error against training time"))

# %% [markdown]
# ## How these results were produced

# %% tags=["remove-input"]
first = next(iter(results.values()), None)
if first:
    seeds = sorted({s for r in results.values() for s in r.seeds})
    hardware = first.hardware
    display(Markdown(
        f"Seeds: {', '.join(map(str, seeds))}. Keras' `fit` on {hardware.backend} {hardware.backend_version}, "
        f"{first.steps_per_execution} steps per execution. Hardware: {hardware.processor}, {hardware.cpu_count} "
        f"cores, threads per op: {hardware.threads or 'all cores'}, trained on {', '.join(hardware.devices)}. "
        "The backend's ops are deterministic: a seed gives the same figures again with the same backend, devices "
        "and threads. Versions: " + ", ".join(f"{k} {v}" for k, v in first.versions.items()) + "."))
