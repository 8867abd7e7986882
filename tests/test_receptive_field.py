"""mlnotes.receptive_field: both recursions agree and match the field measured by autograd in PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlnotes import receptive_field as R

# the worked example of the post: conv3, conv3, pool2/2, conv3, conv3, pool2/2, conv3
K = [3, 3, 2, 3, 3, 2, 3]
S = [1, 1, 2, 1, 1, 2, 1]


def random_stack(rng, n):
    kernels = rng.integers(1, 6, n).tolist()
    strides = rng.integers(1, 4, n).tolist()
    dilations = rng.integers(1, 4, n).tolist()
    paddings = rng.integers(0, 3, n).tolist()
    return kernels, strides, dilations, paddings


def closed_form(kernels, strides, dilations):
    """1 + sum_l (k_hat_l - 1) prod_{i<l} s_i."""
    total, jump = 1, 1
    for k, s, d in zip(kernels, strides, dilations, strict=True):
        total += d * (k - 1) * jump
        jump *= s
    return total


def test_worked_example_in_post():
    r, j = R.rf_bottom_up(K, S)
    assert r.tolist() == [1, 3, 5, 6, 10, 14, 16, 24]
    assert j.tolist() == [1, 1, 1, 2, 2, 2, 4, 4]
    assert R.rf_top_down(K, S) == [24, 22, 20, 10, 8, 6, 3, 1]
    # WaveNet-style block: kernel 2, dilations 1, 2, ..., 512
    assert R.rf_bottom_up([2] * 10, [1] * 10, [2**i for i in range(10)])[0][-1] == 1024
    # Yu & Koltun's context module: 3x3 with dilations 1, 1, 2, 4, 8, 16, 1
    r, _ = R.rf_bottom_up([3] * 7, [1] * 7, [1, 1, 2, 4, 8, 16, 1])
    assert r.tolist() == [1, 3, 5, 9, 17, 33, 65, 67]


def test_top_down_equals_bottom_up_equals_closed_form():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, s, d, _ = random_stack(rng, int(rng.integers(1, 8)))
        r, _ = R.rf_bottom_up(k, s, d)
        assert R.rf_top_down(k, s, d)[0] == r[-1] == closed_form(k, s, d)


def empirical_span(index, kernels, strides, paddings, dilations, size):
    """Back-propagate from one output pixel through all-ones convolutions; return the nonzero extent."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s, p, d in zip(kernels, strides, paddings, dilations, strict=True):
        h = F.conv2d(h, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, padding=p, dilation=d)
    assert h.shape[-1] > index, "output too small for this test"
    h[0, 0, index, index].backward()
    g = x.grad[0, 0]
    rows = torch.nonzero(g.abs().sum(1) > 0).flatten()
    cols = torch.nonzero(g.abs().sum(0) > 0).flatten()
    assert rows.tolist() == cols.tolist()
    return int(rows.min()), int(rows.max()), g


def test_against_pytorch_gradient_extent():
    rng = np.random.default_rng(1)
    checked = 0
    while checked < 40:
        k, s, d, p = random_stack(rng, int(rng.integers(1, 5)))
        size = 120
        r, j = R.rf_bottom_up(k, s, d)
        lo, hi = R.rf_span(1, k, s, p, d)
        out = size
        for kk, ss, pp, dd in zip(k, s, p, d, strict=True):
            out = (out + 2 * pp - dd * (kk - 1) - 1) // ss + 1
        if out < 2 or lo < 0 or hi >= size:
            continue  # keep the receptive field of output 1 inside the image
        emp_lo, emp_hi, _ = empirical_span(1, k, s, p, d, size)
        assert (emp_lo, emp_hi) == (lo, hi)
        assert emp_hi - emp_lo + 1 == r[-1]
        checked += 1


def test_worked_example_against_pytorch():
    lo, hi, _ = empirical_span(2, K, S, [0] * 7, [1] * 7, 64)
    assert hi - lo + 1 == 24
    assert (lo, hi) == R.rf_span(2, K, S, [0] * 7) == (8, 31)


def test_effective_rf_matches_pytorch_gradient():
    """With uniform weights the gradient is the L-fold convolution of a box (Luo et al.)."""
    layers, k = 10, 3
    x = torch.zeros(1, 1, 41, 41, dtype=torch.float64, requires_grad=True)
    h = x
    for _ in range(layers):
        h = F.conv2d(h, torch.full((1, 1, k, k), 1.0 / k**2, dtype=torch.float64), padding=k // 2)
    h[0, 0, 20, 20].backward()
    g = x.grad[0, 0].numpy()
    prof = R.effective_rf_profile(k, layers)                  # (21,)
    expected = np.zeros((41, 41))
    expected[10:31, 10:31] = np.outer(prof, prof)
    assert np.allclose(g, expected, atol=1e-15)


def test_effective_rf_std_and_shrinking_fraction():
    for k, layers in [(3, 1), (3, 10), (5, 4), (7, 20)]:
        prof = R.effective_rf_profile(k, layers)
        pos = np.arange(len(prof)) - (len(prof) - 1) / 2
        assert prof.sum() == pytest.approx(1.0)
        assert np.sqrt((prof * pos**2).sum()) == pytest.approx(R.effective_rf_std(k, layers))
    # the numbers in the post, at the precision printed: 3x3, 10 and 40 layers
    theory = [R.rf_bottom_up([3] * n, [1] * n)[0][-1] for n in (10, 40)]
    assert theory == [21, 81]
    assert R.effective_rf_std(3, 10) == pytest.approx(2.58, abs=5e-3)
    assert R.effective_rf_std(3, 40) == pytest.approx(5.16, abs=5e-3)
    frac = [2 * R.effective_rf_std(3, n) / r for n, r in zip((10, 40), theory, strict=True)]
    assert frac == pytest.approx([0.25, 0.13], abs=5e-3)
    # four times the layers: the field grows about 4 times, the effective field exactly 2 times
    assert theory[1] / theory[0] == pytest.approx(4, abs=0.5)
    assert R.effective_rf_std(3, 40) / R.effective_rf_std(3, 10) == pytest.approx(2.0)
    # about 97% of the gradient mass lies within +-2 std (the middle 11 positions) for 10 layers
    prof = R.effective_rf_profile(3, 10)
    pos = np.arange(21) - 10
    inside = np.abs(pos) <= 2 * R.effective_rf_std(3, 10)
    assert inside.sum() == 11
    assert prof[inside].sum() == pytest.approx(0.97, abs=5e-3)


def test_same_padding_centres_the_field():
    """With p_l = (k_hat_l - 1) / 2 the field of output unit i is centred on input pixel i * j_L."""
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(1, 7))
        k = (2 * rng.integers(0, 3, n) + 1).tolist()
        s = rng.integers(1, 4, n).tolist()
        d = rng.integers(1, 4, n).tolist()
        p = [dd * (kk - 1) // 2 for kk, dd in zip(k, d, strict=True)]
        _, j = R.rf_bottom_up(k, s, d)
        for i in (0, 1, 5):
            lo, hi = R.rf_span(i, k, s, p, d)
            assert (lo + hi) / 2 == i * j[-1]


def test_span_versus_count_with_gaps():
    """A 1x1 stride-2 layer (k_hat < s) leaves gaps: the formula gives the span 5, only 3 pixels are read."""
    k, s = [1, 3], [2, 1]
    assert R.rf_top_down(k, s)[0] == R.rf_bottom_up(k, s)[0][-1] == 5
    lo, hi, g = empirical_span(0, k, s, [0, 0], [1, 1], 20)
    assert (lo, hi) == R.rf_span(0, k, s, [0, 0]) == (0, 4)
    assert torch.nonzero(g.abs().sum(0) > 0).flatten().tolist() == [0, 2, 4]


def test_numbers_printed_in_the_post():
    """Growth claims in the prose: stride-1 3x3 stacks add 2 per layer; after two 2/2 poolings a 3x3
    conv contributes 4 times as much as at the start."""
    for n in range(1, 30):
        assert R.rf_bottom_up([3] * n, [1] * n)[0][-1] == 2 * n + 1
    first = R.rf_bottom_up([3, 2, 2], [1, 2, 2])[0][-1] - R.rf_bottom_up([1, 2, 2], [1, 2, 2])[0][-1]
    late = R.rf_bottom_up([2, 2, 3], [2, 2, 1])[0][-1] - R.rf_bottom_up([2, 2, 1], [2, 2, 1])[0][-1]
    assert (first, late) == (2, 8)
    # the worked example: 24 x 24, neighbouring outputs 4 apart
    r, j = R.rf_bottom_up(K, S)
    assert (r[-1], j[-1]) == (24, 4)
