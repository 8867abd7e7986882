r"""Adam with L2 regularisation and AdamW with decoupled weight decay.

Both keep, for every parameter, exponential moving averages of the gradient and of
its square,

.. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad
          v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

correct their bias towards the zero initialisation,
:math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat v_t = v_t/(1-\beta_2^t)`, and step
by :math:`\eta\,\hat m_t/(\sqrt{\hat v_t}+\epsilon)`.  They differ only in where the
decay :math:`\lambda` enters: :func:`adam_step` adds :math:`\lambda\theta` to the
gradient (``torch.optim.Adam(weight_decay=λ)``), :func:`adamw_step` shrinks the
parameter directly by :math:`\eta\lambda\theta` (``torch.optim.AdamW``).
:func:`preconditioned_step` and :func:`matching_l2` illustrate Loshchilov & Hutter's
Proposition 2: with a preconditioner that is not a multiple of the identity no single
L2 coefficient reproduces decoupled decay.

Arrays: parameters, gradients and both moments share one shape; ``t`` counts
steps from 1.

Explained in the post ``posts/adam-vs-adamw``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "adam_moments",
    "adam_step",
    "adamw_step",
    "run",
    "effective_decay_rate",
    "preconditioned_step",
    "matching_l2",
]


def adam_moments(m: np.ndarray, v: np.ndarray, grad: np.ndarray, t: int,
                 beta1: float = 0.9, beta2: float = 0.999):
    r"""Update both moments and return ``(m, v, m_hat, v_hat)``.

    .. math:: \hat m_t = \frac{m_t}{1-\beta_1^t},\qquad \hat v_t = \frac{v_t}{1-\beta_2^t}

    With a constant gradient the corrected moments are exact from the first step:

    >>> m, v, m_hat, v_hat = adam_moments(np.zeros(1), np.zeros(1), np.array([2.0]), t=1)
    >>> m, m_hat, v_hat
    (array([0.2]), array([2.]), array([4.]))
    """
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad ** 2
    return m, v, m / (1.0 - beta1 ** t), v / (1.0 - beta2 ** t)


def adam_step(theta: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              weight_decay: float = 0.0):
    r"""One Adam step with L2 regularisation; returns ``(theta, m, v)``.

    .. math:: g_t \leftarrow g_t + \lambda\theta_{t-1},\qquad
              \theta_t = \theta_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}

    The decay term goes through the moments and is divided by :math:`\sqrt{\hat v_t}`.
    At ``t = 1`` the step is :math:`\eta\,\mathrm{sign}(g)` whatever :math:`\lambda` is:

    >>> z = np.zeros(1)
    >>> adam_step(np.ones(1), np.array([0.5]), z, z, 1, lr=0.1, weight_decay=0.1)[0].round(6)
    array([0.9])
    """
    grad = grad + weight_decay * theta
    m, v, m_hat, v_hat = adam_moments(m, v, grad, t, beta1, beta2)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adamw_step(theta: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
               lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
               weight_decay: float = 1e-2):
    r"""One AdamW step (PyTorch's form, decay scaled by the learning rate); returns ``(theta, m, v)``.

    .. math:: \theta \leftarrow (1-\eta\lambda)\,\theta_{t-1},\qquad
              \theta_t = \theta - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}

    The moments only ever see the loss gradient.

    >>> z = np.zeros(1)
    >>> adamw_step(np.ones(1), np.array([0.5]), z, z, 1, lr=0.1, weight_decay=0.1)[0].round(6)
    array([0.89])
    """
    theta = theta * (1.0 - lr * weight_decay)
    m, v, m_hat, v_hat = adam_moments(m, v, grad, t, beta1, beta2)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def run(step, theta0: np.ndarray, grad_fn, steps: int, **hyper) -> np.ndarray:
    """Iterate ``step`` (:func:`adam_step` or :func:`adamw_step`) and return all iterates.

    ``grad_fn(theta, t)`` gives the loss gradient at step ``t``; the result has shape
    ``(steps + 1,) + theta0.shape``.

    >>> path = run(adamw_step, np.ones(1), lambda th, t: 0 * th, 3, lr=0.1, weight_decay=0.1)
    >>> path[:, 0].round(4)          # no loss gradient: pure decay by (1 - 0.01) per step
    array([1.    , 0.99  , 0.9801, 0.9703])
    """
    theta = np.asarray(theta0, dtype=float)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    path = [theta]
    for t in range(1, steps + 1):
        theta, m, v = step(theta, grad_fn(theta, t), m, v, t, **hyper)
        path.append(theta)
    return np.array(path)


def effective_decay_rate(sigma: np.ndarray, lr: float, weight_decay: float,
                         theta: float = 1.0, decoupled: bool = False) -> np.ndarray:
    r"""Approximate fractional shrinkage of :math:`\theta` per step under gradient noise :math:`\sigma`.

    ``theta`` is the current parameter value.

    For AdamW it is :math:`\eta\lambda`.  For Adam + L2 the decay :math:`\lambda\theta`
    is divided by :math:`\sqrt{\hat v}\approx\sqrt{\sigma^2+\lambda^2\theta^2}`:

    .. math:: \frac{\eta\lambda}{\sqrt{\sigma^2+\lambda^2\theta^2}}

    >>> (effective_decay_rate(np.array([0.01, 1.0]), 1e-3, 0.1) * 1e4).round(3)   # in units of 1e-4
    array([9.95 , 0.995])
    >>> effective_decay_rate(np.array([0.01, 1.0]), 1e-3, 0.1, decoupled=True)
    array([0.0001, 0.0001])
    """
    sigma = np.asarray(sigma, dtype=float)
    if decoupled:
        return np.full_like(sigma, lr * weight_decay)
    return lr * weight_decay / np.sqrt(sigma ** 2 + (weight_decay * theta) ** 2)


def preconditioned_step(theta: np.ndarray, grad: np.ndarray, precond: np.ndarray, lr: float,
                        weight_decay: float = 0.0, l2: float = 0.0) -> np.ndarray:
    r"""One step of a method with a fixed diagonal preconditioner :math:`M`, with decay and/or L2.

    .. math:: \theta_t = (1-\eta\lambda)\,\theta_{t-1} - \eta\,M\bigl(g_t + \lambda'\theta_{t-1}\bigr)

    ``weight_decay`` is the decoupled :math:`\lambda` (PyTorch's convention: the shrink per
    step is :math:`\eta\lambda`), ``l2`` the coefficient :math:`\lambda'` of a term
    :math:`\tfrac{\lambda'}{2}\lVert\theta\rVert^2` added to the loss, whose gradient goes
    through :math:`M`.  ``precond`` is the diagonal of :math:`M` (an array shaped like ``theta``,
    or a scalar :math:`k` for :math:`M=kI`).

    >>> th = np.ones(2)
    >>> preconditioned_step(th, np.zeros(2), np.array([1.0, 4.0]), 0.1, weight_decay=0.1)
    array([0.99, 0.99])
    >>> preconditioned_step(th, np.zeros(2), np.array([1.0, 4.0]), 0.1, l2=0.1)
    array([0.99, 0.96])
    """
    return (1.0 - lr * weight_decay) * theta - lr * precond * (grad + l2 * theta)


def matching_l2(precond: np.ndarray, weight_decay: float) -> np.ndarray:
    r"""The L2 coefficient each coordinate needs to match decoupled decay: :math:`\lambda'_i=\lambda/m_i`.

    From :math:`\eta\lambda\,\theta_i = \eta\lambda' m_i\,\theta_i` for every :math:`\theta_i`.
    One :math:`\lambda'` serves all coordinates only when all :math:`m_i` are equal, i.e.
    :math:`M=kI` (Proposition 2 of Loshchilov & Hutter); the learning rate cancels.

    >>> matching_l2(np.array([2.0, 2.0]), 0.1)
    array([0.05, 0.05])
    >>> matching_l2(np.array([1.0, 4.0]), 0.1)
    array([0.1  , 0.025])
    """
    return weight_decay / np.asarray(precond, dtype=float)
