"""Figures: every one titled, with labelled axes, returned closed (so a notebook shows each once, on display)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

sns.set_theme(style="whitegrid", context="notebook")


def learning_curves(history: dict[str, list[float]], title: str) -> plt.Figure:
    """Training and validation accuracy (left) and loss (right) per epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, history[metric], marker="o", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="s", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric.capitalize()} per epoch")
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


def effect_by_factor(table: pd.DataFrame) -> plt.Figure:
    """Accuracy change of each model against the model it is compared with: reproduced vs seed reported."""
    rows = []
    for model, row in table[table["compare_with"].isin(table.index)].iterrows():
        base = table.loc[row["compare_with"]]
        label = f"{model} vs {row['compare_with']}\n({row['factor']})"
        rows.append({"comparison": label, "source": "reproduced",
                     "change (percentage points)": 100 * (row["accuracy"] - base["accuracy"])})
        if pd.notna(row["seed accuracy"]) and pd.notna(base["seed accuracy"]):
            rows.append({"comparison": label, "source": "seed report",
                         "change (percentage points)": 100 * (row["seed accuracy"] - base["seed accuracy"])})
    fig, ax = plt.subplots(figsize=(9, 0.55 * max(len(rows) // 2, 2) + 1.5))
    if rows:
        sns.barplot(pd.DataFrame(rows), y="comparison", x="change (percentage points)", hue="source", ax=ax)
        ax.axvline(0, color="black", linewidth=0.8)
    else:
        ax.text(0.5, 0.5, "no model and the model it is compared with both have results yet",
                ha="center", va="center", transform=ax.transAxes)
        ax.set(xlabel="change (percentage points)")
    ax.set(title="Test accuracy change against the compared model, by the factor it varies", ylabel="")
    fig.tight_layout()
    plt.close(fig)
    return fig


def accuracy_against(table: pd.DataFrame, column: str, xlabel: str, title: str, log: bool = False) -> plt.Figure:
    """Test accuracy of every model against one of its properties (parameters, training time), labelled by id."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.scatterplot(table, x=column, y="accuracy", hue="factor", s=80, ax=ax)
    for model, row in table.iterrows():
        ax.annotate(model.replace("model_", "M"), (row[column], row["accuracy"]),
                    textcoords="offset points", xytext=(5, 4), fontsize=8)
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel="test accuracy", title=title)
    ax.legend(title="factor varied", fontsize=8, title_fontsize=8, loc="best")
    fig.tight_layout()
    plt.close(fig)
    return fig
