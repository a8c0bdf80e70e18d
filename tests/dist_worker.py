"""One process of the distributed test (tests/test_train.py::test_dist_sync_workers_agree).

Run with the ps-lite variables set (``gluoncnn.train.dist_env``): the scheduler and the server
only import mxnet (which serves until the workers finish); each worker trains a tiny net with
``fit(..., kvstore='dist_sync')`` on its shard of the shipped Fashion-MNIST sample and saves its
parameters to ``<out>/worker-<rank>.npz``.
"""
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import mxnet as mx  # noqa: E402  (scheduler and server roles serve inside this import)

if os.environ.get("DMLC_ROLE") == "worker":
    import numpy as np
    from mxnet.gluon import nn
    from gluoncnn.data import load_data
    from gluoncnn.train import fit

    out = sys.argv[1]
    train_iter, test_iter = load_data("fashion-mnist", 32, sample=True, train_size=256,
                                      test_size=64)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 5, strides=2, activation="relu"), nn.MaxPool2D(2),
            nn.Dense(16, activation="relu"), nn.Dense(10))
    history = fit(net, train_iter, test_iter, epochs=1, ctx=mx.cpu(), optimizer="sgd", lr=0.1,
                  kvstore="dist_sync", seed=int(os.environ.get("DMLC_WORKER_SEED", "1")), progress=False, plot=False, max_batches=3)
    kv_rank = int(history.meta["rank"])
    params = {k: v.data().asnumpy() for k, v in net.collect_params().items()}
    np.savez(os.path.join(out, f"worker-{kv_rank}.npz"), **params)
    print("worker", kv_rank, "done", history.records[-1]["loss"])
