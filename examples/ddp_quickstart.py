"""PyTorch DDP quick start: a small regression model trained data-parallel on CPU (Gloo).

Launch with one process per device, e.g. two CPU processes::

    python -m torch.distributed.run --nproc_per_node 2 examples/ddp_quickstart.py --out /tmp/ddp

With ``--accum K`` every rank splits its batch into K micro-batches and accumulates their
gradients (loss divided by K, ``no_sync()`` for all but the last), which gives the same
update as ``--accum 1`` with less memory per forward.

Each rank writes its final ``state_dict`` to ``<out>/rank<r>.pt``; rank 0 also writes a
checkpoint ``<out>/checkpoint.pt``.  Explained in the post ``posts/pytorch-ddp``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def make_dataset(n: int = 64, d: int = 8, seed: int = 0) -> TensorDataset:
    """A fixed synthetic regression problem y = tanh(x w) + noise; x (n, d), y (n, 1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, 1, generator=g)
    y = torch.tanh(x @ w) + 0.1 * torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)


def make_model(d: int = 8, hidden: int = 16, seed: int = 0) -> nn.Module:
    """The same initial weights on every rank (DDP would broadcast rank 0's anyway)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def train(out: Path, epochs: int, global_batch: int, lr: float, seed: int, accum: int = 1) -> None:
    dist.init_process_group(backend="gloo")          # reads RANK, WORLD_SIZE, MASTER_ADDR/PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    assert global_batch % world == 0, "the global batch must split evenly over the ranks"
    assert global_batch // world % accum == 0, "the local batch must split evenly into micro-batches"

    dataset = make_dataset(seed=seed)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    loader = DataLoader(dataset, batch_size=global_batch // world, sampler=sampler)

    model = DDP(make_model(seed=seed))               # CPU model: no device_ids
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.MSELoss()

    for epoch in range(epochs):
        sampler.set_epoch(epoch)                     # a different shuffle every epoch
        for x, y in loader:
            opt.zero_grad()
            for k, (xk, yk) in enumerate(zip(x.chunk(accum), y.chunk(accum), strict=True)):
                last = k == accum - 1                # only the last micro-batch synchronises
                with contextlib.nullcontext() if last else model.no_sync():
                    loss = loss_fn(model(xk), yk) / accum    # mean over the micro-batch, / K
                    loss.backward()                  # adds into .grad; on the last one DDP averages
            opt.step()

    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.module.state_dict(), out / f"rank{rank}.pt")
    if rank == 0:                                    # one copy is enough: the replicas are identical
        torch.save({"model": model.module.state_dict(), "optimizer": opt.state_dict(),
                    "epoch": epochs}, out / "checkpoint.pt")
    dist.barrier()                                   # nobody reads or exits before it is written
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the state dicts")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accum", type=int, default=1, help="micro-batches per step (gradient accumulation)")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    train(args.out, args.epochs, args.global_batch, args.lr, args.seed, args.accum)


if __name__ == "__main__":
    main()
