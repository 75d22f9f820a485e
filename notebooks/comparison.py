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
# # Comparison of all models
#
# Every figure on this page is computed from the result files (`book/models/<id>.json`) that the model
# pages wrote, next to the figures the seed report printed.

# %% tags=["parameters", "remove-cell"]
params_dir = "params"
results_dir = "../book/models"

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

import study.plots
import study.report
import study.results
import study.spec

specs = study.spec.load_specs(params_dir)
results = {k: v for k, v in study.results.load_results(results_dir).items() if k in specs}
table = study.results.summary(results)

# %% tags=["remove-input"]
for dataset in {r["dataset"]["name"]: r["dataset"] for r in results.values()}.values():
    display(Markdown(study.report.data_notice(dataset)))
missing = [s for s in specs if s not in results]
if missing:
    display(Markdown(f"```{{warning}}\nNo results yet for {', '.join(missing)}: run `nox -s execute`.\n```"))

# %% [markdown]
# ## All models, reproduced and as the seed reported them
#
# `accuracy` and `macro F1` are this book's; `seed accuracy` is the figure in each model's section of the
# seed report, and `seed F1 (digit 1)` its F1, which is that of digit 1 alone (compare with `digit-1 F1`).

# %% tags=["remove-input"]
display(table.drop(columns=["title"]).fillna("—"))

# %% [markdown]
# ## Accuracy by the factor each model varies
#
# Each bar is one model's test accuracy minus that of the model it is compared with (its parameter file's
# `compare_with`), in percentage points, for this book's run and for the seed report's figures.

# %% tags=["remove-input"]
display(study.plots.effect_by_factor(table))

# %% [markdown]
# ## Parameters and training time against accuracy

# %% tags=["remove-input"]
display(study.plots.accuracy_against(table, "params", "trainable parameters (log scale)",
                                     "Test accuracy against model size", log=True))

# %% tags=["remove-input"]
display(study.plots.accuracy_against(table, "train s", "training time (s)",
                                     "Test accuracy against training time"))
