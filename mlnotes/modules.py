r"""Linear layers, dropout and batch normalisation as pure functions.

The point of this module is the difference between a *module* (``torch.nn.Dropout``,
``torch.nn.BatchNorm1d``), which carries parameters, buffers and a train/eval flag,
and a *functional* (``torch.nn.functional.dropout``), which only sees its arguments.
Here every piece of state is an explicit argument or return value, so nothing is
hidden: the running statistics of batch normalisation go in and come out again.

Shapes: a batch is ``(N, C)`` (``N`` samples, ``C`` features); per-feature
parameters and statistics are ``(C,)``.  PyTorch's conventions are followed:
``momentum`` is the weight of the *new* batch statistic, the batch is normalised
with the biased variance, and the running variance is updated with the unbiased one.

Explained in the post ``posts/nn-module-vs-functional``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "linear",
    "dropout",
    "ema_update",
    "ema_closed_form",
    "batch_norm_train",
    "batch_norm_eval",
]


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    r"""Affine map in PyTorch's layout: weight is ``(out, in)``.

    .. math:: y = x W^\top + b

    >>> linear(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([0.5, 0.0]))
    array([[1.5, 3. ]])
    """
    y = np.asarray(x) @ np.asarray(weight).T                                   # (N, out)
    return y if bias is None else y + bias


def dropout(x: np.ndarray, p: float, training: bool, rng: np.random.Generator) -> np.ndarray:
    r"""Inverted dropout: zero each entry with probability :math:`p`, scale the rest.

    .. math:: y_i = \frac{m_i\,x_i}{1-p},\qquad m_i\sim\mathrm{Bernoulli}(1-p),

    so that :math:`\mathbb E[y_i]=x_i`.  With ``training=False`` it is the identity
    (no scaling is needed at test time, which is the point of the *inverted* form).

    >>> x = np.ones(8)
    >>> y = dropout(x, 0.5, True, np.random.default_rng(0))
    >>> sorted(set(y.tolist()))                    # kept entries are doubled
    [0.0, 2.0]
    >>> dropout(x, 0.5, False, np.random.default_rng(0)) is x
    True
    """
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return np.zeros_like(x)
    keep = rng.random(np.shape(x)) >= p                                       # same shape as x
    return np.where(keep, x / (1.0 - p), 0.0)


def ema_update(running: np.ndarray, batch_stat: np.ndarray, momentum: float) -> np.ndarray:
    r"""One step of an exponential moving average, PyTorch's ``momentum`` convention.

    .. math:: r_t = (1-m)\,r_{t-1} + m\,s_t

    :math:`m` weighs the *new* statistic (Keras' ``momentum`` is :math:`1-m`).
    ``momentum=1/t`` at step ``t`` gives the plain cumulative average.

    >>> ema_update(np.array([0.0]), np.array([3.0]), 0.1)
    array([0.3])
    """
    return (1.0 - momentum) * np.asarray(running) + momentum * np.asarray(batch_stat)


def ema_closed_form(r0: float, target: float, momentum: float, t: np.ndarray) -> np.ndarray:
    r"""The moving average after ``t`` steps when every batch statistic equals ``target``.

    .. math:: r_t - \mu = (1-m)^t\,(r_0-\mu)

    >>> ema_closed_form(0.0, 3.0, 0.1, np.array([0, 1, 2]))
    array([0.  , 0.3 , 0.57])
    """
    return target + (1.0 - momentum) ** np.asarray(t) * (r0 - target)


def batch_norm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                     running_mean: np.ndarray, running_var: np.ndarray,
                     momentum: float = 0.1, eps: float = 1e-5):
    r"""Batch normalisation in training mode; returns ``(y, new_running_mean, new_running_var)``.

    With batch mean :math:`\mu_B=\frac1N\sum_i x_i` and *biased* variance
    :math:`\sigma_B^2=\frac1N\sum_i(x_i-\mu_B)^2`,

    .. math:: y_i = \gamma\,\frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\epsilon}} + \beta,

    and the running statistics move towards the batch ones, the variance with
    Bessel's correction :math:`\frac{N}{N-1}\sigma_B^2`:

    .. math:: \hat\mu \leftarrow (1-m)\hat\mu + m\,\mu_B,\qquad
              \hat\sigma^2 \leftarrow (1-m)\hat\sigma^2 + m\,\tfrac{N}{N-1}\sigma_B^2

    >>> x = np.array([[1.0], [2.0], [3.0], [6.0]])
    >>> y, rm, rv = batch_norm_train(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1))
    >>> rm, rv.round(5)                            # 0.1 * 3;  0.9 + 0.1 * 14/3
    (array([0.3]), array([1.36667]))
    >>> y[:, 0].round(4)
    array([-1.069 , -0.5345,  0.    ,  1.6036])
    """
    x = np.asarray(x, dtype=float)                                            # (N, C)
    n = x.shape[0]
    mean = x.mean(axis=0)                                                     # (C,)
    var = x.var(axis=0)                                                       # (C,) biased, 1/N
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta                        # (N, C)
    new_mean = ema_update(running_mean, mean, momentum)
    new_var = ema_update(running_var, var * n / (n - 1), momentum)            # unbiased, 1/(N-1)
    return y, new_mean, new_var


def batch_norm_eval(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    running_mean: np.ndarray, running_var: np.ndarray,
                    eps: float = 1e-5) -> np.ndarray:
    r"""Batch normalisation in evaluation mode: the running statistics replace the batch ones.

    .. math:: y_i = \gamma\,\frac{x_i-\hat\mu}{\sqrt{\hat\sigma^2+\epsilon}} + \beta

    Each sample is transformed on its own, so the output no longer depends on the
    rest of the batch.

    >>> batch_norm_eval(np.array([[4.0]]), np.ones(1), np.zeros(1), np.array([2.0]),
    ...                 np.array([4.0]), eps=0.0)
    array([[1.]])
    """
    x = np.asarray(x, dtype=float)                                            # (N, C)
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
