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
# # Small CNNs on MNIST, rerun
#
# A student's report trained ten small Keras CNNs on MNIST and drew a conclusion from each change. Every
# model rerun with several seeds, on MNIST and Fashion-MNIST, each conclusion tested:

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dirs = ["results/mnist/models"]
evidence_pages = {"mnist": "mnist/comparison.ipynb"}

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.evidence
import study.loading
import study.report
import study.spec

specs = study.spec.load_specs(params_dir)
loaded = {book.dataset: book for book in (study.loading.load(d, ids=specs) for d in results_dirs) if book}
verdicts = {dataset: study.evidence.claim_verdicts(specs, book) for dataset, book in loaded.items()}

# %% tags=["remove-input", "full-width"]
display(Markdown(study.report.findings(verdicts, evidence_pages)))
display(Markdown("\n\n".join(
    "Edition of " + study.report.edition(book.design, verdicts[dataset], dataset, study.loading.seconds_per_seed(book))
    for dataset, book in loaded.items())))
display(Markdown(study.report.reproduction_finding(
    {dataset: study.evidence.reproductions(book) for dataset, book in loaded.items()}, evidence_pages)))

# %% [markdown]
# Each cell gives our difference A − B in percentage points with its 95 % interval, which counts both the spread
# between training seeds and the finite test set, and the seeds of A and B it rests on. A claim is *supported* or
# *contradicted* when the interval lies on one side of zero, *equivalent* when two one-sided tests put it inside a
# margin the test set can resolve, with Holm's correction over each dataset's claims (5 % for any false verdict
# among them); otherwise it is *undecided*, and the cell says how many seeds per model would decide it for the seed
# report's own difference and for ours. In a sequential edition (`--budget`), each claim is tested at every look its
# models reached, its level spent over the looks, and a claim that no look can decide says so: *not decidable within
# 30 seeds per model* (the design's last look), or *not decidable on this test set* where the test set's own noise hides it. The line below
# the table says which edition each dataset is. Fewer than three seeds give no verdict: the spread between seeds is then
# unknown or too uncertain, and the linked page shows the interval alone. Each cell links to the page that holds its
# evidence and its method.
#
# The seed report's numbers could not be rerun. Here every page is a notebook executed by papermill from
# one template and a parameter file; its figures and tables were computed when the book was built, on the
# data named at its top.

# %% tags=["remove-input"]
for dataset in {r.dataset.name: r.dataset for book in loaded.values() for r in book.records.values()}.values():
    display(Markdown(study.report.data_notice(dataset)))

# %% [markdown]
# ## The ten configurations
#
# One row per parameter file in `notebooks/params/`, read when this page was built. Every model is
# trained with Adam from a fresh initialisation; each convolution is followed by max pooling.

# %% tags=["remove-input"]
display(study.report.configurations(specs))

# %% [markdown]
# ## What the seed report's own numbers show
#
# **Its precision, recall and F1 are those of digit 1 alone.** The MNIST test set holds 1,135 images of
# digit 1. For every model, the seed's recall times 1,135 is a whole number: the recall of one class, not
# an average over ten.

# %% tags=["remove-input"]
display(study.report.digit_one_audit(specs))

# %% [markdown]
# **Its conclusion table disagrees with its own sections.** The accuracies in the final table differ from
# the ones printed in the sections for most models, and the ranking drawn from it does not hold for the
# section figures.

# %% tags=["remove-input"]
display(study.report.conclusion_table_audit(specs))

# %% [markdown]
# **Models 7 and 10 did not start from scratch.** Their first epoch begins at a training accuracy that
# other models only reach after ten epochs: they kept training Model 6's weights, so their figures measure
# extra epochs, not batch size or learning rate. This study trains every model from a fresh initialisation.

# %% tags=["remove-input"]
display(study.report.warm_start_audit(specs))

# %% [markdown]
# ## How to read this book
#
# - Each **model page** asks one question, shows the network's layers, its training log and learning
#   curves, the test metrics with a confusion matrix, examples it got wrong, and the seed report's
#   figures beside the reproduced ones.
# - The study runs on two datasets, MNIST and Fashion-MNIST (same size and shape, much harder), each a part
#   of this book with its own model pages and a **conclusions** page that tests the seed report's claims.
# - The **across datasets** page asks whether the ranking of the models and the claims transfer.
# - The seed printed precision, recall and F1 for digit 1 alone (its recall times the 1,135 test images
#   of digit 1 is a whole number every time); the pages show that figure and the macro average over all
#   ten digits.
# - Add an experiment by adding one parameter file to `notebooks/params/` and running `nox -s execute`.
