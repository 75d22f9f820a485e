"""Test-set metrics with scikit-learn: overall, macro-averaged, per class, and the seed's class-1 view."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from study.typed import Strict

POSITIVE_CLASS = 1  # the class whose precision/recall/F1 the seed report printed (digit 1 on MNIST)


class Scores(Strict):
    """Precision, recall and F1."""

    precision: float
    recall: float
    f1: float


class ClassScores(Scores):
    """One class's scores, its label, its name on the dataset and its number of test images."""

    label: int
    name: str
    support: int


class Evaluation(Strict):
    """A run's test-set figures, with every prediction so that runs can be compared image by image."""

    accuracy: float
    macro: Scores
    positive_class: ClassScores
    per_class: list[ClassScores]
    confusion_matrix: list[list[int]]
    predictions: list[int]


def positive_class_name(class_names: tuple[str, ...]) -> str:
    """How pages name the seed's positive class on a dataset: "digit 1" on MNIST, "Trouser" on Fashion-MNIST."""
    name = class_names[POSITIVE_CLASS]
    return f"digit {name}" if name.isdigit() else name


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, class_names: tuple[str, ...]) -> Evaluation:
    """Accuracy, macro and per-class precision/recall/F1, the confusion matrix, and class 1 alone.

    The seed report's precision/recall/F1 are those of class 1 (digit 1) taken as the positive class;
    `positive_class` reproduces that figure so it can be set beside the seed's.
    """
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    macro = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    per_class = [ClassScores(label=c, name=class_names[c], precision=float(precision[c]), recall=float(recall[c]),
                             f1=float(f1[c]), support=int(support[c])) for c in labels]
    return Evaluation(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro=Scores(precision=float(macro[0]), recall=float(macro[1]), f1=float(macro[2])),
        positive_class=per_class[POSITIVE_CLASS].model_copy(update={"name": positive_class_name(class_names)}),
        per_class=per_class,
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        predictions=[int(p) for p in y_pred],
    )
