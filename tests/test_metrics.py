import numpy as np
import pytest

from study.metrics import evaluate


def test_metrics_against_a_hand_computed_case():
    # true 0 0 1 1 1 2 / predicted 0 1 1 1 0 2: four right of six
    # class 0: TP 1, FP 1, FN 1 -> P 1/2, R 1/2; class 1: TP 2, FP 1, FN 1 -> P 2/3, R 2/3; class 2: P 1, R 1
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    m = evaluate(y_true, y_pred, ("a", "b", "c"))
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.positive_class.model_dump() == {"label": 1, "name": "b", "precision": pytest.approx(2 / 3),
                                             "recall": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3), "support": 3}
    assert m.macro.precision == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m.macro.recall == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m.macro.f1 == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m.confusion_matrix == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    assert [c.support for c in m.per_class] == [2, 3, 1]
    assert m.per_class[2].model_dump() == {"label": 2, "name": "c", "precision": 1.0, "recall": 1.0, "f1": 1.0,
                                           "support": 1}
    assert m.predictions == [0, 1, 1, 1, 0, 2]


def test_the_positive_class_differs_from_macro_when_classes_differ():
    y_true = np.array([1, 1, 1, 1, 0, 0, 2, 2])
    y_pred = np.array([1, 1, 1, 1, 2, 2, 0, 0])
    m = evaluate(y_true, y_pred, ("0", "1", "2"))
    assert m.positive_class.recall == 1.0 and m.positive_class.name == "digit 1"
    assert m.macro.recall == pytest.approx(1 / 3)


def test_the_positive_class_is_named_by_the_dataset_s_classes():
    m = evaluate(np.array([0, 1, 1]), np.array([0, 1, 0]), ("T-shirt/top", "Trouser", "Pullover"))
    assert m.positive_class.name == "Trouser" and m.positive_class.recall == 0.5
