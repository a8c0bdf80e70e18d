"""Time-to-accuracy on Fashion-MNIST: seconds and epochs until the test accuracy reaches a target.

Training is ``gluoncnn.train.fit`` itself (nothing re-implemented), one epoch per call with
``resume=True`` from the run's own checkpoint, so the run stops as soon as the target is reached
or a cap (epochs or seconds) is hit. ``seconds`` is the sum of fit's per-epoch times (training
plus the test-set evaluation, as d2l reports them); ``wall_seconds`` also counts data loading,
building the model and the checkpoint round trips.
"""
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class Target:
    def __init__(self, model, target, options=None, batch_size=256, optimizer="adam", lr=0.002,
                 max_epochs=10, max_seconds=None, train_size=None, test_size=None, resize=None,
                 note=""):
        self.model, self.target = model, float(target)
        self.options = dict(options or {})
        self.batch_size, self.optimizer, self.lr = batch_size, optimizer, lr
        self.max_epochs, self.max_seconds = max_epochs, max_seconds
        self.train_size, self.test_size, self.resize = train_size, test_size, resize
        self.note = note

    def as_dict(self):
        return dict(vars(self))


def run_target(t, ctx="cpu", seed=0, sample=False, root=None, log=print):
    """Train ``t.model`` until test accuracy >= ``t.target``; returns a result dict."""
    from gluoncnn.data import load_data
    from gluoncnn.models import get_model
    from gluoncnn.train import fit
    wall0 = time.time()
    train_iter, test_iter = load_data("fashion-mnist", t.batch_size, resize=t.resize, root=root,
                                      train_size=t.train_size, test_size=t.test_size,
                                      sample=sample)
    options = dict(classes=10, in_channels=1, **t.options)
    net = get_model(t.model, **options)
    tmp = tempfile.mkdtemp(prefix="gluoncnn-tta-")
    records, reached = [], None
    try:
        for epoch in range(1, t.max_epochs + 1):
            history = fit(net, train_iter, test_iter, epochs=epoch, ctx=ctx, optimizer=t.optimizer,
                          lr=t.lr, seed=seed, checkpoint_dir=tmp, resume=epoch > 1,
                          keep_checkpoints=1, plot=False, progress=False, verbose=False)
            records = history.records
            last = records[-1]
            spent = sum(r["time"] for r in records)
            log(f"  {t.model}: epoch {epoch}, test acc {last['test_acc']:.4f}, "
                f"{spent:.1f} s")
            if last["test_acc"] >= t.target:
                reached = epoch
                break
            if t.max_seconds is not None and spent >= t.max_seconds:
                break
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = sum(r["time"] for r in records)
    return {**t.as_dict(), "options": options, "reached": reached is not None,
            "epochs": reached if reached is not None else len(records),
            "seconds": seconds, "wall_seconds": time.time() - wall0,
            "best_test_acc": max(r["test_acc"] for r in records) if records else None,
            "train_examples_per_sec": (sum(r.get("examples_per_sec", 0) for r in records)
                                       / len(records)) if records else None,
            "curve": [{"epoch": r["epoch"], "test_acc": r["test_acc"], "time": r["time"]}
                      for r in records]}
