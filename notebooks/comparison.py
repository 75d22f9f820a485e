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

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dir = "../book/mnist/models"

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.evidence
import study.plots
import study.report
import study.results
import study.spec

specs = study.spec.load_specs(params_dir)
results = study.results.load_results(results_dir, ids=specs)
table = study.results.summary(results)
compared = study.evidence.comparisons(results, results_dir)

# %% tags=["remove-input"]
for dataset in {r.dataset.name: r.dataset for r in results.values()}.values():
    display(Markdown(study.report.data_notice(dataset)))
missing = [s for s in specs if s not in results]
if missing:
    display(Markdown(f"```{{warning}}\nNo results for {', '.join(missing)}: they have not run yet or their run "
                     "failed (see their pages). Run `nox -s execute`.\n```"))

# %% [markdown]
# ## Does this study reproduce the seed report's accuracies?
#
# The seed report trained each model once, on MNIST. Its test accuracy is *reproduced* when it lies inside
# the 95 % prediction interval for one more run of ours (Student-t, from our seeds' mean and standard
# deviation), and otherwise lies *above* or *below* our runs. Only results on the full MNIST are judged.

# %% tags=["remove-input"]
reproduced = study.evidence.reproductions(results, results_dir)
display(Markdown(study.evidence.reproduction_count(reproduced)))
display(study.evidence.reproduction_table(reproduced))

# %% [markdown]
# ## The seed report's claims and the evidence
#
# Each row is a conclusion the seed report drew, in its words, about a model (A) against the model it
# differs from in one factor (B). The seed's figures are single runs. Ours are means over seeds; the
# interval is a 95 % Student-t interval of the seed-paired accuracy difference (seed *k* of A against seed
# *k* of B). McNemar's exact test compares the two models image by image on the same test set, once per
# seed pair; the table shows the largest p-value, because a claim should hold whichever seed one happens
# to pick, rather than for seeds pooled as if they were independent test images.
#
# **Verdict**: *supported* or *contradicted* when every seed pair's McNemar test is significant at 5 % and
# the interval excludes zero, by the sign of our difference against the claimed direction; otherwise *not
# distinguishable at the 5 % level*. With one seed (smoke runs) only the McNemar test applies.

# %% tags=["remove-input", "full-width"]
display(study.evidence.claims_table(study.evidence.claim_verdicts(specs, results, compared)).style.hide(axis="index"))

# %% [markdown]
# ## Every model's accuracy with its interval

# %% tags=["remove-input"]
if len(table):
    display(study.plots.forest(table))

# %% tags=["remove-input", "full-width"]
positive_class = next((r.positive_class for r in results.values()), "class 1")
display(study.report.summary_table(table.drop(columns=["title"]), positive_class))
for rid, record in results.items():
    stuck = study.evidence.at_chance_notice(rid, study.results.read_runs(results_dir, record),
                                            len(record.dataset.class_names))
    if stuck:
        display(Markdown(stuck))

# %% [markdown]
# ## Accuracy by the factor each model varies
#
# Each point is one model's test accuracy minus that of the model it is compared with, in percentage
# points: this study's mean over seed pairs with its 95 % interval, and the seed report's single-run figure.

# %% tags=["remove-input"]
if len(table):
    display(study.plots.effect_by_factor(table, compared))

# %% [markdown]
# ## Parameters and training time against accuracy

# %% tags=["remove-input"]
if len(table):
    display(study.plots.accuracy_against(table, "params", "trainable parameters (log scale)",
                                         "Test accuracy against model size", log=True))

# %% tags=["remove-input"]
if len(table):
    display(study.plots.accuracy_against(table, "train_seconds", "training time per seed (s)",
                                         "Test accuracy against training time"))

# %% [markdown]
# ## What the seed report's own numbers show
#
# **Its precision, recall and F1 are those of digit 1 alone.** The MNIST test set holds 1,135 images of
# digit 1. For every model, the seed's recall times 1,135 is a whole number: the recall of one class, not
# an average over ten.

# %% tags=["remove-input"]
display(study.evidence.digit_one_audit(specs))

# %% [markdown]
# **Its conclusion table disagrees with its own sections.** The accuracies in the final table differ from
# the ones printed in the sections for most models, and the ranking drawn from it does not hold for the
# section figures.

# %% tags=["remove-input"]
display(study.evidence.conclusion_table_audit(specs))

# %% [markdown]
# **Models 7 and 10 did not start from scratch.** Their first epoch begins at a training accuracy that
# other models only reach after ten epochs: they kept training Model 6's weights, so their figures measure
# extra epochs, not batch size or learning rate. This study trains every model from a fresh initialisation.

# %% tags=["remove-input"]
display(study.evidence.warm_start_audit(specs))

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
