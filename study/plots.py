"""Figures: every one titled, with labelled axes, returned closed (so a notebook shows each once, on display)."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from study.data import LABELS
from study.evidence import ClaimVerdict, short_name
from study.stats import CONTRADICTED, DIFFERENCE_RANGE, EQUIVALENT, NO_VERDICT, SUPPORTED, UNDECIDED, Difference, clip

sns.set_theme(style="whitegrid", context="notebook")


def learning_curves(histories: list[dict[str, list[float]]], title: str) -> plt.Figure:
    """Training and validation accuracy (left) and loss (right) per epoch: one thin line per seed, mean bold."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = np.arange(1, len(histories[0]["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for key, label, colour in ((metric, "training", "C0"), (f"val_{metric}", "validation", "C1")):
            curves = np.array([h[key] for h in histories if key in h])
            if not len(curves):
                continue
            for curve in curves:
                ax.plot(epochs, curve, color=colour, alpha=0.35, linewidth=0.8)
            ax.plot(epochs, curves.mean(axis=0), color=colour, marker="o", label=f"{label} (mean of {len(curves)})")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric.capitalize()} per epoch, thin lines: seeds")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def confusion_heatmap(matrix: list[list[int]], class_names: tuple[str, ...], title: str) -> plt.Figure:
    """The confusion matrix as an annotated seaborn heatmap (rows: true class, columns: predicted)."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    sns.heatmap(np.asarray(matrix), annot=True, fmt="d", cmap="Blues", cbar_kws={"label": "test images"},
                xticklabels=class_names, yticklabels=class_names, ax=ax)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def misclassified_grid(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                       class_names: tuple[str, ...], title: str, limit: int = 24) -> plt.Figure:
    """Up to `limit` misclassified test images, each labelled with its true and predicted class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.4, rows * 1.7), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"true {class_names[y_true[i]]}\npred {class_names[y_pred[i]]}", fontsize=8)
    if not len(wrong):
        axes.flat[0].text(0, 0.5, "no misclassified test images", fontsize=10)
    fig.suptitle(f"{title} ({len(wrong)} shown of {int((y_true != y_pred).sum())} misclassified)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def effect_by_factor(table: pd.DataFrame, compared: dict[str, Difference]) -> plt.Figure:
    """Accuracy change of each model against the one it is compared with: ours with its interval, and the seed's."""
    rows = [(f"{m} vs {table.loc[m, 'compare_with']}\n({table.loc[m, 'factor']})", d,
             100 * (table.loc[m, "seed_accuracy"] - table.loc[table.loc[m, "compare_with"], "seed_accuracy"]))
            for m, d in compared.items()]
    fig, ax = plt.subplots(figsize=(9, 0.6 * max(len(rows), 2) + 1.5))
    y = np.arange(len(rows))
    for i, (label, d, seed) in enumerate(rows):
        low, high, _ = clip(d.low, d.high, DIFFERENCE_RANGE)
        ax.errorbar(d.estimate, i, xerr=[[d.estimate - low], [high - d.estimate]], fmt="o", color="C0",
                    capsize=4, label="this study (95 % CI, seeds and test images)" if i == 0 else None)
        ax.plot(seed, i, "D", color="C3", label="seed report (MNIST, one run)" if i == 0 else None)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1)
    ax.set(xlabel="test accuracy change (percentage points; linear within ±1, logarithmic beyond)",
           title="Accuracy change against the compared model, by the factor it varies")
    if rows:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


OUTCOME_COLOURS = {SUPPORTED: "C2", CONTRADICTED: "C3", EQUIVALENT: "C0", UNDECIDED: "0.45", NO_VERDICT: "0.7"}
NOT_DECIDABLE_COLOUR = "0.2"  # a claim that no look of its design can decide


def _colour(v: ClaimVerdict) -> str:
    return NOT_DECIDABLE_COLOUR if v.why_not else OUTCOME_COLOURS[v.verdict]


def claims_figure(verdicts: list[ClaimVerdict], title: str) -> plt.Figure:
    """Each claim's 95 % interval of A - B against zero, coloured by its verdict, with the claimed side marked by
    an arrow, the seed report's own difference and the equivalence margin shaded."""
    fig, ax = plt.subplots(figsize=(10, 0.75 * max(len(verdicts), 2) + 2.2))
    margin = verdicts[0].margin_pp if verdicts else 0.0
    ax.axvspan(-margin, margin, color="C0", alpha=0.12, label=f"equivalence margin ±{margin:g} pp")
    ax.axvline(0, color="black", linewidth=0.8)
    for i, v in enumerate(verdicts):
        d = v.diff
        colour = _colour(v)
        low, high, _ = clip(d.low, d.high, DIFFERENCE_RANGE)
        ax.errorbar(d.estimate, i, xerr=[[d.estimate - low], [high - d.estimate]], fmt="o", color=colour,
                    capsize=4, linestyle="--" if not d.seed_spread_known else "-")
        side = {"better": 1, "worse": -1, "not worse": 1, "not better": -1}[v.direction]
        start = {"better": 0.0, "worse": 0.0, "not worse": -margin, "not better": margin}[v.direction]
        ax.annotate("", xy=(start + side * 0.6, i - 0.3), xytext=(start, i - 0.3),
                    arrowprops={"arrowstyle": "->", "color": "0.3"})
        if v.seed_diff_pp is not None:
            ax.plot(v.seed_diff_pp, i, "D", color="C3", markersize=5,
                    label="seed report (one run)" if i == 0 else None)
    for outcome, colour in {**OUTCOME_COLOURS, **{v.verdict: _colour(v) for v in verdicts if v.why_not}}.items():
        if any(v.verdict == outcome for v in verdicts):
            ax.plot([], [], "o-", color=colour, label=outcome)
    ax.plot([], [], color="0.3", marker=r"$\rightarrow$", linestyle="none", markersize=12, label="the claimed side")
    ax.set_yticks(np.arange(len(verdicts)), [f"{short_name(v.model)} vs {short_name(v.baseline)}" + "\n"
                                            + textwrap.fill(v.claim, 42) for v in verdicts], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=1)
    ax.set(xlabel="A − B, test accuracy (percentage points; linear within ±1, logarithmic beyond)", title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


ERROR_FLOOR = 0.01
ERROR_LABEL = "test error (%, log scale)"


def error_percent(accuracy: np.ndarray | pd.Series | float) -> np.ndarray:
    """Test error in percent, 100 (1 - accuracy), clipped to [ERROR_FLOOR, 100] so that a log axis shows it."""
    return np.clip(100 * (1 - np.asarray(accuracy, dtype=float)), ERROR_FLOOR, 100)


def error_bars(accuracy: np.ndarray | pd.Series, low: np.ndarray | pd.Series,
               high: np.ndarray | pd.Series) -> np.ndarray | None:
    """An accuracy interval as (below, above) bars of test error, the interval's high end the error's low end;
    None when no interval is known."""
    error = error_percent(accuracy)
    bars = np.array([error - error_percent(high), error_percent(low) - error])
    return None if np.isnan(bars).all() else bars


def error_axis(ax: plt.Axes, which: str, label: str) -> None:
    """Test error on a log x or y axis, labelled at 1, 2 and 5 of each decade (every tick within one decade)."""
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_major_locator(mticker.LogLocator(subs=(1, 2, 5)))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(mticker.FuncFormatter(
        lambda v, _: f"{v:g}" if np.ptp(np.log10(axis.get_view_interval())) < 1 else ""))
    axis.set_label_text(label)


def forest(table: pd.DataFrame) -> plt.Figure:
    """Every model's mean test error with its 95 % interval over seeds, and the seed report's figure."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))
    bars = error_bars(table["accuracy"], table["ci_low"], table["ci_high"])
    ax.errorbar(error_percent(table["accuracy"]), y, xerr=bars, fmt="o", capsize=4, color="C0",
                label="this study: mean, 95 % CI over seeds")
    ax.plot(error_percent(table["seed_accuracy"]), y, "D", color="C3", label="seed report (MNIST, one run)")
    ax.set_yticks(y, [f"{m}: {f}" for m, f in zip(table.index, table["factor"])])
    ax.invert_yaxis()
    error_axis(ax, "x", f"{ERROR_LABEL}; 1 − test accuracy, lower is better")
    ax.set(title="Test error of every model")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def accuracy_against(table: pd.DataFrame, column: str, xlabel: str, title: str, log: bool = False) -> plt.Figure:
    """Test error of every model against one of its properties (parameters, training time), labelled by id."""
    fig, ax = plt.subplots(figsize=(8, 5))
    shown = table.assign(error=error_percent(table["accuracy"]))
    sns.scatterplot(shown, x=column, y="error", hue="factor", s=80, ax=ax)
    for model, row in shown.iterrows():
        ax.annotate(short_name(model), (row[column], row["error"]),
                    textcoords="offset points", xytext=(5, 4), fontsize=8)
    if log:
        ax.set_xscale("log")
    error_axis(ax, "y", f"{ERROR_LABEL}; lower is better")
    ax.set(xlabel=xlabel, title=title)
    ax.legend(title="factor varied", fontsize=8, title_fontsize=8, loc="best")
    fig.tight_layout()
    plt.close(fig)
    return fig


def accuracy_across(table: pd.DataFrame, a: str, b: str) -> plt.Figure:
    """Every model's test error on dataset a against dataset b (`evidence.across_datasets`), with the 95 %
    intervals, labelled by id."""
    fig, ax = plt.subplots(figsize=(7.5, 6))
    for model, row in table.iterrows():
        x, y = (error_percent(row[(d, "accuracy")]) for d in (a, b))
        xerr, yerr = (error_bars(*(np.atleast_1d(row[(d, f)]) for f in ("accuracy", "ci_low", "ci_high")))
                      for d in (a, b))
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", capsize=3, color="C0")
        ax.annotate(short_name(model), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    error_axis(ax, "x", f"{ERROR_LABEL} on {LABELS[a]}")
    error_axis(ax, "y", f"{ERROR_LABEL} on {LABELS[b]}")
    ax.set(title=f"Each model's test error on {LABELS[a]} and {LABELS[b]}\n(1 − accuracy, mean over seeds, 95 % CI; "
                 "lower is better)")
    fig.tight_layout()
    plt.close(fig)
    return fig
