r"""Latent diffusion (Stable Diffusion): sizes, cross-attention, timestep embedding, noise schedule.

The diffusion model of Rombach et al. (2022) works on the latent
:math:`z=\mathcal E(x)` of an autoencoder that downsamples an
:math:`H\times W\times 3` image by a factor :math:`f` to
:math:`H/f\times W/f\times c`.  Its UNet reads the text through
cross-attention, with queries from the image features and keys and values from
the text-encoder tokens, and reads the time step through a sinusoidal
embedding.  Arrays are NumPy; a feature map of :math:`h\times w` positions is
flattened to ``(N, C)`` with :math:`N=hw`.

Explained in the post ``posts/stable-diffusion``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "latent_sizes",
    "softmax",
    "attention",
    "cross_attention",
    "multi_head_cross_attention",
    "timestep_embedding",
    "scaled_linear_beta_schedule",
]


def latent_sizes(height: int = 512, width: int = 512, f: int = 8, latent_channels: int = 4,
                 image_channels: int = 3) -> dict[str, int | float]:
    r"""Element counts of an image and its latent, and how per-step costs scale between them.

    An image of :math:`H\times W\times C` pixels becomes a latent of
    :math:`(H/f)\times(W/f)\times c`.  For a network of fixed channel widths a
    convolution costs in proportion to the number of spatial positions, so it
    gets :math:`f^2` times cheaper; self-attention over all positions costs in
    proportion to their square, :math:`f^4` times cheaper.

    Returns a dict with ``pixel_elements`` :math:`HWC`, ``latent_elements``
    :math:`HWc/f^2`, ``compression`` (their ratio :math:`f^2C/c`),
    ``pixel_positions`` :math:`HW`, ``latent_positions`` :math:`HW/f^2`,
    ``conv_ratio`` :math:`f^2` and ``self_attention_ratio`` :math:`f^4`.

    >>> s = latent_sizes(512, 512, f=8, latent_channels=4)
    >>> s["pixel_elements"], s["latent_elements"], s["compression"]
    (786432, 16384, 48.0)
    >>> s["latent_positions"], s["conv_ratio"], s["self_attention_ratio"]
    (4096, 64, 4096)
    """
    if height % f or width % f:
        raise ValueError("height and width must be multiples of f")
    h, w = height // f, width // f
    pixel_elements = height * width * image_channels
    latent_elements = h * w * latent_channels
    return {
        "pixel_elements": pixel_elements,
        "latent_elements": latent_elements,
        "compression": pixel_elements / latent_elements,
        "pixel_positions": height * width,
        "latent_positions": h * w,
        "conv_ratio": (height * width) // (h * w),
        "self_attention_ratio": ((height * width) // (h * w)) ** 2,
    }


def softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Numerically stable softmax, :math:`\mathrm{softmax}(a)_j = e^{a_j-\max a}/\sum_k e^{a_k-\max a}`.

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    a = np.asarray(a, dtype=float)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention, :math:`\mathrm{softmax}(QK^\top/\sqrt d)\,V`.

    ``q`` has shape ``(N, d)``, ``k`` shape ``(M, d)``, ``v`` shape ``(M, d_v)``.
    Returns the output ``(N, d_v)`` and the attention weights ``(N, M)``, whose
    rows sum to one.

    >>> q = np.array([[1.0, 0.0]])
    >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> out, a = attention(q, k, np.array([[10.0], [20.0]]))
    >>> a.round(4), out.round(4)   # weights e^{1/sqrt 2} : 1
    (array([[0.6698, 0.3302]]), array([[13.3024]]))
    """
    d = q.shape[-1]
    scores = q @ k.T / np.sqrt(d)                      # (N, M)
    weights = softmax(scores, axis=-1)                 # (N, M), rows sum to 1
    return weights @ v, weights                        # (N, d_v), (N, M)


def cross_attention(features: np.ndarray, context: np.ndarray, w_q: np.ndarray, w_k: np.ndarray,
                    w_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Single-head cross-attention from image features to text tokens (Rombach et al., Sec. 3.3).

    .. math:: Q = \varphi(z_t)W_Q,\quad K = \tau(y)W_K,\quad V = \tau(y)W_V,\qquad
              \mathrm{softmax}\!\Bigl(\frac{QK^\top}{\sqrt d}\Bigr)V

    ``features`` :math:`\varphi(z_t)` has shape ``(N, C)`` (a flattened
    :math:`h\times w` feature map of the UNet), ``context`` :math:`\tau(y)` shape
    ``(M, d_\tau)`` (the text tokens), ``w_q`` shape ``(C, d)``, ``w_k`` shape
    ``(d_\tau, d)`` and ``w_v`` shape ``(d_\tau, d_v)``.  Returns the output
    ``(N, d_v)`` and the weights ``(N, M)``: row :math:`i` says how much image
    position :math:`i` reads from each token.

    >>> rng = np.random.default_rng(0)
    >>> out, a = cross_attention(rng.normal(size=(16, 8)), rng.normal(size=(5, 6)),
    ...                          rng.normal(size=(8, 4)), rng.normal(size=(6, 4)),
    ...                          rng.normal(size=(6, 8)))
    >>> out.shape, a.shape, bool(np.allclose(a.sum(axis=1), 1.0))
    ((16, 8), (16, 5), True)
    """
    q = features @ w_q        # (N, C) @ (C, d)      -> (N, d)
    k = context @ w_k         # (M, d_tau) @ (d_tau, d) -> (M, d)
    v = context @ w_v         # (M, d_tau) @ (d_tau, d_v) -> (M, d_v)
    return attention(q, k, v)


def multi_head_cross_attention(features: np.ndarray, context: np.ndarray, w_q: np.ndarray,
                               w_k: np.ndarray, w_v: np.ndarray, w_o: np.ndarray,
                               num_heads: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Multi-head cross-attention: split :math:`d` into ``num_heads`` heads of :math:`d/h` each.

    Shapes as in :func:`cross_attention` with ``w_v`` of shape ``(d_\tau, d)`` and
    the output projection ``w_o`` of shape ``(d, C)``.  Each head attends on its
    own slice of the projected queries, keys and values; the head outputs are
    concatenated back to ``(N, d)`` and projected to ``(N, C)``.  Returns the
    output ``(N, C)`` and the weights ``(num_heads, N, M)``.

    >>> rng = np.random.default_rng(1)
    >>> out, a = multi_head_cross_attention(rng.normal(size=(16, 8)), rng.normal(size=(5, 6)),
    ...     rng.normal(size=(8, 8)), rng.normal(size=(6, 8)), rng.normal(size=(6, 8)),
    ...     rng.normal(size=(8, 8)), num_heads=2)
    >>> out.shape, a.shape
    ((16, 8), (2, 16, 5))
    """
    d = w_q.shape[1]
    if d % num_heads:
        raise ValueError("the projection width must be divisible by num_heads")
    dh = d // num_heads
    q = (features @ w_q).reshape(-1, num_heads, dh).transpose(1, 0, 2)   # (h, N, d/h)
    k = (context @ w_k).reshape(-1, num_heads, dh).transpose(1, 0, 2)    # (h, M, d/h)
    v = (context @ w_v).reshape(-1, num_heads, dh).transpose(1, 0, 2)    # (h, M, d/h)
    weights = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(dh), axis=-1)    # (h, N, M)
    heads = weights @ v                                                   # (h, N, d/h)
    out = heads.transpose(1, 0, 2).reshape(-1, d)                         # (N, d)
    return out @ w_o, weights                                             # (N, C), (h, N, M)


def timestep_embedding(t: np.ndarray, dim: int, max_period: float = 10000.0) -> np.ndarray:
    r"""Sinusoidal embedding of the diffusion time step, shape ``(len(t), dim)``.

    With :math:`k=\mathrm{dim}/2` frequencies :math:`\omega_i = P^{-i/k}`,
    :math:`i=0,\dots,k-1` (:math:`P` = ``max_period``), the embedding is

    .. math:: e(t) = \bigl[\cos(\omega_0 t),\dots,\cos(\omega_{k-1}t),\
              \sin(\omega_0 t),\dots,\sin(\omega_{k-1}t)\bigr],

    the layout of ``timestep_embedding`` in the LDM / Stable Diffusion UNet code,
    which takes it from OpenAI's guided-diffusion.  The original DDPM code
    (``get_timestep_embedding`` of Ho et al.) puts the sines first,
    ``[sin, cos]``, with frequencies :math:`P^{-i/(k-1)}`; the Transformer of
    Vaswani et al. interleaves sines and cosines.  ``dim`` must be even.

    >>> timestep_embedding(np.array([0.0]), 4)   # t = 0: all cosines 1, all sines 0
    array([[1., 1., 0., 0.]])
    >>> e = timestep_embedding(np.array([1.0]), 4)   # frequencies 1 and 10000**-0.5 = 0.01
    >>> e.round(4)
    array([[0.5403, 1.    , 0.8415, 0.01  ]])
    """
    if dim % 2:
        raise ValueError("dim must be even")
    half = dim // 2
    freqs = max_period ** (-np.arange(half) / half)            # (dim/2,)
    args = np.asarray(t, dtype=float)[:, None] * freqs[None]   # (T, dim/2)
    return np.concatenate([np.cos(args), np.sin(args)], axis=-1)   # (T, dim)


def scaled_linear_beta_schedule(num_steps: int = 1000, beta_start: float = 0.00085,
                                beta_end: float = 0.012) -> np.ndarray:
    r"""The noise schedule of Stable Diffusion v1: :math:`\sqrt{\beta_t}` evenly spaced.

    .. math:: \beta_t=\Bigl(\sqrt{\beta_\text{start}}+\tfrac{t-1}{T-1}
              \bigl(\sqrt{\beta_\text{end}}-\sqrt{\beta_\text{start}}\bigr)\Bigr)^2,
              \qquad t=1,\dots,T

    with :math:`T=1000`, :math:`\beta_\text{start}=0.00085`,
    :math:`\beta_\text{end}=0.012` (``linear_start`` / ``linear_end`` of the
    v1 config; the LDM code calls this schedule ``linear``, diffusers calls it
    ``scaled_linear``).  DDPM's linear schedule is
    :func:`mlnotes.diffusion.linear_beta_schedule`.

    >>> betas = scaled_linear_beta_schedule()
    >>> round(float(betas[0]), 8), round(float(betas[-1]), 8)
    (0.00085, 0.012)
    >>> round(float(np.prod(1.0 - betas)), 4)   # alpha-bar at t = T
    0.0047
    """
    return np.linspace(np.sqrt(beta_start), np.sqrt(beta_end), num_steps) ** 2
