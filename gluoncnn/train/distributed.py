"""Several processes or machines: MXNet's ps-lite KVStore, the data shard of each worker, the
``DMLC_*`` environment and the launcher.

Run the same ``fit(..., kvstore='dist_sync')`` script in every process with the ``DMLC_*``
environment variables set (see :func:`dist_env`); each worker trains on its ``1/num_workers``
shard of the training set and only worker 0 writes files.
"""
from collections import namedtuple

import mxnet as mx
from mxnet import gluon, nd

from ..errors import OptionError
from ..launcher import dist_env  # noqa: F401  (gluoncnn.train.dist_env: a process's environment)
from ..launcher import launch as run_job


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
    if distributed and "async" in (kvstore.type if isinstance(kvstore, mx.kvstore.KVStore)
                                   else str(kvstore)):
        if clip_gradient is not None:
            raise OptionError("clip_gradient does not work with kvstore='dist_async' (updates "
                              "happen on the servers); use 'dist_sync'")
        update = True
    return update


def init_dist_kvstore(trainer, step_size):
    """Create ``trainer``'s distributed kvstore and give every worker worker 0's parameters
    before the first gradient is pushed (what ``Trainer`` does lazily at its first step, done
    here so that it cannot fail and cannot race).

    - The values pushed are copies of the parameters. MXNet's CPU build (oneDNN) keeps a
      convolution weight in oneDNN's blocked layout after an inference-mode forward (fit's
      output check makes one), and the dist kvstore cannot send that layout: the push dies
      inside MXNet's engine without a word (``PushDefault`` -> ``NDArray::data()`` -> "Check
      failed: !IsMKLDNNData()"), the key never reaches the server, and the first pull of it
      aborts the server with "init N first". A copy is always in the plain layout.
    - Trainer's lazy broadcast would come at the first step, where with
      ``update_on_kvstore=False`` one worker's pull of the initial weights can race with the
      other workers' gradients on the same key (workers then end with different weights).
    - ``nd.waitall()`` surfaces any failed push here, with MXNet's message, instead of as a
      server abort later; the barrier starts every worker's first step together.

    ``step_size`` is what ``trainer.step`` will be given (examples per update): when the
    servers update (``dist_async``) they get the optimizer now, normalised by it once for all.
    """
    trainer._optimizer.rescale_grad = trainer._scale / step_size
    trainer._init_kvstore()
    kv = trainer._kvstore
    for param in trainer._params:  # every worker has them in the same (sorted-name) order
        if param._deferred_init:
            raise RuntimeError(f"parameter {param.name} has no shape yet; run one forward pass "
                               f"before distributed training")
        idx = trainer._param2idx[param.name]
        arrays = param.list_data()
        if param._stype != "default":
            kv.init(idx, arrays[0].copy())
        else:
            kv.broadcast(idx, arrays[0].copy(), arrays)
    trainer._params_to_init = []
    nd.waitall()
    kv._barrier()


def average_over_workers(trainer):
    """Average the state gradients do not train (``grad_req='null'``: BatchNorm's running mean
    and variance) over every device of every worker, so that all workers end an epoch with the
    same parameters; each worker's statistics otherwise describe only its own shard.

    Uses the parameters' own kvstore keys (``dist_sync`` sums what the workers push). With
    ``update_on_kvstore`` (``dist_async``) the servers would treat the values as gradients, so
    nothing is averaged there.
    """
    kv = trainer._kvstore
    if kv is None or trainer._update_on_kvstore:
        return
    for param in trainer._params:
        if param.grad_req != "null":
            continue
        idx = trainer._param2idx[param.name]
        local = [a.copy() for a in param.list_data()]
        kv.pushpull(idx, local, out=local)
        param.set_data(local[0] / (kv.num_workers * len(local)))


def launch(argv):
    """Start a distributed job and watch it (:mod:`gluoncnn.launcher`): ``argv`` are the
    launcher's arguments, MXNet's ``tools/launch.py`` ones. Returns the exit status; a process
    that dies stops the others, with a message naming it. From a shell::

        python -m gluoncnn.train launch -n 2 -s 2 -H hosts --launcher ssh \\
            gluoncnn train --model resnet18 --dataset fashion-mnist --kvstore dist_sync
    """
    return run_job(argv)
