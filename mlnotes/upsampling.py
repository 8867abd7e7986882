r"""Upsampling in NumPy: nearest, bilinear, pixel shuffle and transposed convolution.

Every function follows PyTorch's conventions so that the tests can compare
it with ``F.interpolate``, ``F.pixel_shuffle`` and ``F.conv_transpose2d``.
Feature maps have shape ``(N, C, H, W)``.

Bilinear interpolation is separable: it is a matrix :math:`A_h` of shape
``(H_out, H_in)`` applied along the rows and a matrix :math:`A_w` along the
columns, :math:`Y = A_h X A_w^\top` for every channel.  The two
``align_corners`` modes differ only in how an output index :math:`d` is mapped
to a source coordinate :math:`s`:

* ``align_corners=True``:  :math:`s = d\,(n_\text{in}-1)/(n_\text{out}-1)`,
* ``align_corners=False``: :math:`s = (d+\tfrac12)\,n_\text{in}/n_\text{out}-\tfrac12`.

A transposed convolution is the adjoint of a strided convolution: if the
convolution is the matrix :math:`C`, the transposed convolution is
:math:`C^\top`.

Explained in the post ``posts/upsampling``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "nearest_indices",
    "nearest_upsample",
    "source_coordinates",
    "linear_interp_matrix",
    "bilinear_upsample",
    "pixel_shuffle",
    "pixel_unshuffle",
    "conv2d",
    "conv_transpose2d",
    "conv1d_matrix",
    "overlap_counts",
]


def nearest_indices(n_in: int, n_out: int, exact: bool = False,
                    scale_factor: float | None = None) -> np.ndarray:
    r"""Source index of each output index for nearest-neighbour resizing.

    PyTorch's ``mode="nearest"`` uses :math:`\lfloor d\,n_\text{in}/n_\text{out}\rfloor`;
    ``mode="nearest-exact"`` (``exact=True``) rounds the pixel *centre*,
    :math:`\lfloor (d+\tfrac12)\,n_\text{in}/n_\text{out}\rfloor`.  When the
    caller passes ``scale_factor`` (as ``F.interpolate(scale_factor=...)`` does),
    :math:`1/\mathtt{scale\_factor}` replaces the ratio :math:`n_\text{in}/n_\text{out}`.

    >>> nearest_indices(2, 4), nearest_indices(3, 2), nearest_indices(3, 2, exact=True)
    (array([0, 0, 1, 1]), array([0, 1]), array([0, 2]))
    """
    d = np.arange(n_out)
    offset = 0.5 if exact else 0.0
    ratio = 1.0 / scale_factor if scale_factor else n_in / n_out
    src = np.floor((d + offset) * ratio).astype(int)
    return np.minimum(src, n_in - 1)


def nearest_upsample(x: np.ndarray, size: tuple[int, int], exact: bool = False) -> np.ndarray:
    """Nearest-neighbour resize of ``x`` of shape ``(N, C, H, W)`` to spatial ``size``.

    >>> nearest_upsample(np.arange(4.0).reshape(1, 1, 2, 2), (4, 4))[0, 0]
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [2., 2., 3., 3.],
           [2., 2., 3., 3.]])
    """
    rows = nearest_indices(x.shape[-2], size[0], exact)   # (H_out,)
    cols = nearest_indices(x.shape[-1], size[1], exact)   # (W_out,)
    return x[..., rows[:, None], cols[None, :]]           # (N, C, H_out, W_out)


def source_coordinates(n_in: int, n_out: int, align_corners: bool,
                       scale_factor: float | None = None) -> np.ndarray:
    r"""Continuous source coordinate :math:`s(d)` of each output index :math:`d`.

    ``align_corners=True`` pins the centres of the first and last pixels:
    :math:`s=d\,(n_\text{in}-1)/(n_\text{out}-1)`.  ``align_corners=False``
    treats pixels as unit squares and matches their edges:
    :math:`s=(d+\tfrac12)\,n_\text{in}/n_\text{out}-\tfrac12`, clamped at 0 as PyTorch does;
    a given ``scale_factor`` replaces :math:`n_\text{in}/n_\text{out}` there by
    :math:`1/\mathtt{scale\_factor}`.

    >>> source_coordinates(2, 4, True)
    array([0.        , 0.33333333, 0.66666667, 1.        ])
    >>> source_coordinates(2, 4, False)
    array([0.  , 0.25, 0.75, 1.25])
    """
    d = np.arange(n_out, dtype=float)
    if align_corners:
        return d * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    ratio = 1.0 / scale_factor if scale_factor else n_in / n_out
    return np.maximum((d + 0.5) * ratio - 0.5, 0.0)


def linear_interp_matrix(n_in: int, n_out: int, align_corners: bool,
                         scale_factor: float | None = None) -> np.ndarray:
    r"""Matrix :math:`A` of shape ``(n_out, n_in)`` of 1-D linear interpolation.

    Row :math:`d` has weight :math:`1-\lambda` at :math:`i_0=\lfloor s\rfloor` and
    :math:`\lambda=s-i_0` at :math:`i_0+1` (both indices clamped to the input).

    >>> linear_interp_matrix(2, 4, False) @ np.array([0.0, 10.0])
    array([ 0. ,  2.5,  7.5, 10. ])
    """
    s = source_coordinates(n_in, n_out, align_corners, scale_factor)   # (n_out,)
    i0 = np.minimum(np.floor(s).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = s - i0
    a = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(a, (rows, i0), 1.0 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


def bilinear_upsample(x: np.ndarray, size: tuple[int, int], align_corners: bool = False) -> np.ndarray:
    r"""Bilinear resize of ``x`` of shape ``(N, C, H, W)``: :math:`Y=A_h\,X\,A_w^\top` per channel.

    >>> bilinear_upsample(np.array([[[[0.0, 10.0]]]]), (1, 4), align_corners=True).round(3)
    array([[[[ 0.   ,  3.333,  6.667, 10.   ]]]])
    """
    a_h = linear_interp_matrix(x.shape[-2], size[0], align_corners)   # (H_out, H)
    a_w = linear_interp_matrix(x.shape[-1], size[1], align_corners)   # (W_out, W)
    return np.einsum("ph,nchw,qw->ncpq", a_h, x, a_w)                 # (N, C, H_out, W_out)


def pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    r"""Rearrange ``(N, C r^2, H, W)`` into ``(N, C, H r, W r)``.

    Channel :math:`c\,r^2+i\,r+j` at :math:`(h,w)` goes to output pixel
    :math:`(h r+i,\ w r+j)` of channel :math:`c` (PyTorch's order).

    >>> pixel_shuffle(np.arange(4.0).reshape(1, 4, 1, 1), 2)[0, 0]
    array([[0., 1.],
           [2., 3.]])
    """
    n, c_r2, h, w = x.shape
    c = c_r2 // (r * r)
    y = x.reshape(n, c, r, r, h, w)            # (N, C, i, j, H, W)
    y = y.transpose(0, 1, 4, 2, 5, 3)          # (N, C, H, i, W, j)
    return y.reshape(n, c, h * r, w * r)


def pixel_unshuffle(y: np.ndarray, r: int) -> np.ndarray:
    """Inverse of :func:`pixel_shuffle`: ``(N, C, H r, W r)`` to ``(N, C r^2, H, W)``.

    >>> x = np.arange(8.0).reshape(1, 8, 1, 1)
    >>> bool(np.array_equal(pixel_unshuffle(pixel_shuffle(x, 2), 2), x))
    True
    """
    n, c, hr, wr = y.shape
    h, w = hr // r, wr // r
    x = y.reshape(n, c, h, r, w, r).transpose(0, 1, 3, 5, 2, 4)   # (N, C, i, j, H, W)
    return x.reshape(n, c * r * r, h, w)


def conv2d(x: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    r"""Strided 2-D convolution (cross-correlation, as in deep learning).

    ``x``: ``(N, C_in, H, W)``; ``weight``: ``(C_out, C_in, k, k)``.
    :math:`y[n,o,p,q]=\sum_{c,a,b} w[o,c,a,b]\;x_\text{pad}[n,c,p s+a,q s+b]`.

    >>> conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    k = weight.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (xp.shape[-2] - k) // stride + 1
    w_out = (xp.shape[-1] - k) // stride + 1
    y = np.zeros((x.shape[0], weight.shape[0], h_out, w_out))
    for a in range(k):
        for b in range(k):
            patch = xp[:, :, a:a + stride * h_out:stride, b:b + stride * w_out:stride]   # (N, C_in, Ho, Wo)
            y += np.einsum("nchw,oc->nohw", patch, weight[:, :, a, b])
    return y


def conv_transpose2d(x: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    r"""Transposed convolution: each input pixel "paints" a weighted copy of the kernel.

    ``x``: ``(N, C_in, H, W)``; ``weight``: ``(C_in, C_out, k, k)`` (PyTorch's
    layout).  Input pixel :math:`(h,w)` adds :math:`x[h,w]\,w[:,:,a,b]` to output
    position :math:`(h s+a,\ w s+b)`; then ``padding`` rows/columns are cropped
    from each border, giving size :math:`(H-1)s-2p+k`.

    >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    array([[1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.],
           [2., 2., 4., 2., 2.],
           [1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.]])
    """
    n, _, h, w = x.shape
    k = weight.shape[-1]
    full = np.zeros((n, weight.shape[1], (h - 1) * stride + k, (w - 1) * stride + k))
    for a in range(k):
        for b in range(k):
            full[:, :, a:a + stride * h:stride, b:b + stride * w:stride] += np.einsum(
                "nchw,co->nohw", x, weight[:, :, a, b])
    if padding:
        full = full[:, :, padding:-padding, padding:-padding]
    return full


def conv1d_matrix(n_in: int, kernel: np.ndarray, stride: int = 1) -> np.ndarray:
    r"""The matrix :math:`C` of a 1-D strided convolution without padding, shape ``(n_out, n_in)``.

    Row :math:`p` holds the kernel starting at column :math:`p s`.  Its transpose
    :math:`C^\top` is the 1-D transposed convolution.

    >>> conv1d_matrix(5, np.array([1.0, 2.0, 3.0]), stride=2)
    array([[1., 2., 3., 0., 0.],
           [0., 0., 1., 2., 3.]])
    """
    k = len(kernel)
    n_out = (n_in - k) // stride + 1
    c = np.zeros((n_out, n_in))
    for p in range(n_out):
        c[p, p * stride:p * stride + k] = kernel
    return c


def overlap_counts(n_in: int, k: int, stride: int) -> np.ndarray:
    """How many input pixels paint each output pixel of a 1-D transposed convolution (all-ones kernel).

    Uneven when ``k`` is not a multiple of ``stride``: the root of checkerboard artefacts.

    >>> overlap_counts(4, 3, 2), overlap_counts(4, 4, 2)
    (array([1, 1, 2, 1, 2, 1, 2, 1, 1]), array([1, 1, 2, 2, 2, 2, 2, 2, 1, 1]))
    """
    counts = np.zeros((n_in - 1) * stride + k, dtype=int)
    for h in range(n_in):
        counts[h * stride:h * stride + k] += 1
    return counts
