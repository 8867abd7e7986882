r"""Receptive field of a stack of convolution / pooling layers, theoretical and effective.

Layer :math:`l=1,\dots,L` has kernel size :math:`k_l`, stride :math:`s_l`,
padding :math:`p_l` and dilation :math:`d_l`; its effective kernel size is
:math:`\hat k_l=d_l(k_l-1)+1`.  All layers act the same way along each spatial
axis, so everything here is one-dimensional; a 2-D receptive field is the
product of two 1-D ones.  Layer lists are sequences of length ``L``.

Explained in the post ``posts/receptive-field``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "rf_top_down",
    "rf_bottom_up",
    "rf_span",
    "effective_rf_profile",
    "effective_rf_std",
]


def _effective_kernels(kernels: list[int], dilations: list[int] | None) -> list[int]:
    dilations = [1] * len(kernels) if dilations is None else dilations
    return [d * (k - 1) + 1 for k, d in zip(kernels, dilations, strict=True)]


def rf_top_down(kernels: list[int], strides: list[int],
                dilations: list[int] | None = None) -> list[int]:
    r"""Receptive field of one output unit, walked back from the last layer to the input.

    Starting from :math:`R_L=1` (one unit of the last layer):

    .. math:: R_{l-1} = (R_l-1)\,s_l + \hat k_l

    Returns
    -------
    list ``[R_0, R_1, ..., R_L]``: :math:`R_l` is how many units of layer
    :math:`l` (layer 0 = input) one output unit depends on.

    Examples
    --------
    >>> rf_top_down([3, 3, 2, 3], [1, 1, 2, 1])
    [10, 8, 6, 3, 1]
    """
    k_hat = _effective_kernels(kernels, dilations)
    r = [1]
    for k, s in zip(reversed(k_hat), reversed(strides), strict=True):
        r.append((r[-1] - 1) * s + k)
    return r[::-1]


def rf_bottom_up(kernels: list[int], strides: list[int],
                 dilations: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Receptive field and jump (cumulative stride) of every layer, walked forward from the input.

    With :math:`r_0=1` and :math:`j_0=1`:

    .. math:: r_l = r_{l-1} + (\hat k_l-1)\,j_{l-1},\qquad j_l = j_{l-1}\,s_l

    :math:`j_l` is the distance, in input pixels, between two neighbouring units
    of layer :math:`l`.

    Returns
    -------
    r, j : integer arrays of shape ``(L + 1,)``

    Examples
    --------
    >>> r, j = rf_bottom_up([3, 3, 2, 3], [1, 1, 2, 1])
    >>> r.tolist(), j.tolist()
    ([1, 3, 5, 6, 10], [1, 1, 1, 2, 2])
    """
    k_hat = _effective_kernels(kernels, dilations)
    r, j = [1], [1]
    for k, s in zip(k_hat, strides, strict=True):
        r.append(r[-1] + (k - 1) * j[-1])
        j.append(j[-1] * s)
    return np.array(r), np.array(j)


def rf_span(index: int, kernels: list[int], strides: list[int], paddings: list[int],
            dilations: list[int] | None = None) -> tuple[int, int]:
    r"""Input positions ``lo..hi`` (inclusive) that output unit ``index`` of the last layer sees.

    Unit :math:`i` of layer :math:`l` reads units :math:`i s_l-p_l,\dots,i s_l-p_l+\hat k_l-1`
    of layer :math:`l-1`.  Tracking the first input position :math:`a_l` seen by unit 0,

    .. math:: a_l = a_{l-1} - p_l\,j_{l-1},\qquad a_0=0,

    unit :math:`i` of layer :math:`L` covers :math:`[\,a_L+i\,j_L,\ a_L+i\,j_L+r_L-1\,]`.
    Positions may fall outside the image (into the padding).

    Examples
    --------
    >>> rf_span(0, [3, 3], [1, 1], [1, 1])
    (-2, 2)
    >>> rf_span(3, [3, 2, 3], [1, 2, 1], [0, 0, 0])
    (6, 13)
    """
    r, j = rf_bottom_up(kernels, strides, dilations)
    a = 0
    for p, jump in zip(paddings, j[:-1], strict=True):
        a -= p * int(jump)
    lo = a + index * int(j[-1])
    return lo, lo + int(r[-1]) - 1


def effective_rf_profile(kernel: int, layers: int) -> np.ndarray:
    r"""Input gradient of one output unit through ``layers`` stride-1 convolutions with uniform weights.

    Each layer convolves with the box :math:`\tfrac1k(1,\dots,1)`, so the profile is
    the ``layers``-fold convolution of that box: a discrete distribution on the
    :math:`r=L(k-1)+1` positions of the receptive field, close to a Gaussian for large :math:`L`.

    Returns
    -------
    array of shape ``(L (k - 1) + 1,)`` summing to 1

    Examples
    --------
    >>> effective_rf_profile(3, 2) * 9
    array([1., 2., 3., 2., 1.])
    """
    box = np.full(kernel, 1.0 / kernel)                # (k,)
    out = np.ones(1)
    for _ in range(layers):
        out = np.convolve(out, box)                    # grows by k - 1
    return out


def effective_rf_std(kernel: int, layers: int) -> float:
    r"""Standard deviation of :func:`effective_rf_profile`, in input pixels.

    A uniform distribution on :math:`k` consecutive integers has variance
    :math:`(k^2-1)/12`; variances add under convolution, so

    .. math:: \sigma_L=\sqrt{L\,(k^2-1)/12}

    grows like :math:`\sqrt L`, while the receptive field :math:`L(k-1)+1` grows like :math:`L`.

    Examples
    --------
    >>> round(effective_rf_std(3, 6), 6)
    2.0
    """
    return float(np.sqrt(layers * (kernel**2 - 1) / 12.0))
