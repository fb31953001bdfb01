"""Metrics are pure functions; check them on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from realorai.metrics import binary_metrics, choose_threshold, report_text


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.4, 0.7, 0.9, 0.95])
    m = binary_metrics(y, p, threshold=0.5)
    assert m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == 0.75 and m["accuracy_real"] == 0.75 and m["accuracy_ai"] == 0.75
    assert m["per_class"]["ai"]["precision"] == 0.75 and m["per_class"]["real"]["support"] == 4
    assert m["roc_auc"] == pytest.approx(14 / 16)
    assert 0 < m["average_precision"] <= 1
    assert m["macro_avg"]["f1-score"] == pytest.approx(0.75)


def test_separate_accuracies_expose_a_lopsided_model():
    """The report's ResNet: fine overall accuracy, almost no AI images caught."""
    y = np.array([0] * 8 + [1] * 8)
    p = np.array([0.1] * 8 + [0.2] * 7 + [0.9])
    m = binary_metrics(y, p, 0.5)
    assert m["accuracy_real"] == 1.0 and m["accuracy_ai"] == 0.125


def test_choose_threshold_maximises_balanced_accuracy():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])  # separable, but far below 0.5
    t = choose_threshold(y, p)
    assert 0.03 < t <= 0.04
    assert binary_metrics(y, p, t)["accuracy"] == 1.0
    assert choose_threshold(np.array([1, 1]), np.array([0.2, 0.3])) == 0.5  # one class: no choice


def test_choose_threshold_prefers_half_on_ties():
    y = np.array([0, 1])
    p = np.array([0.1, 0.9])
    assert choose_threshold(y, p) == 0.5


def test_report_text_has_the_reports_layout():
    text = report_text(np.array([0, 1, 1]), np.array([0.2, 0.8, 0.3]), 0.5)
    assert "precision    recall  f1-score   support" in text and "macro avg" in text and "weighted avg" in text
