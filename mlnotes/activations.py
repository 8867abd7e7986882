r"""Activation functions from the perceptron's step to SwiGLU, each with its derivative.

Every function works element-wise on arrays of any shape (``(...)`` below),
except the gated units (:func:`glu`, :func:`swiglu_ffn`), which split or
project the last axis.  :math:`\sigma(x)=1/(1+e^{-x})` is the logistic sigmoid,
:math:`\Phi` and :math:`\varphi` the standard normal CDF and density.

Explained in the post ``posts/activation-functions``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "step",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "elu",
    "elu_grad",
    "normal_cdf",
    "normal_pdf",
    "gelu",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_grad",
    "gelu_tanh_taylor_coefficient",
    "swish",
    "swish_grad",
    "glu",
    "swiglu_ffn",
    "relu_stack_variances",
]

_erf = np.vectorize(math.erf, otypes=[float])


def step(x: np.ndarray) -> np.ndarray:
    r"""Heaviside step, the perceptron's activation: 1 if :math:`x>0`, else 0.

    Its derivative is 0 wherever it exists, so no gradient flows through it.

    >>> step(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    """
    return (np.asarray(x) > 0).astype(float)


def sigmoid(x: np.ndarray) -> np.ndarray:
    r"""Logistic sigmoid :math:`\sigma(x)=\dfrac{1}{1+e^{-x}}`, computed without overflow.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))                             # (...), in (0, 1]
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    r""":math:`\sigma'(x)=\sigma(x)\,(1-\sigma(x))`, at most :math:`1/4` (at :math:`x=0`).

    >>> sigmoid_grad(np.array([0.0]))
    array([0.25])
    """
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: np.ndarray) -> np.ndarray:
    r""":math:`\tanh x = 2\sigma(2x)-1`.

    >>> float(tanh(np.array(0.5)))  # doctest: +ELLIPSIS
    0.46211715...
    """
    return np.tanh(x)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    r""":math:`\tanh'(x)=1-\tanh^2 x = 4\sigma'(2x)`, at most 1.

    >>> tanh_grad(np.array([0.0]))
    array([1.])
    """
    return 1.0 - np.tanh(x) ** 2


def relu(x: np.ndarray) -> np.ndarray:
    r"""Rectified linear unit :math:`\max(0,x)`.

    >>> relu(np.array([-2.0, 3.0]))
    array([0., 3.])
    """
    return np.maximum(x, 0.0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    r"""1 for :math:`x>0`, else 0 (the value 0 at :math:`x=0` is the convention PyTorch uses).

    >>> relu_grad(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 1.])
    """
    return (np.asarray(x) > 0).astype(float)


def leaky_relu(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    r"""Leaky ReLU: :math:`x` for :math:`x>0`, :math:`a x` otherwise.

    PReLU is the same function with the slope :math:`a` learned (one per channel).

    >>> leaky_relu(np.array([-2.0, 3.0]), 0.1)
    array([-0.2,  3. ])
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    r"""1 for :math:`x>0`, :math:`a` otherwise.

    >>> leaky_relu_grad(np.array([-2.0, 3.0]), 0.1)
    array([0.1, 1. ])
    """
    return np.where(np.asarray(x) > 0, 1.0, slope)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""Exponential linear unit: :math:`x` for :math:`x>0`, :math:`\alpha(e^{x}-1)` otherwise.

    >>> elu(np.array([-1.0, 2.0]))  # doctest: +ELLIPSIS
    array([-0.632...,  2.   ...])
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""1 for :math:`x>0`, :math:`\alpha e^{x}=\mathrm{ELU}(x)+\alpha` otherwise.

    >>> elu_grad(np.array([0.0]))
    array([1.])
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    r""":math:`\Phi(x)=\tfrac12\bigl(1+\operatorname{erf}(x/\sqrt2)\bigr)`.

    >>> normal_cdf(np.array([0.0]))
    array([0.5])
    """
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def normal_pdf(x: np.ndarray) -> np.ndarray:
    r""":math:`\varphi(x)=e^{-x^2/2}/\sqrt{2\pi}`.

    >>> float(normal_pdf(np.array(0.0)))  # doctest: +ELLIPSIS
    0.3989422...
    """
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)


def gelu(x: np.ndarray) -> np.ndarray:
    r"""Gaussian error linear unit, exact form :math:`x\,\Phi(x)`.

    >>> float(gelu(np.array(1.0)))  # doctest: +ELLIPSIS
    0.841344...
    """
    x = np.asarray(x, dtype=float)
    return x * normal_cdf(x)


def gelu_grad(x: np.ndarray) -> np.ndarray:
    r"""Product rule: :math:`\frac{d}{dx}\,x\Phi(x)=\Phi(x)+x\,\varphi(x)`.

    >>> gelu_grad(np.array([0.0]))
    array([0.5])
    """
    x = np.asarray(x, dtype=float)
    return normal_cdf(x) + x * normal_pdf(x)


def gelu_tanh(x: np.ndarray, c: float = 0.044715) -> np.ndarray:
    r"""The tanh approximation of GELU.

    .. math:: \tfrac12\,x\,\Bigl(1+\tanh\bigl(\sqrt{2/\pi}\,(x+c\,x^3)\bigr)\Bigr)

    with the published :math:`c=0.044715`; :func:`gelu_tanh_taylor_coefficient`
    gives the value that matches the Taylor series of :math:`\Phi` at 0.

    >>> float(abs(gelu_tanh(np.array(1.0)) - gelu(np.array(1.0)))) < 1e-3
    True
    """
    x = np.asarray(x, dtype=float)
    u = math.sqrt(2.0 / math.pi) * (x + c * x**3)     # (...)
    return 0.5 * x * (1.0 + np.tanh(u))


def gelu_tanh_grad(x: np.ndarray, c: float = 0.044715) -> np.ndarray:
    r"""Derivative of :func:`gelu_tanh`.

    With :math:`u=\sqrt{2/\pi}(x+cx^3)` and :math:`t=\tanh u`:

    .. math:: \tfrac12(1+t)+\tfrac12\,x\,(1-t^2)\,\sqrt{2/\pi}\,(1+3cx^2)

    >>> gelu_tanh_grad(np.array([0.0]))
    array([0.5])
    """
    x = np.asarray(x, dtype=float)
    k = math.sqrt(2.0 / math.pi)
    t = np.tanh(k * (x + c * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * k * (1.0 + 3.0 * c * x**2)


def gelu_tanh_taylor_coefficient() -> float:
    r"""The :math:`c` that makes the tanh form match :math:`\Phi` up to :math:`x^3`.

    :math:`\tfrac12(1+\tanh(\sqrt{2/\pi}(x+cx^3)))` then equals :math:`\Phi(x)+O(x^5)`.

    Matching the :math:`x^3` terms of
    :math:`\operatorname{erf} z=\tfrac{2}{\sqrt\pi}(z-z^3/3+\dots)` and
    :math:`\tanh u = u-u^3/3+\dots` gives :math:`c=(4/\pi-1)/6`.

    >>> round(gelu_tanh_taylor_coefficient(), 6)
    0.04554
    """
    return (4.0 / math.pi - 1.0) / 6.0


def swish(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    r"""Swish :math:`x\,\sigma(\beta x)`; with :math:`\beta=1` it is SiLU.

    >>> float(swish(np.array(0.0)))
    0.0
    """
    x = np.asarray(x, dtype=float)
    return x * sigmoid(beta * x)


def swish_grad(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    r""":math:`\sigma(\beta x)+\beta x\,\sigma(\beta x)\,(1-\sigma(\beta x))`.

    >>> swish_grad(np.array([0.0]))
    array([0.5])
    """
    x = np.asarray(x, dtype=float)
    s = sigmoid(beta * x)
    return s + beta * x * s * (1.0 - s)


def glu(x: np.ndarray) -> np.ndarray:
    r"""Gated linear unit on the last axis, split into halves :math:`x=[a,\,b]`: :math:`a\otimes\sigma(b)`.

    Parameters
    ----------
    x : array of shape ``(..., 2 m)``

    Returns
    -------
    array of shape ``(..., m)``

    Examples
    --------
    >>> glu(np.array([3.0, 0.0]))
    array([1.5])
    """
    a, b = np.split(np.asarray(x, dtype=float), 2, axis=-1)    # (..., m) each
    return a * sigmoid(b)


def swiglu_ffn(x: np.ndarray, w: np.ndarray, v: np.ndarray, w2: np.ndarray) -> np.ndarray:
    r"""The SwiGLU feed-forward block (no biases): :math:`\bigl(\mathrm{SiLU}(xW)\otimes xV\bigr)W_2`.

    Parameters
    ----------
    x : array of shape ``(..., d)``
    w, v : arrays of shape ``(d, h)``, the gate and value projections
    w2 : array of shape ``(h, d)``, the output projection

    Returns
    -------
    array of shape ``(..., d)``

    Examples
    --------
    >>> x = np.array([[1.0, -1.0]])
    >>> swiglu_ffn(x, np.eye(2), np.eye(2), np.eye(2)).round(4)
    array([[0.7311, 0.2689]])
    """
    gate = swish(x @ w)                                # (..., h)
    value = x @ v                                      # (..., h)
    return (gate * value) @ w2                         # (..., d)


def relu_stack_variances(width: int, depth: int, weight_var: float, batch: int = 2000,
                         seed: int = 0) -> np.ndarray:
    r"""Variance of the pre-activations :math:`z_l` through a random ReLU network.

    :math:`z_l = W_l\,\mathrm{ReLU}(z_{l-1})` with i.i.d. weights of variance
    ``weight_var`` and no bias; :math:`z_0\sim\mathcal N(0, I)`.  For
    symmetric :math:`z_{l-1}`, :math:`\mathbb E[\mathrm{ReLU}(z)^2]=\tfrac12\operatorname{Var} z`, so

    .. math:: \operatorname{Var} z_l = \tfrac12\,n\,v\,\operatorname{Var} z_{l-1},

    which stays constant for :math:`v = 2/n` (He et al.) and halves per layer for :math:`v=1/n`.

    Returns
    -------
    array of shape ``(depth + 1,)``: the variance of :math:`z_0, \dots, z_L` over batch and units

    Examples
    --------
    >>> v = relu_stack_variances(256, 10, 2 / 256)
    >>> bool(0.7 < v[-1] / v[0] < 1.4)
    True
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, width))                       # (B, n)
    out = [z.var()]
    for _ in range(depth):
        w = rng.normal(0.0, np.sqrt(weight_var), (width, width))  # (n, n)
        z = relu(z) @ w                                           # (B, n)
        out.append(z.var())
    return np.array(out)
