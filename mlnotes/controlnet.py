r"""ControlNet: a trainable copy of a locked block, joined by zero convolutions.

Zhang, Rao and Agrawala (2023) add a spatial condition :math:`c` to a frozen
network block :math:`\mathcal F(\cdot;\Theta)` by computing

.. math:: y_c = \mathcal F(x;\Theta)
          + \mathcal Z\bigl(\mathcal F(x + \mathcal Z(c;\Theta_{z1});\Theta_c);\Theta_{z2}\bigr),

where :math:`\Theta_c` starts as a copy of :math:`\Theta` and the two
:math:`1\times1` convolutions :math:`\mathcal Z` start with weight and bias
zero.  Feature maps here have shape ``(C, H, W)``; a :math:`1\times1`
convolution is the same matrix applied at every pixel.  The block
:math:`\mathcal F` is a stand-in, :math:`\mathrm{ReLU}(\text{conv}_{1\times1}(x))`,
small enough that every gradient can be written out by hand.

Parameters live in a dict with the keys of :data:`TRAINABLE` plus the locked
``base_w`` and ``base_b``.  Explained in the post ``posts/controlnet``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TRAINABLE",
    "conv1x1",
    "conv1x1_backward",
    "relu_block",
    "init_controlnet",
    "controlled_block",
    "controlled_block_backward",
    "squared_error",
    "sgd_step",
    "toy_training_run",
]

#: The parameters that training updates; ``base_w`` and ``base_b`` stay locked.
TRAINABLE = ("copy_w", "copy_b", "zin_w", "zin_b", "zout_w", "zout_b")


def conv1x1(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    r"""A :math:`1\times1` convolution: one matrix applied at every pixel.

    .. math:: y_{o,h,w} = \sum_{i} W_{o,i}\,x_{i,h,w} + b_o

    ``x`` has shape ``(C_in, H, W)``, ``weight`` ``(C_out, C_in)``, ``bias``
    ``(C_out,)``; the result has shape ``(C_out, H, W)``.

    >>> x = np.array([[[1.0, 2.0]], [[3.0, 4.0]]])        # (2, 1, 2)
    >>> conv1x1(x, np.array([[1.0, -1.0]]), np.array([0.5]))
    array([[[-1.5, -1.5]]])
    >>> conv1x1(x, np.zeros((1, 2)), np.zeros(1))          # a zero convolution outputs zeros
    array([[[0., 0.]]])
    """
    return np.einsum("oi,ihw->ohw", weight, x) + bias[:, None, None]


def conv1x1_backward(x: np.ndarray, weight: np.ndarray,
                     grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of a :math:`1\times1` convolution, given :math:`g=\partial L/\partial y`.

    .. math:: \frac{\partial L}{\partial W} = \sum_{h,w} g_{:,h,w}\,x_{:,h,w}^{\top},\qquad
              \frac{\partial L}{\partial b} = \sum_{h,w} g_{:,h,w},\qquad
              \frac{\partial L}{\partial x_{:,h,w}} = W^{\top} g_{:,h,w}

    Returns ``(grad_x, grad_w, grad_b)`` with the shapes of ``x``, ``weight``
    and the bias.  With ``weight == 0`` the input gradient vanishes but the
    weight gradient does not, as long as ``x`` and ``grad_y`` are non-zero:

    >>> x, g = np.full((1, 1, 1), 0.6), np.full((1, 1, 1), -0.4)
    >>> gx, gw, gb = conv1x1_backward(x, np.zeros((1, 1)), g)
    >>> float(gx[0, 0, 0]), round(float(gw[0, 0]), 12), float(gb[0])
    (0.0, -0.24, -0.4)
    """
    grad_x = np.einsum("oi,ohw->ihw", weight, grad_y)     # (C_in, H, W)
    grad_w = np.einsum("ohw,ihw->oi", grad_y, x)          # (C_out, C_in)
    grad_b = grad_y.sum(axis=(1, 2))                       # (C_out,)
    return grad_x, grad_w, grad_b


def relu_block(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    r"""The stand-in network block :math:`\mathcal F(x;\Theta)=\max(0,\ \text{conv}_{1\times1}(x))`.

    >>> relu_block(np.array([[[1.0, -1.0]]]), np.array([[0.5]]), np.array([0.1]))
    array([[[0.6, 0. ]]])
    """
    return np.maximum(conv1x1(x, weight, bias), 0.0)


def init_controlnet(base_w: np.ndarray, base_b: np.ndarray, cond_channels: int) -> dict:
    r"""Lock a block and attach a ControlNet to it.

    The trainable copy starts equal to the locked block
    (:math:`\Theta_c\leftarrow\Theta`); both zero convolutions start with weight
    and bias zero.  ``zin`` maps the ``cond_channels`` of the condition to the
    block's channels, ``zout`` maps the copy's output back.

    >>> p = init_controlnet(np.eye(2), np.zeros(2), cond_channels=3)
    >>> p["zin_w"].shape, p["zout_w"].shape, float(np.abs(p["zout_w"]).sum())
    ((2, 3), (2, 2), 0.0)
    """
    channels = base_w.shape[0]
    return {
        "base_w": base_w.copy(), "base_b": base_b.copy(),          # locked: never updated
        "copy_w": base_w.copy(), "copy_b": base_b.copy(),          # trainable copy
        "zin_w": np.zeros((channels, cond_channels)), "zin_b": np.zeros(channels),
        "zout_w": np.zeros((channels, channels)), "zout_b": np.zeros(channels),
    }


def controlled_block(x: np.ndarray, c: np.ndarray, params: dict) -> np.ndarray:
    r"""The output of a block with a ControlNet attached.

    .. math:: y_c = \mathcal F(x;\Theta)
              + \mathcal Z\bigl(\mathcal F(x + \mathcal Z(c;\Theta_{z1});\Theta_c);\Theta_{z2}\bigr)

    ``x`` has shape ``(C, H, W)`` and the condition ``c`` ``(C_cond, H, W)``.
    Right after :func:`init_controlnet` the result is exactly the locked
    block's output:

    >>> p = init_controlnet(np.array([[0.5]]), np.array([0.1]), cond_channels=1)
    >>> x, c = np.ones((1, 1, 1)), np.full((1, 1, 1), 2.0)
    >>> controlled_block(x, c, p), relu_block(x, p["base_w"], p["base_b"])
    (array([[[0.6]]]), array([[[0.6]]]))
    """
    base = relu_block(x, params["base_w"], params["base_b"])          # F(x; Θ), locked
    x_c = x + conv1x1(c, params["zin_w"], params["zin_b"])            # x + Z(c; Θ_z1)
    h = relu_block(x_c, params["copy_w"], params["copy_b"])           # F(.; Θ_c), the copy
    return base + conv1x1(h, params["zout_w"], params["zout_b"])      # + Z(h; Θ_z2)


def controlled_block_backward(x: np.ndarray, c: np.ndarray, params: dict,
                              grad_y: np.ndarray) -> dict:
    r"""Gradients of the loss w.r.t. the trainable parameters, by the chain rule.

    ``grad_y`` is :math:`\partial L/\partial y_c`, shape ``(C, H, W)``.  Going
    backwards through :func:`controlled_block`: the output zero convolution,
    the ReLU of the copy, the copy's convolution, and the input zero
    convolution, each with :func:`conv1x1_backward`.  The locked block needs no
    gradient.  At initialisation only the output zero convolution gets one,
    because :math:`\partial L/\partial h = W_{z2}^{\top} g = 0`:

    >>> p = init_controlnet(np.array([[0.5]]), np.array([0.1]), cond_channels=1)
    >>> x, c = np.ones((1, 1, 1)), np.full((1, 1, 1), 2.0)
    >>> g = controlled_block_backward(x, c, p, np.full((1, 1, 1), -0.4))
    >>> {k: round(float(v.sum()), 6) for k, v in g.items()}
    {'copy_w': 0.0, 'copy_b': 0.0, 'zin_w': 0.0, 'zin_b': 0.0, 'zout_w': -0.24, 'zout_b': -0.4}
    """
    x_c = x + conv1x1(c, params["zin_w"], params["zin_b"])            # (C, H, W)
    u = conv1x1(x_c, params["copy_w"], params["copy_b"])              # pre-activation
    h = np.maximum(u, 0.0)                                            # copy output
    grad_h, g_zout_w, g_zout_b = conv1x1_backward(h, params["zout_w"], grad_y)
    grad_u = grad_h * (u > 0)                                         # through the ReLU
    grad_xc, g_copy_w, g_copy_b = conv1x1_backward(x_c, params["copy_w"], grad_u)
    _, g_zin_w, g_zin_b = conv1x1_backward(c, params["zin_w"], grad_xc)
    return {"copy_w": g_copy_w, "copy_b": g_copy_b, "zin_w": g_zin_w, "zin_b": g_zin_b,
            "zout_w": g_zout_w, "zout_b": g_zout_b}


def squared_error(y: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    r"""The loss :math:`L=\tfrac12\lVert y-t\rVert^2` and its gradient :math:`y-t`.

    >>> loss, grad = squared_error(np.array([0.6]), np.array([1.0]))
    >>> round(loss, 12), grad.round(12)
    (0.08, array([-0.4]))
    """
    diff = y - target
    return 0.5 * float(np.sum(diff**2)), diff


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    r"""One step of gradient descent, :math:`\theta\leftarrow\theta-\eta\,\partial L/\partial\theta`.

    Only the :data:`TRAINABLE` entries move; a new dict is returned.

    >>> p = init_controlnet(np.array([[0.5]]), np.array([0.1]), cond_channels=1)
    >>> g = {k: np.full_like(p[k], -0.24) for k in TRAINABLE}
    >>> q = sgd_step(p, g, lr=0.5)
    >>> round(float(q["zout_w"][0, 0]), 12), float(q["base_w"][0, 0])
    (0.12, 0.5)
    """
    new = dict(params)
    for key in TRAINABLE:
        new[key] = params[key] - lr * grads[key]
    return new


def toy_training_run(steps: int = 100, lr: float = 1.0, seed: int = 0) -> dict:
    r"""Train a ControlNet on a toy regression and record what moves when.

    A locked block with 4 channels sees a random ``x`` of shape ``(4, 6, 6)``;
    the target is its own output plus a map that depends on a 3-channel
    condition ``c``, which the locked block cannot see.  Plain gradient descent
    on :func:`squared_error` (divided by the number of entries) trains the
    ControlNet.  Returned arrays, one entry per step ``0..steps`` (before each
    update, and after the last):

    ``loss``, ``zout_norm`` and ``zin_norm`` (Frobenius norms of the zero
    convolutions' weights), ``copy_shift`` (:math:`\lVert\Theta_c-\Theta\rVert`
    for the weights) and ``output_change`` (RMS of :math:`y_c-\mathcal F(x;\Theta)`).

    >>> run = toy_training_run(steps=3)
    >>> float(run["output_change"][0]), float(run["zin_norm"][1]), bool(run["zin_norm"][2] > 0)
    (0.0, 0.0, True)
    """
    rng = np.random.default_rng(seed)
    channels, cond_channels, size = 4, 3, 6
    base_w = 0.6 * rng.standard_normal((channels, channels))
    base_b = 0.1 * rng.standard_normal(channels)
    x = rng.standard_normal((channels, size, size))
    c = rng.standard_normal((cond_channels, size, size))
    mix = rng.standard_normal((channels, cond_channels))
    target = relu_block(x, base_w, base_b) + 0.5 * np.tanh(np.einsum("oi,ihw->ohw", mix, c))

    params = init_controlnet(base_w, base_b, cond_channels)
    base_out = relu_block(x, base_w, base_b)
    keys = ("loss", "zout_norm", "zin_norm", "copy_shift", "output_change")
    hist = {k: [] for k in keys}
    for step in range(steps + 1):
        y = controlled_block(x, c, params)
        loss, grad = squared_error(y, target)
        hist["loss"].append(loss / y.size)
        hist["zout_norm"].append(np.linalg.norm(params["zout_w"]))
        hist["zin_norm"].append(np.linalg.norm(params["zin_w"]))
        hist["copy_shift"].append(np.linalg.norm(params["copy_w"] - base_w))
        hist["output_change"].append(np.sqrt(np.mean((y - base_out) ** 2)))
        if step < steps:
            grads = controlled_block_backward(x, c, params, grad / y.size)
            params = sgd_step(params, grads, lr)
    return {k: np.array(v) for k, v in hist.items()}
