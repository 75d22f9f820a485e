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
# # Convolutional networks on MNIST and Fashion-MNIST: an executable study
#
# A student's report trained ten small Keras convolutional networks on MNIST, changing one thing at a
# time: kernel size, number of filters, a second convolution and its order, batch size, epochs,
# activation and learning rate. Its numbers could not be rerun. This book reruns every one of its
# models from a parameter file, with code you can read and execute, and sets the seed report's figures
# beside the reproduced ones.
#
# Every page is a notebook executed by papermill from one template; the figures and tables on it were
# computed when the book was built, on the data named at the top of the page.

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dirs = ["../book/mnist/models"]

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.report
import study.results
import study.spec

specs = study.spec.load_specs(params_dir)
results = [r for d in results_dirs for r in study.results.load_results(d, ids=specs).values()]

# %% tags=["remove-input"]
for dataset in {r.dataset.name: r.dataset for r in results}.values():
    display(Markdown(study.report.data_notice(dataset)))

# %% [markdown]
# ## The ten configurations
#
# One row per parameter file in `notebooks/params/`, read when this page was built. Every model is
# trained with Adam from a fresh initialisation; each convolution is followed by max pooling.

# %% tags=["remove-input"]
display(study.report.configurations(specs))

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
