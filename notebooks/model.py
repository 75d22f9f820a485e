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
# # Model template

# %% [markdown] tags=["remove-cell"]
# This is the one template behind every model page. `nox -s execute` runs it with papermill once per
# parameter file in `notebooks/params/`, replacing the `parameters` cell below, and writes
# `book/models/<id>.ipynb` and `book/models/<id>.json`. Opened here, it runs the parameter file named
# below; with `result_path = None` it writes nothing.

# %% tags=["parameters", "hide-cell"]
spec_path = "params/model_01.yaml"
dataset = "mnist"
smoke = False
seed = 0
result_path = None

# %% tags=["remove-cell"]
import time

_start = time.perf_counter()

from IPython.display import Markdown, display

import study.data
import study.metrics
import study.models
import study.plots
import study.report
import study.results
import study.spec
import study.training

# %% tags=["remove-input"]
spec = study.spec.load_spec(spec_path)
data = study.data.load(dataset, smoke=smoke)
display(Markdown(study.report.data_notice(data.provenance())))
compared = f" It is compared with **{spec.compare_with}**, from which it differs in: {spec.factor}." if spec.compare_with else ""
display(Markdown(f"**Question.** {spec.question}{compared}"))
if spec.notes:
    display(Markdown(f"```{{note}}\n{spec.notes}\n```"))

# %% [markdown]
# ## Architecture
#
# Each convolution is followed by max pooling; then Flatten, a dense layer and a 10-way softmax.

# %% tags=["hide-input"]
study.training.seed_everything(seed)
model = study.models.build(spec)
layers = study.models.layer_table(model)
display(layers)
print(study.report.layer_totals(layers))

# %% [markdown]
# ## Training
#
# Adam on sparse categorical cross-entropy, from a fresh initialisation seeded with `seed`; the last
# `validation_split` of the training images are held out for the validation curves. One line per epoch.

# %% tags=["hide-input"]
fit = study.training.train(model, spec, data, epochs=1 if smoke else None)
print(f"training took {fit.seconds:.1f} s")

# %% tags=["hide-input"]
display(study.plots.learning_curves(fit.history, f"{spec.id}: learning curves on {data.name}"))

# %% [markdown]
# ## Test metrics
#
# Accuracy over the whole test set; precision, recall and F1 per class and macro-averaged
# (scikit-learn), and for digit 1 alone, which is what the seed report printed.

# %% tags=["hide-input"]
y_pred = study.training.predict(model, data.x_test)
test = study.metrics.evaluate(data.y_test, y_pred, data.class_names)
print(f"test accuracy {test['accuracy']:.4f}   macro F1 {test['macro']['f1']:.4f}   "
      f"digit-1 F1 {test['digit1']['f1']:.4f}   ({len(data.y_test):,} test images)")

# %% tags=["hide-input"]
display(study.plots.confusion_heatmap(test["confusion_matrix"], data.class_names,
                                      f"{spec.id}: confusion matrix on the {data.name} test set"))

# %% tags=["hide-input"]
display(study.report.per_class(test))

# %% tags=["hide-input"]
display(study.plots.misclassified_grid(data.x_test, data.y_test, y_pred, data.class_names,
                                       f"{spec.id}: misclassified test images"))

# %% [markdown]
# ## Seed reported vs reproduced
#
# The seed report's figures for this configuration beside this run's. Its precision, recall and F1 are
# those of digit 1 as the positive class; the macro averages weigh all ten classes equally.

# %% tags=["hide-input"]
result = study.results.record(spec, data, fit, test, param_count=model.count_params(), seed=seed,
                              smoke=smoke, total_seconds=time.perf_counter() - _start)
display(study.report.seed_vs_reproduced(result))
print(f"training {result['seconds']['train']:.1f} s, whole page {result['seconds']['total']:.1f} s")

# %% tags=["remove-cell"]
if result_path:
    study.results.write_json(result_path, result)
