r"""Data-parallel training in NumPy: gradient averaging and DDP-style bucketed all-reduce.

Two small models of what PyTorch's ``DistributedDataParallel`` does:

* why averaging the :math:`N` local gradients gives the full-batch gradient (linear
  least squares, weights ``w`` of shape ``(d,)``, inputs ``x`` of shape ``(B, d)``);
* a timeline of backward computation against bucket all-reduces, with the α–β time of
  a ring all-reduce from :mod:`mlnotes.allreduce`.

Parameters are indexed in the order of ``model.parameters()``; backward produces their
gradients in the reverse order, and buckets are filled in that reverse order.

Explained in the post ``posts/pytorch-ddp``.
"""

from __future__ import annotations

import numpy as np

from mlnotes.allreduce import ring_time

__all__ = [
    "mse_grad",
    "data_parallel_grad",
    "assign_buckets",
    "backward_timeline",
]


def mse_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Gradient of the mean squared error of a linear model on one batch.

    .. math:: L(w) = \frac1B\sum_{b=1}^{B}(x_b^\top w - y_b)^2,\qquad
              \nabla L = \frac2B\,X^\top(Xw-y)

    >>> mse_grad(np.array([1.0]), np.array([[1.0], [2.0]]), np.array([0.0, 0.0]))
    array([5.])
    """
    r = x @ w - y                          # (B,)
    return 2.0 / len(y) * x.T @ r          # (d,)


def data_parallel_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    r"""What DDP computes: split the global batch into :math:`N` shards, average the local gradients.

    .. math:: \bar g = \frac1N\sum_{k=1}^{N}\nabla L_k(w)

    Equals :func:`mse_grad` on the whole batch when every shard has :math:`B/N` rows;
    with unequal shards the small shards get too much weight.

    >>> x, y = np.array([[1.0], [2.0], [3.0], [4.0]]), np.zeros(4)
    >>> data_parallel_grad(np.array([1.0]), x, y, 2), mse_grad(np.array([1.0]), x, y)
    (array([15.]), array([15.]))
    """
    shards = zip(np.array_split(x, n), np.array_split(y, n), strict=True)
    return np.mean([mse_grad(w, xs, ys) for xs, ys in shards], axis=0)


def assign_buckets(sizes: np.ndarray, cap: float) -> list[list[int]]:
    r"""Group parameters into buckets in reverse order, closing a bucket once it holds ``cap`` bytes.

    ``sizes[i]`` is the gradient size of parameter ``i`` (order of ``model.parameters()``).
    A parameter larger than ``cap`` gets a bucket of its own; ``cap = 0`` gives one bucket
    per parameter.

    >>> assign_buckets(np.array([10, 10, 10, 10]), 20)
    [[3, 2], [1, 0]]
    """
    buckets, current, filled = [], [], 0.0
    for i in reversed(range(len(sizes))):
        current.append(i)
        filled += sizes[i]
        if filled >= cap:
            buckets.append(current)
            current, filled = [], 0.0
    if current:
        buckets.append(current)
    return buckets


def backward_timeline(compute: np.ndarray, sizes: np.ndarray, cap: float, n: int,
                      alpha: float, beta: float) -> dict[str, np.ndarray]:
    r"""When each bucket's all-reduce starts and ends if communication overlaps backward.

    Backward runs parameters from last to first; parameter :math:`i` takes ``compute[i]``
    and its gradient is ready at :math:`r_i=\sum_{j\ge i}c_j`.  Bucket :math:`k` is ready
    at :math:`R_k=\max_{i\in k} r_i`; all-reduces run one at a time, in bucket order:

    .. math:: s_k = \max(R_k,\ e_{k-1}),\qquad e_k = s_k + T_\text{ring}(S_k)

    Returns arrays ``ready``, ``start``, ``end`` (one entry per bucket), the scalars
    ``total`` (:math:`e_\text{last}`) and ``serial`` (backward, then every bucket one
    after the other without overlap), and ``buckets``.

    >>> t = backward_timeline(np.full(4, 0.01), np.full(4, 10e6), 20e6, 4, 0.0, 1e-9)
    >>> t["ready"], t["end"], round(float(t["total"]), 3), round(float(t["serial"]), 3)
    (array([0.02, 0.04]), array([0.05, 0.08]), 0.08, 0.1)
    """
    compute = np.asarray(compute, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    grad_ready = np.cumsum(compute[::-1])[::-1]                      # (P,)  r_i
    buckets = assign_buckets(sizes, cap)
    ready = np.array([grad_ready[b].max() for b in buckets])         # (K,)
    comm = np.array([ring_time(sizes[b].sum(), n, alpha, beta) for b in buckets])
    start, end = np.empty_like(ready), np.empty_like(ready)
    prev_end = 0.0
    for k in range(len(buckets)):
        start[k] = max(ready[k], prev_end)
        end[k] = prev_end = start[k] + comm[k]
    return {"ready": ready, "start": start, "end": end, "buckets": buckets,
            "total": end[-1], "serial": compute.sum() + comm.sum()}
