"""Distributed data-parallel training over libftorch's c10d process group.

The same process group the Fortran API uses (``torch_distributed_init``), so Python and
Fortran ranks can be mixed in one job.  Rendezvous follows torchrun's convention::

    import pyftorch.distributed as dist
    dist.init()                                 # RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    model = pyftorch.Model.load("mlp.pt", requires_grad=True, training=True)
    model.distribute()                          # rank 0's weights everywhere; grads averaged
    ...                                         # forward, loss, backward, step: unchanged
    dist.finalize()

Collectives (:func:`all_reduce`, :func:`broadcast`, :func:`barrier`) must be called by
every rank in the same order.  Failures raise :class:`~pyftorch.errors.DistributedError`
(a rank stopped, a timeout), :class:`~pyftorch.errors.ShapeError` (ranks passed different
shapes) or :class:`~pyftorch.errors.DTypeError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from ctypes import c_int, c_void_p
from pathlib import Path
from typing import TYPE_CHECKING

from pyftorch import _lib
from pyftorch.checkpoint import _handles
from pyftorch.core import Tensor, parse_device

if TYPE_CHECKING:  # pragma: no cover
    from pyftorch.model import Model
    from pyftorch.optim import LRScheduler, Optimizer

_L = _lib.load()

#: Reductions of :func:`all_reduce` (``enum ft_reduce_op`` of ftorch.h).
FT_REDUCE_SUM, FT_REDUCE_AVG, FT_REDUCE_MAX, FT_REDUCE_MIN = 0, 1, 2, 3
SUM, AVG, MAX, MIN = FT_REDUCE_SUM, FT_REDUCE_AVG, FT_REDUCE_MAX, FT_REDUCE_MIN
_OPS = {"sum": SUM, "avg": AVG, "mean": AVG, "max": MAX, "min": MIN}


def is_available() -> bool:
    """True if libftorch was built with distributed support (gloo headers found at build time)."""
    return bool(_L.ft_distributed_available())


def init(
    rank: int | None = None,
    world_size: int | None = None,
    master_addr: str | None = None,
    master_port: int | None = None,
    timeout: float = 300.0,
    device: str = "cpu",
) -> None:
    """Join the process group (collective).  Arguments left as ``None`` come from the
    environment: RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT, as torchrun
    sets them.  ``timeout`` (seconds) bounds the rendezvous and every later collective.
    ``device="cuda"`` adds NCCL for CUDA tensors (builds with NCCL only; each rank uses GPU
    LOCAL_RANK, else its rank, modulo the number of GPUs)."""
    device_type, _ = parse_device(device)
    _L.ft_distributed_init(
        -1 if rank is None else int(rank),
        0 if world_size is None else int(world_size),
        None if master_addr is None else master_addr.encode(),
        -1 if master_port is None else int(master_port),
        device_type,
        float(timeout),
    )


def is_initialized() -> bool:
    """True between :func:`init` and :func:`finalize`."""
    flag = c_int(0)
    _L.ft_distributed_is_initialized(flag)
    return bool(flag.value)


def rank() -> int:
    """This process's rank (DistributedError before :func:`init`)."""
    r = c_int(-1)
    _L.ft_distributed_rank(r)
    return r.value


def world_size() -> int:
    """The number of ranks (DistributedError before :func:`init`)."""
    n = c_int(0)
    _L.ft_distributed_world_size(n)
    return n.value


def barrier() -> None:
    """Return when every rank has entered the barrier (collective)."""
    _L.ft_distributed_barrier()


def finalize() -> None:
    """Leave the process group (not collective)."""
    _L.ft_distributed_finalize()


def all_reduce(tensor: Tensor, op: str | int = "sum") -> Tensor:
    """Reduce ``tensor`` in place across ranks (``"sum"``, ``"avg"``, ``"max"``, ``"min"``);
    a tensor viewing a NumPy array updates the array.  Returns ``tensor``."""
    code = _OPS.get(op.lower()) if isinstance(op, str) else op
    if code is None:
        raise ValueError(f"unknown reduction {op!r}; use one of {sorted(_OPS)}")
    _L.ft_distributed_all_reduce(tensor._get(), int(code))
    return tensor


def broadcast(tensor: Tensor, root: int = 0) -> Tensor:
    """Overwrite ``tensor`` on every rank with rank ``root``'s values (collective)."""
    _L.ft_distributed_broadcast(tensor._get(), int(root))
    return tensor


def average_gradients(parameters: Sequence[Tensor], bucket_cap_mb: float = 25.0) -> None:
    """Replace each parameter's gradient by its mean across ranks, one all-reduce per bucket."""
    arr = (c_void_p * len(parameters))(*[p._get() for p in parameters])
    _L.ft_distributed_average_gradients(arr, len(parameters), float(bucket_cap_mb))


def distribute(model: Model, bucket_cap_mb: float = 0.0) -> Model:
    """Make ``model`` data-parallel like DistributedDataParallel (see :meth:`Model.distribute`)."""
    _L.ft_model_distribute(model._get(), float(bucket_cap_mb))
    return model


def save_checkpoint(
    path: str | Path,
    model: Model | None = None,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
) -> None:
    """Rank 0 writes the checkpoint; the other ranks wait and share its status (collective)."""
    _L.ft_distributed_checkpoint_save(str(path).encode(), *_handles(model, optimizer, scheduler))


def load_checkpoint(
    path: str | Path,
    model: Model | None = None,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
) -> None:
    """Every rank reads the checkpoint, then rank 0's state is broadcast (collective)."""
    _L.ft_distributed_checkpoint_load(str(path).encode(), *_handles(model, optimizer, scheduler))
