"""PyTorch DDP quick start: a small regression model trained data-parallel on CPU (Gloo).

Launch with one process per device, e.g. two CPU processes::

    python -m torch.distributed.run --nproc_per_node 2 examples/ddp_quickstart.py --out /tmp/ddp

Each rank writes its final ``state_dict`` to ``<out>/rank<r>.pt``; rank 0 also writes a
checkpoint ``<out>/checkpoint.pt``.  Explained in the post ``posts/pytorch-ddp``.
"""

from __future__ import annotations

import argparse
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


def train(out: Path, epochs: int, global_batch: int, lr: float, seed: int) -> None:
    dist.init_process_group(backend="gloo")          # reads RANK, WORLD_SIZE, MASTER_ADDR/PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    assert global_batch % world == 0, "the global batch must split evenly over the ranks"

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
            loss = loss_fn(model(x), y)              # mean over this rank's local batch
            loss.backward()                          # DDP all-reduces and averages gradients here
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
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    train(args.out, args.epochs, args.global_batch, args.lr, args.seed)


if __name__ == "__main__":
    main()
