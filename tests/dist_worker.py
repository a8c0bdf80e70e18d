"""One worker of the distributed tests (tests/test_distributed.py), started by the launcher
(``python -m gluoncnn.train launch ... python tests/dist_worker.py OUT MODEL [EPOCHS [KVSTORE]]``).

It trains a zoo model with ``fit(..., kvstore='dist_sync')`` (or KVSTORE) on its shard of the
shipped Fashion-MNIST sample, with a seed of its own (the workers must agree all the same), writes
``OUT/started-<rank>`` after its first optimizer step and saves every parameter (running
statistics included) to ``OUT/worker-<rank>.npz``.
"""
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import mxnet as mx
import numpy as np

from gluoncnn.data import load_data
from gluoncnn.models import get_model
from gluoncnn.train import fit

out, model = sys.argv[1], sys.argv[2]
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
kv = mx.kv.create(sys.argv[4] if len(sys.argv) > 4 else "dist_sync")
options = {} if model.startswith("lenet") else {"small_input": True}
net = get_model(model, classes=10, in_channels=1, **options)
train_iter, test_iter = load_data("fashion-mnist", 16, sample=True, train_size=128, test_size=32)


marker = os.path.join(out, f"started-{kv.rank}")


def mark_started(_net):
    if not os.path.exists(marker):
        open(marker, "w").close()


history = fit(net, train_iter, test_iter, epochs=epochs, ctx=mx.cpu(), lr=0.05, kvstore=kv,
              seed=os.getpid(), progress=False, plot=False, max_batches=2, on_step=mark_started)
np.savez(os.path.join(out, f"worker-{kv.rank}.npz"),
         **{name: p.data().asnumpy() for name, p in net.collect_params().items()})
print(f"worker {kv.rank} saved", flush=True)
