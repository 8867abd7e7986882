r"""Gradients through sampling: REINFORCE, reparameterization and Gumbel-Softmax.

Two families of Monte-Carlo estimators of
:math:`\nabla_\theta\,\mathbb E_{z\sim p_\theta}[f(z)]`:

* the score-function (REINFORCE) estimator
  :math:`(f(z)-b)\,\nabla_\theta\log p_\theta(z)`, which needs only :math:`f(z)`;
* the pathwise (reparameterization) estimator
  :math:`\nabla_\theta f(h_\theta(\varepsilon))` with :math:`z=h_\theta(\varepsilon)`,
  which needs :math:`f'` but usually has a far smaller variance.

Both are worked out for the example :math:`f(z)=z^2`,
:math:`z\sim\mathcal N(\mu,\sigma^2)`, where :math:`\nabla_\mu\mathbb E[z^2]=2\mu`.
For categorical variables the module gives the Gumbel-max trick, the
Gumbel-Softmax (Concrete) relaxation and the straight-through estimator.

Every random function takes its noise (:math:`\varepsilon`, :math:`g` or :math:`u`)
as an argument, so it is a pure function that can be read against the formula;
:func:`sample_gumbel` and :func:`estimator_variances` draw the noise.
Categories live on the last axis.

Explained in the post ``posts/gumbel-softmax``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "gumbel_cdf",
    "gumbel_inverse_cdf",
    "sample_gumbel",
    "softmax",
    "one_hot",
    "gumbel_max_sample",
    "gumbel_softmax",
    "straight_through",
    "softmax_vjp",
    "straight_through_grad",
    "categorical_expectation_grad",
    "straight_through_limit_mean",
    "reinforce_grad",
    "pathwise_grad",
    "square_grad_variances",
    "estimator_variances",
]

Array = np.ndarray


# -- Gumbel noise -------------------------------------------------------------


def gumbel_cdf(x: Array) -> Array:
    r"""CDF of the standard Gumbel distribution, :math:`F(x)=\exp(-e^{-x})`.

    >>> round(float(gumbel_cdf(0.0)), 6)   # exp(-1)
    0.367879
    """
    return np.exp(-np.exp(-np.asarray(x, dtype=float)))


def gumbel_inverse_cdf(u: Array) -> Array:
    r"""Map uniform noise :math:`u\in(0,1)` to standard Gumbel noise.

    Inverts :func:`gumbel_cdf`:

    .. math:: u = \exp(-e^{-g}) \iff g = -\log(-\log u)

    >>> round(float(gumbel_inverse_cdf(0.5)), 4)   # the median, -log(log 2)
    0.3665
    >>> bool(gumbel_inverse_cdf(np.exp(-1.0)) == 0)   # u = F(0)
    True
    """
    return -np.log(-np.log(np.asarray(u, dtype=float)))


def sample_gumbel(rng: np.random.Generator, shape) -> Array:
    r"""Draw i.i.d. :math:`\mathrm{Gumbel}(0,1)` noise by inverse-CDF sampling.

    The uniform draws are clipped into the open interval :math:`(0,1)`, so that
    :math:`g` is always finite.

    >>> g = sample_gumbel(np.random.default_rng(0), (100_000,))
    >>> round(float(g.mean()), 2)   # the Euler-Mascheroni constant 0.5772...
    0.58
    """
    tiny = np.finfo(float).tiny
    u = np.clip(rng.random(shape), tiny, 1.0 - np.finfo(float).epsneg)
    return gumbel_inverse_cdf(u)


# -- categorical sampling and its relaxation ----------------------------------


def softmax(x: Array, axis: int = -1) -> Array:
    r"""Softmax :math:`e^{x_i}/\sum_j e^{x_j}` along ``axis``, computed stably.

    >>> softmax(np.log(np.array([1.0, 3.0])))
    array([0.25, 0.75])
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(index: Array, num_classes: int) -> Array:
    r"""One-hot vectors :math:`e_k`, shape ``(*index.shape, num_classes)``.

    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    return (np.asarray(index)[..., None] == np.arange(num_classes)).astype(float)


def gumbel_max_sample(logits: Array, g: Array) -> Array:
    r"""Gumbel-max trick: an exact sample of :math:`\mathrm{Categorical}(\pi)`.

    .. math:: k = \arg\max_i\,(\ell_i + g_i),
              \qquad g_i \sim \mathrm{Gumbel}(0,1)\ \text{i.i.d.}

    with :math:`\pi=\mathrm{softmax}(\ell)`: the logits :math:`\ell` need only
    equal :math:`\log\pi` up to an additive constant.

    >>> logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    >>> g = gumbel_inverse_cdf(np.array([0.9, 0.5, 0.2, 0.4]))
    >>> int(gumbel_max_sample(logits, g))   # logits + g: -0.05 -1.24 -1.68 -0.83
    0
    """
    return np.argmax(np.asarray(logits) + g, axis=-1)     # (...,) from (..., K)


def gumbel_softmax(logits: Array, g: Array, tau: float) -> Array:
    r"""Gumbel-Softmax (Concrete) sample: Gumbel-max with the argmax relaxed.

    .. math:: y = \mathrm{softmax}\bigl((\ell + g)/\tau\bigr), \qquad \tau > 0

    :math:`y` lies on the probability simplex; as :math:`\tau\to0` it tends to
    the one-hot vector of :func:`gumbel_max_sample`, as :math:`\tau\to\infty`
    to the uniform vector :math:`(1/K,\dots,1/K)`.

    >>> logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    >>> g = gumbel_inverse_cdf(np.array([0.9, 0.5, 0.2, 0.4]))
    >>> gumbel_softmax(logits, g, 1.0).round(3)
    array([0.51 , 0.155, 0.1  , 0.235])
    >>> gumbel_softmax(logits, g, 0.1).round(3)
    array([1., 0., 0., 0.])
    """
    return softmax((np.asarray(logits) + g) / tau, axis=-1)   # (..., K)


def straight_through(logits: Array, g: Array,
                     tau: float) -> tuple[Array, Array]:
    r"""Forward pass of straight-through Gumbel-Softmax: ``(hard, soft)``.

    ``hard`` is the one-hot Gumbel-max sample (an exact categorical sample)
    that the forward computation uses; ``soft`` is the Gumbel-Softmax sample
    :math:`y` with the same noise, through which the backward pass
    differentiates (:func:`straight_through_grad`).  In an autodiff framework
    this is written ``hard - stop_gradient(soft) + soft``.

    >>> logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    >>> g = gumbel_inverse_cdf(np.array([0.9, 0.5, 0.2, 0.4]))
    >>> hard, soft = straight_through(logits, g, 1.0)
    >>> hard
    array([1., 0., 0., 0.])
    """
    soft = gumbel_softmax(logits, g, tau)                        # (..., K)
    hard = one_hot(np.argmax(soft, axis=-1), soft.shape[-1])     # (..., K)
    return hard, soft


def softmax_vjp(y: Array, tau: float, v: Array) -> Array:
    r"""Vector-Jacobian product of :math:`y=\mathrm{softmax}(x/\tau)` in :math:`x`.

    From :math:`\partial y_i/\partial x_j = y_i(\delta_{ij}-y_j)/\tau`,

    .. math:: \Bigl(v^\top \frac{\partial y}{\partial x}\Bigr)_j
              = \frac{y_j\,(v_j - v^\top y)}{\tau}

    >>> softmax_vjp(np.array([0.5, 0.5]), 1.0, np.array([1.0, 0.0]))
    array([ 0.25, -0.25])
    """
    v = np.asarray(v, dtype=float)
    return y * (v - np.sum(v * y, axis=-1, keepdims=True)) / tau


def straight_through_grad(logits: Array, g: Array, tau: float,
                          grad_hard: Array) -> Array:
    r"""Backward pass of straight-through Gumbel-Softmax: the logits' gradient.

    ``grad_hard`` is :math:`\partial L/\partial z` at the hard sample
    :math:`z`; the estimator pretends that :math:`\partial z/\partial\ell`
    equals :math:`\partial y/\partial\ell` of the soft sample:

    .. math:: \hat\nabla_\ell
              = \Bigl(\frac{\partial y}{\partial \ell}\Bigr)^{\!\top}
              \frac{\partial L}{\partial z}\Big|_{z=\text{hard}}

    This is biased: its mean is not :math:`\nabla_\ell\,\mathbb E[L(z)]`.

    >>> logits = np.log(np.array([0.5, 0.5]))
    >>> straight_through_grad(logits, np.zeros(2), 1.0, np.array([1.0, 0.0]))
    array([ 0.25, -0.25])
    """
    soft = gumbel_softmax(logits, g, tau)
    return softmax_vjp(soft, tau, grad_hard)


def categorical_expectation_grad(logits: Array, values: Array) -> Array:
    r"""Exact gradient of :math:`\mathbb E[L]=\sum_k\pi_k L_k` in the logits.

    With :math:`\pi=\mathrm{softmax}(\ell)`, so that
    :math:`\partial\pi_k/\partial\ell_j=\pi_k(\delta_{kj}-\pi_j)`,

    .. math:: \frac{\partial}{\partial\ell_j}\sum_k \pi_k L_k
              = \pi_j\Bigl(L_j-\sum_k\pi_k L_k\Bigr)

    where :math:`L_k=L(e_k)` is the loss at the :math:`k`-th one-hot vector:
    the reference against which biased estimators are measured.

    >>> logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    >>> categorical_expectation_grad(logits, np.array([1.0, 4, 9, 16])).round(6)
    array([-0.9, -1.2, -0.3,  2.4])
    """
    pi = softmax(logits, axis=-1)                                # (..., K)
    values = np.asarray(values, dtype=float)
    return pi * (values - np.sum(pi * values, axis=-1, keepdims=True))


def straight_through_limit_mean(logits: Array, vertex_grads: Array) -> Array:
    r"""Limit :math:`\tau\to0` of the mean straight-through gradient (1-D ``logits``).

    ``vertex_grads[k]`` is :math:`\nabla L(e_k)`, the loss gradient at the
    :math:`k`-th one-hot vector (shape ``(K, K)``).  As :math:`\tau\to0` the
    straight-through weights live on near-ties between two classes
    :math:`i,j`, whose density is :math:`\pi_i\pi_j`; the argmax flips in the
    middle of the tie, so half of the weight sees :math:`\nabla L(e_i)` and half
    :math:`\nabla L(e_j)`:

    .. math:: \lim_{\tau\to0}\mathbb E\bigl[\hat\nabla_{\ell_j}\bigr]
              = \sum_{i\ne j}\pi_i\pi_j\,
                \tfrac12\bigl(\nabla L(e_j)+\nabla L(e_i)\bigr)^\top(e_j-e_i) .

    This is the exact gradient :math:`\sum_{i\ne j}\pi_i\pi_j(L_j-L_i)` of
    :func:`categorical_expectation_grad` with every edge integral
    :math:`L_j-L_i=\int\nabla L\cdot dz` replaced by the trapezoid rule,
    which is exact when :math:`L` is at most quadratic along every edge.

    >>> logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    >>> c = np.array([1.0, 2.0, 3.0, 4.0])
    >>> straight_through_limit_mean(logits, 2 * c[:, None] * c).round(6)      # L = (c.z)^2: exact
    array([-0.9, -1.2, -0.3,  2.4])
    >>> straight_through_limit_mean(logits, 3 * c[:, None] ** 2 * c).round(2)  # L = (c.z)^3: biased
    array([-4.11, -5.82, -2.43, 12.36])
    """
    pi = softmax(np.asarray(logits, dtype=float))                # (K,)
    grads = np.asarray(vertex_grads, dtype=float)                # (K, K): row k is grad L(e_k)
    diag = np.diag(grads)
    # trapezoid[j, i] = (grad L(e_j) + grad L(e_i)) . (e_j - e_i)
    trapezoid = (diag[:, None] - grads) + (grads.T - diag[None, :])
    return 0.5 * pi * (trapezoid @ pi)


# -- the Gaussian example: REINFORCE versus pathwise --------------------------


def reinforce_grad(f: Callable[[Array], Array], eps: Array, mu: float,
                   sigma: float, baseline: float = 0.0) -> Array:
    r"""Per-sample REINFORCE estimates of :math:`\nabla_\mu\mathbb E[f(z)]`.

    The samples :math:`z\sim\mathcal N(\mu,\sigma^2)` are drawn as
    :math:`z=\mu+\sigma\varepsilon` from the standard normal noise ``eps``:

    .. math:: \hat g = \bigl(f(z)-b\bigr)\,\nabla_\mu\log\mathcal N(z;\mu,\sigma^2)
              = \bigl(f(z)-b\bigr)\,\frac{z-\mu}{\sigma^2}

    Only values of :math:`f` are used.  A constant baseline :math:`b` keeps
    the estimate unbiased.

    >>> reinforce_grad(np.square, np.array([0.5]), mu=1.0, sigma=1.0)  # 1.5**2*0.5
    array([1.125])
    """
    z = mu + sigma * np.asarray(eps, dtype=float)
    return (f(z) - baseline) * (z - mu) / sigma**2


def pathwise_grad(df: Callable[[Array], Array], eps: Array, mu: float,
                  sigma: float) -> Array:
    r"""Per-sample pathwise estimates of :math:`\nabla_\mu\mathbb E[f(z)]`.

    .. math:: z=\mu+\sigma\varepsilon,\qquad
              \hat g = \frac{\partial f(\mu+\sigma\varepsilon)}{\partial\mu}
              = f'(z)\cdot 1

    ``df`` is the derivative :math:`f'`: the estimator needs :math:`f` to be
    differentiable.

    >>> pathwise_grad(lambda z: 2 * z, np.array([0.5]), mu=1.0, sigma=1.0)  # 2*1.5
    array([3.])
    """
    return df(mu + sigma * np.asarray(eps, dtype=float))


def square_grad_variances(mu: float, sigma: float,
                          baseline: float = 0.0) -> tuple[float, float]:
    r"""Exact per-sample variances ``(reinforce, pathwise)`` for :math:`f(z)=z^2`.

    With :math:`z=\mu+\sigma\varepsilon` and :math:`\nabla_\mu\mathbb E[z^2]=2\mu`,

    .. math:: \operatorname{Var}\bigl[(z^2-b)\,\varepsilon/\sigma\bigr]
              = 8\mu^2 + 6\sigma^2 + \frac{(b-\mu^2-3\sigma^2)^2}{\sigma^2},
              \qquad \operatorname{Var}[2z] = 4\sigma^2 .

    The REINFORCE variance is smallest at :math:`b^*=\mu^2+3\sigma^2`.

    >>> square_grad_variances(1.0, 1.0)                  # no baseline
    (30.0, 4.0)
    >>> square_grad_variances(1.0, 1.0, baseline=2.0)    # b = E[f(z)]
    (18.0, 4.0)
    """
    b_star = mu**2 + 3 * sigma**2
    reinforce = 8 * mu**2 + 6 * sigma**2 + (baseline - b_star) ** 2 / sigma**2
    return float(reinforce), float(4 * sigma**2)


def estimator_variances(mu: float, sigma: float, n_samples: int, n_repeats: int,
                        rng: np.random.Generator,
                        baseline: float = 0.0) -> dict[str, float]:
    r"""Variance of both estimators' ``n_samples``-means, for :math:`f(z)=z^2`.

    Draws ``n_repeats`` independent batches of ``n_samples`` noises
    :math:`\varepsilon`, averages each estimator over a batch (both share the
    noise), and returns the empirical variance of those ``n_repeats`` averages,
    keyed ``"reinforce"`` and ``"pathwise"``.  For i.i.d. samples the result is
    close to :func:`square_grad_variances` divided by ``n_samples``.

    >>> v = estimator_variances(1.0, 1.0, 10, 4000, np.random.default_rng(0))
    >>> bool(v["reinforce"] > 5 * v["pathwise"])
    True
    """
    eps = rng.standard_normal((n_repeats, n_samples))                    # (R, N)
    r = reinforce_grad(np.square, eps, mu, sigma, baseline).mean(axis=1)  # (R,)
    p = pathwise_grad(lambda z: 2 * z, eps, mu, sigma).mean(axis=1)      # (R,)
    return {"reinforce": float(r.var(ddof=1)), "pathwise": float(p.var(ddof=1))}
