r"""Floating-point formats, FP16 underflow and dynamic loss scaling.

A binary floating-point format with :math:`e` exponent bits and :math:`m` stored
mantissa bits encodes a normal number as
:math:`(-1)^s\,(1.f)_2\,2^{E-\text{bias}}` with :math:`\text{bias}=2^{e-1}-1`
and stored exponent :math:`1\le E\le 2^e-2` (all zeros are reserved for zero and
subnormals, all ones for infinity and NaN).  :func:`format_range` derives the
largest value, the smallest normal and subnormal values and the machine epsilon
from :math:`(e, m)`; the other functions show what these limits mean for training:
small updates vanish, small gradients underflow, and a dynamic loss scale keeps
scaled gradients inside the FP16 range.

Explained in the post ``posts/mixed-precision``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FORMATS",
    "format_range",
    "spacing_at_one",
    "add_in",
    "underflow_fraction",
    "update_loss_scale",
    "loss_scaled_sgd",
]

#: (exponent bits, stored mantissa bits); one more bit is the sign.
FORMATS = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}


def format_range(exp_bits: int, mant_bits: int) -> dict[str, float]:
    r"""Range and precision of a binary floating-point format.

    .. math::
        \text{bias} = 2^{e-1}-1, \\
        \text{max} = (2-2^{-m})\,2^{\text{bias}}, \\
        \text{min normal} = 2^{1-\text{bias}}, \\
        \text{min subnormal} = 2^{1-\text{bias}-m}, \\
        \epsilon = 2^{-m}

    >>> r = format_range(*FORMATS["fp16"])
    >>> r["max"], r["min_normal"], r["min_subnormal"] == 2.0 ** -24, r["eps"]
    (65504.0, 6.103515625e-05, True, 0.0009765625)
    """
    bias = 2 ** (exp_bits - 1) - 1
    return {
        "bias": float(bias),
        "max": (2.0 - 2.0 ** -mant_bits) * 2.0 ** bias,
        "min_normal": 2.0 ** (1 - bias),
        "min_subnormal": 2.0 ** (1 - bias - mant_bits),
        "eps": 2.0 ** -mant_bits,
    }


def spacing_at_one(mant_bits: int) -> tuple[float, float]:
    r"""Gap to the next number above 1, and the largest update that ``1 + u`` rounds away.

    Numbers in :math:`[1,2)` are spaced :math:`2^{-m}` apart; with round-to-nearest-even
    any :math:`0<u\le 2^{-m-1}` gives :math:`1+u=1`.

    >>> spacing_at_one(10)        # FP16
    (0.0009765625, 0.00048828125)
    """
    return 2.0 ** -mant_bits, 2.0 ** (-mant_bits - 1)


def add_in(dtype, a: float, b: float) -> float:
    """``a + b`` with both operands and the result stored in ``dtype``.

    >>> add_in(np.float16, 1.0, 1e-4)            # the update is lost
    1.0
    >>> round(add_in(np.float32, 1.0, 1e-4), 6)  # FP32 keeps it
    1.0001
    """
    t = np.dtype(dtype).type
    return float(t(t(a) + t(b)))


def underflow_fraction(values: np.ndarray, scale: float = 1.0) -> float:
    """Fraction of the non-zero ``values`` that become zero when ``values * scale`` is cast to FP16.

    >>> underflow_fraction(np.array([1e-3, 1e-6, 1e-8, 1e-9]))            # last two < 2**-25
    0.5
    >>> underflow_fraction(np.array([1e-3, 1e-6, 1e-8, 1e-9]), scale=1024.0)
    0.0
    """
    values = np.asarray(values, dtype=np.float64)
    nonzero = values != 0
    scaled = (values[nonzero] * scale).astype(np.float16)
    return float(np.mean(scaled == 0))


def update_loss_scale(scale: float, good_steps: int, found_inf: bool,
                      growth_factor: float = 2.0, backoff_factor: float = 0.5,
                      growth_interval: int = 2000) -> tuple[float, int]:
    r"""One update of a dynamic loss scale; returns ``(new_scale, new_good_steps)``.

    On overflow the scale is multiplied by ``backoff_factor`` and the counter reset
    (the optimizer step is skipped by the caller).  After ``growth_interval``
    consecutive finite steps the scale is multiplied by ``growth_factor``.  The
    defaults are those of ``torch.amp.GradScaler``.

    >>> update_loss_scale(1024.0, 5, True)
    (512.0, 0)
    >>> update_loss_scale(1024.0, 1, False, growth_interval=2)
    (2048.0, 0)
    """
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps == growth_interval:
        return scale * growth_factor, 0
    return scale, good_steps


def loss_scaled_sgd(w0: np.ndarray, grads: np.ndarray, lr: float, init_scale: float,
                    growth_interval: int):
    r"""SGD on FP32 master weights with FP16 gradients and a dynamic loss scale.

    At step :math:`t` the true gradient :math:`g_t` (a row of ``grads``, shape
    ``(T, P)``) is produced in FP16 as :math:`\mathrm{fp16}(S_t g_t)`.  If any entry
    is inf/NaN the step is skipped; otherwise the master weights take
    :math:`w \leftarrow w - \eta\,\mathrm{fp16}(S_t g_t)/S_t` in FP32.  Then
    :func:`update_loss_scale` updates :math:`S_t`.

    Returns ``(weights (T+1, P), scales (T+1,), skipped (T,))``; ``scales[t]`` is the
    scale used at step ``t``.

    >>> g = np.array([[1.0], [1.0], [1e5], [1.0]])         # step 2 overflows: 1e5 * 8 > 65504
    >>> w, s, skipped = loss_scaled_sgd(np.zeros(1), g, 0.1, 4.0, growth_interval=2)
    >>> s.tolist(), skipped.tolist()
    ([4.0, 4.0, 8.0, 4.0, 4.0], [False, False, True, False])
    """
    w = np.asarray(w0, dtype=np.float32).copy()                  # (P,) master weights, FP32
    scale, good = float(init_scale), 0
    weights, scales, skipped = [w.copy()], [scale], []
    for g in np.asarray(grads, dtype=np.float64):                # g: (P,)
        with np.errstate(over="ignore", invalid="ignore"):
            g16 = (g * scale).astype(np.float16)                 # scaled FP16 gradient
        found_inf = not np.all(np.isfinite(g16))
        if not found_inf:
            w = w - np.float32(lr) * (g16.astype(np.float32) / np.float32(scale))
        skipped.append(found_inf)
        scale, good = update_loss_scale(scale, good, found_inf, growth_interval=growth_interval)
        weights.append(w.copy())
        scales.append(scale)
    return np.array(weights), np.array(scales), np.array(skipped)
