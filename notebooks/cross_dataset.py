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
# # Does the study transfer across datasets?
#
# MNIST is nearly solved: every model in the seed report scores about 98-99 %. Fashion-MNIST has the same
# image size, the same number of classes and of images, and is much harder. The same ten parameter files ran
# on both; this page asks whether the models rank the same way and whether the seed report's claims hold on
# both, on one, or on neither.

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dirs = ["../book/mnist/models", "../book/fashion-mnist/models"]
not_compared = []

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.data
import study.evidence
import study.loading
import study.plots
import study.report
import study.spec

specs = study.spec.load_specs(params_dir)
loaded = {book.dataset: book for book in (study.loading.load(d, ids=specs) for d in results_dirs) if book}
results = {dataset: book.records for dataset, book in loaded.items()}
names = list(results)
labels = [study.data.LABELS[n] for n in names]

# %% tags=["remove-input"]
for r in results.values():
    for dataset in {x.dataset.name: x.dataset for x in r.values()}.values():
        display(Markdown(study.report.data_notice(dataset)))
if len(names) < 2:
    display(Markdown("```{warning}\nOnly one dataset has results so far: run `nox -s execute` on both.\n```"))
else:
    display(Markdown(f"Compared here: {' and '.join(labels)}."
                     + (f" Also in this book but not compared here: {', '.join(not_compared)}." if not_compared else "")))

# %% [markdown]
# ## Accuracy and rank on each dataset
#
# Mean test accuracy over seeds with its 95 % interval, and each model's rank among the ten (1 = best).

# %% tags=["remove-input", "full-width"]
if len(names) >= 2:
    table = study.evidence.across_datasets(results)
    display(study.report.across_table(table))

# %% tags=["remove-input"]
if len(names) >= 2:
    display(study.plots.accuracy_across(table, names[0], names[1]))
    r = study.evidence.rank_correlation(table, names[0], names[1])
    display(Markdown(
        f"Rank correlation of the {r.n} models between {labels[0]} and {labels[1]} (scipy): Spearman's "
        f"ρ = {r.spearman:.2f} (p = {r.spearman_p:.2g}), Kendall's τ = {r.kendall:.2f} (p = {r.kendall_p:.2g})."))

# %% [markdown]
# ## The seed report's claims on each dataset
#
# The verdicts of each dataset's conclusions page, side by side; a claim *holds* on a dataset where it is
# supported there.

# %% tags=["remove-input", "full-width"]
if len(names) >= 2:
    verdicts = {dataset: study.evidence.claim_verdicts(specs, book) for dataset, book in loaded.items()}
    display(study.report.claims_across(verdicts))
