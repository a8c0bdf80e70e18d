"""Several processes or machines: MXNet's ps-lite KVStore, the data shard of each worker, the
``DMLC_*`` environment and MXNet's own launcher.

Run the same ``fit(..., kvstore='dist_sync')`` script in every process with the ``DMLC_*``
environment variables set (see :func:`dist_env`); each worker trains on its ``1/num_workers``
shard of the training set and only worker 0 writes files.
"""
import os
import sys
from collections import namedtuple

import mxnet as mx
from mxnet import gluon, nd

from ..errors import OptionError


class _StridedBatches:
    """Every ``num_parts``-th batch of ``data_iter`` starting at ``index`` (for iterators that
    are not gluon DataLoaders)."""

    def __init__(self, data_iter, num_parts, index):
        self.data_iter, self.num_parts, self.index = data_iter, num_parts, index

    def __iter__(self):
        for i, batch in enumerate(self.data_iter):
            if i % self.num_parts == self.index:
                yield batch

    def __len__(self):
        n = len(self.data_iter)
        return len(range(self.index, n, self.num_parts))


def shard_loader(data_iter, num_parts, index):
    """The ``index``-th of ``num_parts`` shards of a training iterator.

    A gluon ``DataLoader`` is rebuilt over ``dataset.shard(num_parts, index)`` with the same batch
    size, shuffling, last-batch rule and batchify function; any other iterable keeps every
    ``num_parts``-th batch (give every worker the same seed so they draw the same order).
    """
    if num_parts == 1:
        return data_iter
    if isinstance(data_iter, gluon.data.DataLoader) and hasattr(data_iter, "_batch_sampler"):
        bs = data_iter._batch_sampler
        sampler = getattr(bs, "_sampler", None)
        if hasattr(bs, "_batch_size") and sampler is not None:
            return gluon.data.DataLoader(
                data_iter._dataset.shard(num_parts, index), batch_size=bs._batch_size,
                shuffle=isinstance(sampler, gluon.data.RandomSampler),
                last_batch=getattr(bs, "_last_batch", "keep"),
                batchify_fn=getattr(data_iter, "_batchify_fn", None),
                num_workers=getattr(data_iter, "_num_workers", 0))
    return _StridedBatches(data_iter, num_parts, index)


def dist_env(role, root_port, num_workers, num_servers=1, root_uri="127.0.0.1", base=None):
    """The environment a ps-lite process needs: ``role`` is 'scheduler', 'server' or 'worker'.

    Every process (on every machine) gets the same ``DMLC_PS_ROOT_URI``/``PORT`` (the scheduler's
    address) and counts; then workers run the training script with ``fit(...,
    kvstore='dist_sync')``, servers and the scheduler run ``python -c "import mxnet"``.
    """
    env = dict(os.environ if base is None else base)
    env.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=str(root_uri), DMLC_PS_ROOT_PORT=str(root_port),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers))
    return env

#: How a run is distributed: ``kv`` is what the Trainer gets (a name or a KVStore), ``rank`` this
#: process's worker number, ``num_workers`` how many train.
KVSetup = namedtuple("KVSetup", "kv rank num_workers")


def create_kvstore(kvstore):
    """A :data:`KVSetup` for ``fit(kvstore=...)``: ``'dist...'`` names create MXNet's distributed
    KVStore (ps-lite, from the ``DMLC_*`` environment); local names pass through."""
    kv, rank, num_workers = kvstore, 0, 1
    if isinstance(kvstore, str) and kvstore.startswith("dist"):
        kv = mx.kv.create(kvstore)
    if isinstance(kv, mx.kvstore.KVStore):
        rank, num_workers = kv.rank, kv.num_workers
    elif kvstore not in ("device", "local", None) and not (isinstance(kvstore, str)
                                                           and kvstore.startswith("local")):
        raise OptionError(f"unknown kvstore {kvstore!r}; use 'device', 'local', 'dist_sync', "
                          f"'dist_device_sync' or 'dist_async'")
    return KVSetup(kv, rank, num_workers)


def update_on_kvstore(kvstore, distributed, clip_gradient):
    """The Trainer's ``update_on_kvstore``: False where gradients are clipped or summed over
    workers before the update, True for ``dist_async`` (the servers update), else MXNet's
    choice."""
    update = False if (clip_gradient is not None or distributed) else None
    if distributed and isinstance(kvstore, str) and "async" in kvstore:
        if clip_gradient is not None:
            raise OptionError("clip_gradient does not work with kvstore='dist_async' (updates "
                              "happen on the servers); use 'dist_sync'")
        update = True
    return update


def sync_initial_params(trainer):
    """Put worker 0's parameters on the servers and pull them everywhere *before* the first
    gradient push."""
    # Trainer does this lazily at its first step, and with update_on_kvstore=False a worker's
    # broadcast pull can then race with the other workers' gradients on the same key (seen with
    # MXNet 1.9.1: workers ended different).
    trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    nd.waitall()
    trainer._kvstore._barrier()


def launch(argv):
    """Run MXNet's own launcher, ``mxnet/tools/launch.py`` (the dmlc tracker), with ``argv``.

    The tracker shipped with mxnet 1.9.1 calls ``Thread.isAlive()``, which Python 3.9 removed;
    this puts the old name back and runs the launcher unchanged. From a shell::

        python -m gluoncnn.train launch -n 2 -s 2 -H hosts --launcher ssh \\
            gluoncnn train --model lenet --dataset fashion-mnist --kvstore dist_sync
    """
    import runpy
    import threading
    if not hasattr(threading.Thread, "isAlive"):
        threading.Thread.isAlive = threading.Thread.is_alive
    path = os.path.join(os.path.dirname(mx.__file__), "tools", "launch.py")
    saved = sys.argv
    sys.argv = [path] + list(argv)
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = saved

