"""The accuracy figures as a reader sees them: 98.3 % and 98.7 % apart on the page, a model at chance still on it."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from study import plots

ACCURACIES = {"model_01": 0.983, "model_02": 0.987, "model_09": 0.40}
MIN_PIXELS = 20


def summary_table() -> pd.DataFrame:
    """A `study.results.summary`-like table: two learned models 0.4 pp apart and one at chance."""
    acc = pd.Series(ACCURACIES)
    return pd.DataFrame({
        "factor": ["baseline", "kernel", "activation"], "accuracy": acc, "ci_low": acc - 0.002,
        "ci_high": (acc + 0.002).clip(upper=1.0), "seed_accuracy": acc + 0.001, "params": [347146, 346986, 56714],
        "train_seconds": [120.0, 95.0, 60.0]})


def across_table() -> pd.DataFrame:
    """An `evidence.across_datasets`-like table: the same accuracies on MNIST and on Fashion-MNIST."""
    summary = summary_table()[["accuracy", "ci_low", "ci_high"]]
    return pd.concat({"mnist": summary, "fashion-mnist": summary}, axis=1)


def study_points(fig: plt.Figure) -> tuple[plt.Axes, np.ndarray]:
    """The first axes and its 'this study' points, one per model in table order, in display pixels."""
    fig.canvas.draw()
    ax = fig.axes[0]
    if ax.collections and not ax.containers:
        data = ax.collections[0].get_offsets()
    elif len(ax.containers) == 1:
        data = ax.containers[0].lines[0].get_xydata()
    else:
        data = np.array([c.lines[0].get_xydata()[0] for c in ax.containers])
    return ax, ax.transData.transform(np.asarray(data, dtype=float))


FIGURES = {
    "forest": (lambda: plots.forest(summary_table()), [0]),
    "against size": (lambda: plots.accuracy_against(summary_table(), "params", "parameters", "size", log=True), [1]),
    "against time": (lambda: plots.accuracy_against(summary_table(), "train_seconds", "seconds", "time"), [1]),
    "across datasets": (lambda: plots.accuracy_across(across_table(), "mnist", "fashion-mnist"), [0, 1]),
}


@pytest.mark.parametrize("name", FIGURES)
def test_close_accuracies_are_apart_and_a_model_at_chance_is_on_the_chart(name):
    build, accuracy_axes = FIGURES[name]
    ax, points = study_points(build())
    apart = min(abs(points[0, i] - points[1, i]) for i in accuracy_axes)
    print(f"{name}: 98.3 % and 98.7 % are {apart:.1f} px apart")
    assert apart >= MIN_PIXELS, f"{name}: 98.3 % and 98.7 % only {apart:.1f} px apart"
    box = ax.get_window_extent()
    assert box.x0 <= points[2, 0] <= box.x1 and box.y0 <= points[2, 1] <= box.y1, f"{name}: the model at chance is off"


@pytest.mark.parametrize("name", FIGURES)
def test_the_accuracy_axis_says_it_shows_test_error_on_a_log_scale(name):
    ax = FIGURES[name][0]().axes[0]
    labels = {"forest": [ax.get_xlabel()], "across datasets": [ax.get_xlabel(), ax.get_ylabel()]}
    for label in labels.get(name, [ax.get_ylabel()]):
        assert "test error (%, log scale)" in label, label


def test_error_bars_turn_the_accuracy_interval_around_and_a_perfect_model_stays_on_a_log_axis():
    bars = plots.error_bars(np.array([0.98, 1.0]), np.array([0.97, 0.999]), np.array([0.985, 1.0]))
    assert np.allclose(bars[:, 0], [0.5, 1.0])
    assert np.all(bars >= 0) and plots.error_percent(np.array([1.0]))[0] == plots.ERROR_FLOOR
