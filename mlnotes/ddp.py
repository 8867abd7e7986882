r"""Data-parallel training in NumPy: gradient averaging and DDP-style bucketed all-reduce.

Small models of what PyTorch's ``DistributedDataParallel`` does:

* why averaging the :math:`N` local gradients gives the full-batch gradient (linear
  least squares, weights ``w`` of shape ``(d,)``, inputs ``x`` of shape ``(B, d)``),
  and why gradient accumulation over :math:`K` micro-batches divides the loss by :math:`K`;
* a timeline of backward computation against bucket all-reduces, with the α–β time of
  a ring all-reduce from :mod:`mlnotes.allreduce`;
* BatchNorm statistics across ranks: the global mean and variance that ``SyncBatchNorm``
  computes from per-rank ones, and the running means that DDP's buffer broadcast leaves.

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
    "accumulated_grad",
    "combine_batch_stats",
    "bn_running_means",
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


def accumulated_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    r"""Gradient accumulation: :math:`K` micro-batches, each loss divided by :math:`K`, gradients summed.

    .. math:: g = \sum_{j=1}^{K}\nabla\frac{L_j}{K}

    The sum is what successive ``backward()`` calls leave in ``.grad``.  It equals
    :func:`mse_grad` on the whole batch when every micro-batch has :math:`B/K` rows.

    >>> x, y = np.array([[1.0], [2.0], [3.0], [4.0]]), np.zeros(4)
    >>> accumulated_grad(np.array([1.0]), x, y, 2), mse_grad(np.array([1.0]), x, y)
    (array([15.]), array([15.]))
    """
    grad = np.zeros(np.shape(w))
    for xs, ys in zip(np.array_split(x, k), np.array_split(y, k), strict=True):
        grad += mse_grad(w, xs, ys) / k         # backward() of loss / K adds into .grad
    return grad


def combine_batch_stats(means: np.ndarray, variances: np.ndarray,
                        counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and (biased) variance of the union of :math:`N` batches from their own statistics.

    ``means[r]``, ``variances[r]`` (per channel) and ``counts[r]`` describe rank :math:`r`'s
    batch; with :math:`n=\sum_r n_r`,

    .. math:: \mu = \frac1n\sum_r n_r\mu_r,\qquad
              \sigma^2 = \frac1n\sum_r n_r\bigl(\sigma_r^2 + (\mu_r-\mu)^2\bigr).

    These are the statistics ``SyncBatchNorm`` normalises with during training.

    >>> combine_batch_stats(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]), np.array([2, 2]))
    (array([2.]), array([1.]))
    """
    means, variances = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    w = np.asarray(counts, dtype=float).reshape((-1,) + (1,) * (means.ndim - 1))   # (N, 1, ...)
    n = w.sum()
    mean = (w * means).sum(axis=0) / n
    var = (w * (variances + (means - mean) ** 2)).sum(axis=0) / n
    return mean, var


def bn_running_means(batch_means: np.ndarray, momentum: float = 0.1,
                     mode: str = "broadcast") -> np.ndarray:
    r"""BatchNorm's running mean on each rank after each step, starting from zero.

    ``batch_means[t, r]`` is the mean of rank :math:`r`'s batch at step :math:`t` (all
    batches of equal size).  Each step updates :math:`m \leftarrow (1-\alpha)\,m + \alpha\,\mu`:

    * ``"broadcast"`` (DDP's default): at the start of every forward each rank first copies
      rank 0's buffers, then updates them with its own :math:`\mu_t^{(r)}`;
    * ``"local"`` (``forward_sync_buffers=False``): every rank keeps its own average;
    * ``"sync"`` (``SyncBatchNorm``): every rank updates with the mean of the global batch.

    >>> mu = np.array([[1.0, 3.0]] * 2)                 # 2 steps, rank 0 sees 1, rank 1 sees 3
    >>> bn_running_means(mu, 0.1, "broadcast")[-1], bn_running_means(mu, 0.1, "sync")[-1]
    (array([0.19, 0.39]), array([0.38, 0.38]))
    """
    mu = np.asarray(batch_means, dtype=float)          # (T, N, ...)
    m = np.zeros(mu.shape[1:])                          # (N, ...)
    out = np.empty_like(mu)
    for t in range(len(mu)):
        if mode == "broadcast":
            m = np.broadcast_to(m[0], m.shape)          # rank 0's buffer, copied to every rank
        step = mu[t].mean(axis=0, keepdims=True) if mode == "sync" else mu[t]
        m = (1 - momentum) * m + momentum * step
        out[t] = m
    return out
