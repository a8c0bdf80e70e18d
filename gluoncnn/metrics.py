"""Classification metrics read off a confusion matrix: per-class precision, recall and F1 and
their macro averages, as ``sklearn.metrics.classification_report`` reports them.

The matrix is ``evaluate(..., confusion=True)['confusion']``: rows are the true class, columns
the predicted class, so for class ``k``::

    precision_k = C[k, k] / sum(C[:, k])     (of the images predicted k, the share that are k)
    recall_k    = C[k, k] / sum(C[k, :])     (of the images of class k, the share found)
    f1_k        = 2 precision_k recall_k / (precision_k + recall_k)

A class with images that is never predicted scores precision 0 and F1 0 (as scikit-learn's
``zero_division=0``); a class with no images in the data (a small test subset) has no recall and
no F1: those are NaN and left out of the macro averages (the mean over classes, each class
counting once).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .errors import InputError


@dataclasses.dataclass
class ClassificationReport:
    """Per-class ``precision``, ``recall``, ``f1`` and ``support`` (images of the class), and
    their macro averages; NaN where a class has no image."""
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray

    @property
    def macro(self) -> dict[str, float]:
        """``{'precision': ..., 'recall': ..., 'f1': ...}``: the means over the classes."""
        return {name: _nanmean(getattr(self, name)) for name in ("precision", "recall", "f1")}

    def as_dict(self) -> dict:
        """JSON-ready: lists with None for NaN."""
        def listed(values):
            return [None if np.isnan(v) else float(v) for v in values]
        return {"precision": listed(self.precision), "recall": listed(self.recall),
                "f1": listed(self.f1), "support": [int(s) for s in self.support],
                "macro": {k: None if np.isnan(v) else v for k, v in self.macro.items()}}


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def classification_report(confusion) -> ClassificationReport:
    """Precision, recall and F1 per class from a square ``confusion`` matrix (rows: true class,
    columns: predicted class)."""
    matrix = np.asarray(confusion, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"a confusion matrix is square (classes x classes), got shape "
                         f"{matrix.shape}")
    hits = np.diag(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / predicted, np.where(actual > 0, 0.0, np.nan))
        recall = np.where(actual > 0, hits / actual, np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(np.isnan(recall), np.nan, f1)
    return ClassificationReport(precision, recall, f1, actual.astype(np.int64))
