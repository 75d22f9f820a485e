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
# `book/<dataset>/models/<id>.ipynb`, `<id>.json` beside it and one `<id>/seed_<k>.json` per seed.
# Opened here, it runs the parameter file named below, reusing the runs the book's store holds for it
# (`runs_dir = None`: `../book/<dataset>/runs`) and adding any it trains; with `results_dir = None` it writes no
# page record. A run's key holds its threads per op (they change its figures) and the build's workers train with
# their share of the cores (one thread each by default), so `threads = None` trains with the threads the book's
# record of the model names, and its stored runs are reused; `threads = 0` is the backend's default (every core),
# with which the seeds train again. The values it ran with are listed at the end of each page, under "How this page
# was computed".

# %% tags=["parameters", "remove-cell"]
spec_path = "params/model_01.yaml"
dataset = "mnist"
requested = None
data_sha256 = None
smoke = False
seeds = [0, 1, 2]
threads = None
precision = "float32"
backend = "tensorflow"
results_dir = None
runs_dir = None
inputs_hash = None

# %% tags=["remove-cell"]
import time

_start = time.perf_counter()

from IPython.display import Markdown, display

import study.backend
import study.lab
import study.spec

runs_root = study.lab.runs_root(runs_dir, dataset)
threads = study.lab.threads(threads, study.spec.load_spec(spec_path).id, runs_root, backend=backend, smoke=smoke,
                            precision=precision)
keras = study.backend.use(backend, threads)  # before anything imports Keras

import study.data
import study.evidence
import study.metrics
import study.models
import study.plots
import study.report
import study.results
import study.runs
import study.training

# %% tags=["remove-input"]
study.training.set_precision(precision)
spec = study.spec.load_spec(spec_path)
data = study.data.load(dataset, smoke=smoke, requested=requested, expected_sha256=data_sha256)
compared = f" It is compared with **{spec.compare_with}**, from which it differs in: {spec.factor}." if spec.compare_with else ""
display(Markdown(f"**Question.** {spec.question}{compared}"))
display(Markdown(study.report.data_notice(data.provenance())))
if spec.notes:
    display(Markdown(f"```{{note}}\n{spec.notes}\n```"))

# %% [markdown]
# ## Architecture
#
# Each convolution is followed by max pooling; then Flatten, a dense layer and a 10-way softmax.

# %% tags=["hide-input"]
model = study.models.build(spec, seeds[0])
layers = study.models.layer_table(model)
display(layers)
print(study.report.layer_totals(layers))

# %% [markdown]
# ## Training
#
# Keras' own `fit`, as the seed report trained: Adam on sparse categorical cross-entropy, from a fresh
# initialisation for every seed (the backend's ops are deterministic, so a seed gives the same run twice on
# the same machine), the last `validation_split` of the training images held out for the validation curves
# and the rest shuffled every epoch. One line per epoch. Each run is kept in a store (`book/<dataset>/runs/`)
# under the hash of everything that shapes it, the moment it finishes; a seed already there with the same
# inputs is reused instead of trained again.

# %% tags=["hide-input"]
epochs = 1 if smoke else spec.training.epochs
runs, trained = study.runs.runs(spec, data, seeds, smoke=smoke, precision=precision, threads=threads,
                                store=runs_root / spec.id)
print(f"{len(trained)} run(s) trained, {len(seeds) - len(trained)} reused from the store")

# %% tags=["hide-input"]
display(study.plots.learning_curves([r.history for r in runs],
                                    f"{spec.id}: learning curves on {data.label}, {len(runs)} seed(s)"))

# %% [markdown]
# ## Test metrics
#
# Each seed's test accuracy, macro-averaged F1 and F1 of class 1 alone (what the seed report printed),
# with their mean, standard deviation and 95 % confidence interval (Student's t over seeds).

# %% tags=["hide-input"]
display(study.report.seed_runs(runs))
stuck = study.report.at_chance_notice(spec.id, runs, len(data.class_names))
if stuck:
    display(Markdown(stuck))

# %% [markdown]
# The first seed's run in detail: confusion matrix, per-class precision, recall and F1 (scikit-learn),
# and test images it got wrong.

# %% tags=["hide-input"]
first = runs[0]
display(study.plots.confusion_heatmap(first.test.confusion_matrix, data.class_names,
                                      f"{spec.id}, seed {first.seed}: confusion matrix on the {data.label} test set"))

# %% tags=["hide-input"]
display(study.report.per_class(first))

# %% tags=["hide-input"]
display(study.plots.misclassified_grid(data.x_test, data.y_test, first.test.predictions, data.class_names,
                                       f"{spec.id}, seed {first.seed}: misclassified test images"))

# %% [markdown]
# ## Seed reported vs reproduced
#
# The seed report's test accuracy is a single run on MNIST. It is *reproduced* when it lies inside the 95 %
# prediction interval for one more run of ours (Student-t, from our seeds' mean and standard deviation),
# and otherwise lies *above* or *below* our runs. Only runs on the full MNIST are judged, and only where that
# interval is at most ±1 pp wide: fewer seeds, or runs stuck at chance, cannot tell.

# %% tags=["hide-input"]
record = study.results.model_record(spec, data, runs, param_count=model.count_params(), smoke=smoke,
                                    total_seconds=time.perf_counter() - _start, hardware=study.backend.hardware(),
                                    steps_per_execution=study.training.STEPS_PER_EXECUTION, inputs_hash=inputs_hash,
                                    precision=precision)
display(study.report.reproduction_table(
    [study.evidence.reproduction(spec.id, spec.seed_report.accuracy, runs, data.name, len(data.class_names))]))

# %% [markdown]
# The seed report's other figures beside this study's mean ± standard deviation over seeds. Its precision,
# recall and F1 are those of class 1 (digit 1) as the positive class; the macro averages weigh all ten
# classes equally.

# %% tags=["hide-input"]
display(study.report.seed_vs_reproduced(record, runs))

# %% [markdown]
# ## How this page was computed
#
# Everything that determines this page's figures, with its timings. Its inputs hash changes when any of them
# does (`nox -s execute` then computes the page again); the executed notebook can be downloaded from the
# top of the page.

# %% tags=["remove-input"]
display(Markdown(study.report.how_computed(record, epochs=epochs, threads=threads, inputs_hash=inputs_hash)))

# %% tags=["remove-cell"]
if results_dir:
    study.results.write_model(results_dir, record, runs)
