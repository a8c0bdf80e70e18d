"""What a run did: one record per epoch, saved as CSV or JSON, plotted as curves."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import progress as _progress
from ..errors import OptionError
from ..utils import atomic_write_text


class History:
    """What a run did, one record (a dict) per epoch.

    Keys: ``epoch`` (1-based), ``loss`` (mean train loss), ``train_acc``, ``test_acc`` (None
    without test data), ``test_loss``, ``test_top5`` (when the net has more than 5 classes),
    ``lr`` (at the end of the epoch), ``time`` (seconds for the epoch, evaluation included, as in
    d2l), ``examples_per_sec`` (training throughput). ``meta`` holds the run's settings.

    In a run to a time budget (``fit(..., budget=...)``) a record is a part of an epoch (at most
    half of one) and ``epoch`` counts records; ``images`` (trained so far), ``epochs_reached``
    (fractional) and ``elapsed`` (the budget's seconds spent, evaluations included) say where
    it ended, and ``meta['epochs_reached']`` is the last record's.
    """

    FIELDS = ("epoch", "loss", "train_acc", "test_acc", "test_loss", "test_top5", "lr", "time",
              "examples_per_sec", "images", "epochs_reached", "elapsed")

    def __init__(self, records: Iterable[dict[str, Any]] | None = None,
                 meta: dict[str, Any] | None = None):
        self.records = [dict(r) for r in (records or [])]
        self.meta = dict(meta or {})

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def __repr__(self):
        if not self.records:
            return "History(no epochs)"
        last = self.records[-1]
        test = f", test acc {last['test_acc']:.3f}" if last.get("test_acc") is not None else ""
        reached = last.get("epochs_reached")
        length = (f"{len(self.records)} epochs" if reached is None else
                  f"{len(self.records)} records, {reached:.2f} epochs")
        return (f"History({length}; last: loss {last['loss']:.4f}, "
                f"train acc {last['train_acc']:.3f}{test})")

    def column(self, key: str) -> list[Any]:
        """One value per epoch, e.g. ``history.column('test_acc')``."""
        return [r.get(key) for r in self.records]

    def epoch_axis(self) -> list[float]:
        """Where each record is on an epoch axis, for plots (:func:`gluoncnn.progress.epoch_of`)."""
        return [_progress.epoch_of(r) for r in self.records]

    def best(self, key: str = "test_acc") -> dict[str, Any]:
        """The record with the highest ``key`` (lowest for keys containing 'loss'/'time')."""
        rows = [r for r in self.records if r.get(key) is not None]
        if not rows:
            raise OptionError(f"no epoch has a value for {key!r}; keys are "
                              f"{', '.join(self.FIELDS)}")
        lower = "loss" in key or key == "time"
        return (min if lower else max)(rows, key=lambda r: r[key])

    @property
    def df(self):
        """The records as a pandas ``DataFrame``."""
        import pandas as pd
        return pd.DataFrame(self.records)

    def _fields(self):
        extra = [k for r in self.records for k in r if k not in self.FIELDS]
        return [k for k in self.FIELDS if any(k in r for r in self.records)] + \
            sorted(set(extra), key=extra.index)

    def to_csv(self, path):
        """Write one row per epoch (atomically); returns the path."""
        text = io.StringIO(newline="")
        w = csv.DictWriter(text, fieldnames=self._fields())
        w.writeheader()
        for r in self.records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in self._fields()})
        atomic_write_text(path, text.getvalue())
        return path

    def to_json(self, path):
        """Write ``{"meta": ..., "records": [...]}`` (atomically); returns the path."""
        atomic_write_text(path, to_json_text({"meta": self.meta, "records": self.records}))
        return path

    def save(self, path):
        """Write CSV or JSON according to the file's extension."""
        return self.to_csv(path) if str(path).lower().endswith(".csv") else self.to_json(path)

    @classmethod
    def from_json(cls, path) -> History:
        with open(path) as f:
            data = json.load(f)
        return cls(data.get("records", []), data.get("meta", {}))

    def plot(self, path=None):
        """Loss and accuracies against epochs (a matplotlib Figure); saved as PNG if ``path``."""
        return _progress.plot_history(self.records, path)


def json_default(obj):
    """numpy numbers and arrays as JSON; anything else as its string."""
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def to_json_text(obj: Any) -> str:
    """``obj`` as indented JSON, numpy values included."""
    return json.dumps(obj, indent=1, default=json_default)
