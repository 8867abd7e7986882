r"""Dilated (atrous) convolution in NumPy: effective kernel, output size, the convolution itself, gridding.

A kernel of size :math:`k` with dilation rate :math:`d` reads input positions
:math:`0, d, 2d, \dots, (k-1)d`.  Convolutions here are cross-correlations, as in
deep-learning libraries.  Images are arrays of shape ``(C, H, W)``, kernels
``(C_out, C_in, k_h, k_w)``.

Explained in the post ``posts/dilated-convolution``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "effective_kernel_size",
    "conv_output_size",
    "dilate_kernel",
    "conv2d",
    "dependency_1d",
    "gridding_holes",
]


def effective_kernel_size(k: int, d: int) -> int:
    r"""Span of a dilated kernel: :math:`\hat k = k + (k-1)(d-1) = d(k-1)+1`.

    >>> effective_kernel_size(3, 2)
    5
    """
    return d * (k - 1) + 1


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    r"""Output length of a (dilated) convolution.

    .. math:: n_\text{out}=\left\lfloor\frac{n+2p-d(k-1)-1}{s}\right\rfloor+1

    >>> conv_output_size(7, 3, dilation=2)
    3
    >>> conv_output_size(32, 3, stride=2, padding=2, dilation=4)
    14
    """
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def dilate_kernel(w: np.ndarray, d: int) -> np.ndarray:
    r"""Insert :math:`d-1` zeros between the taps of the last two axes.

    A dilated convolution with ``w`` equals an ordinary convolution with the result.

    Parameters
    ----------
    w : array of shape ``(..., k_h, k_w)``

    Returns
    -------
    array of shape ``(..., d (k_h - 1) + 1, d (k_w - 1) + 1)``

    Examples
    --------
    >>> dilate_kernel(np.array([[1.0, 2.0]]), 3)
    array([[1., 0., 0., 2.]])
    """
    kh, kw = w.shape[-2:]
    out = np.zeros(w.shape[:-2] + (effective_kernel_size(kh, d), effective_kernel_size(kw, d)))
    out[..., ::d, ::d] = w
    return out


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    r"""2-D dilated cross-correlation.

    .. math:: y_{o,u,v}=\sum_{c,i,j} w_{o,c,i,j}\;x^{\text{pad}}_{c,\ s u+d i,\ s v+d j}

    Parameters
    ----------
    x : array of shape ``(C_in, H, W)``
    w : array of shape ``(C_out, C_in, k_h, k_w)``

    Returns
    -------
    array of shape ``(C_out, H_out, W_out)`` with sizes from :func:`conv_output_size`

    Examples
    --------
    >>> x = np.arange(25.0).reshape(1, 5, 5)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), dilation=3)
    array([[[36., 40.],
            [56., 60.]]])
    """
    kh, kw = w.shape[-2:]
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))             # (C_in, H+2p, W+2p)
    ho = conv_output_size(x.shape[1], kh, stride, padding, dilation)
    wo = conv_output_size(x.shape[2], kw, stride, padding, dilation)
    out = np.zeros((w.shape[0], ho, wo))                                         # (C_out, H_out, W_out)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation, j * dilation
            patch = xp[:, r0:r0 + stride * (ho - 1) + 1:stride, c0:c0 + stride * (wo - 1) + 1:stride]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)               # tap (i, j)
    return out


def dependency_1d(dilations: list[int], k: int = 3) -> np.ndarray:
    r"""How many paths connect one output unit to each input position, for stacked stride-1 dilated convs.

    The answer is the convolution of the dilated all-ones kernels; a zero inside
    the receptive field is a position the output never sees (a gridding hole).
    In 2-D the pattern is the outer product of this vector with itself.

    Returns
    -------
    integer array of shape ``(1 + sum_l d_l (k - 1),)``, centred on the output unit

    Examples
    --------
    >>> dependency_1d([2, 2]).tolist()
    [1, 0, 2, 0, 3, 0, 2, 0, 1]
    """
    out = np.ones(1, dtype=int)
    for d in dilations:
        out = np.convolve(out, dilate_kernel(np.ones((1, k), dtype=int), d)[0].astype(int))
    return out


def gridding_holes(dilations: list[int], k: int = 3) -> int:
    r"""Number of positions inside the 2-D receptive field that the centre output never sees.

    >>> gridding_holes([2, 2, 2]), gridding_holes([1, 2, 5])
    (120, 0)
    """
    dep = dependency_1d(dilations, k)                  # (r,)
    return int(np.sum(np.outer(dep, dep) == 0))
