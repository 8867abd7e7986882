"""mlnotes.dilated against torch.nn.functional.conv2d(dilation=...), a naive loop and the post's numbers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlnotes import dilated as D


def conv2d_naive(x, w, stride, padding, dilation):
    """Four nested loops straight from the definition."""
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = np.zeros((c_in, h + 2 * padding, wd + 2 * padding))
    xp[:, padding:padding + h, padding:padding + wd] = x
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        for u in range(ho):
            for v in range(wo):
                for i in range(kh):
                    for j in range(kw):
                        r, c = stride * u + dilation * i, stride * v + dilation * j
                        out[o, u, v] += w[o, :, i, j] @ xp[:, r, c]
    return out


def test_worked_examples_in_post():
    assert D.effective_kernel_size(3, 1) == 3
    assert D.effective_kernel_size(3, 2) == 5
    assert D.effective_kernel_size(3, 4) == 9
    assert D.conv_output_size(7, 3, dilation=2) == 3
    assert D.conv_output_size(32, 3, stride=2, padding=2, dilation=4) == 14
    assert D.conv_output_size(32, 3, padding=4, dilation=4) == 32       # p = d keeps the size for k = 3
    assert D.dependency_1d([2, 2]).tolist() == [1, 0, 2, 0, 3, 0, 2, 0, 1]
    assert D.gridding_holes([2, 2, 2]) == 169 - 49
    assert D.gridding_holes([1, 2, 5]) == 0
    assert D.gridding_holes([1, 2, 9]) > 0
    assert D.gridding_holes([2, 4, 8]) > 0


def test_conv2d_against_torch():
    rng = np.random.default_rng(0)
    for _ in range(30):
        c_in, c_out = rng.integers(1, 4, 2)
        kh, kw = rng.integers(1, 5, 2)
        s, p, d = int(rng.integers(1, 4)), int(rng.integers(0, 4)), int(rng.integers(1, 5))
        h, w_ = rng.integers(d * (max(kh, kw) - 1) + 1, 20, 2)
        x = rng.standard_normal((c_in, h, w_))
        w = rng.standard_normal((c_out, c_in, kh, kw))
        ours = D.conv2d(x, w, stride=s, padding=p, dilation=d)
        ref = F.conv2d(torch.tensor(x)[None], torch.tensor(w), stride=s, padding=p, dilation=d)[0].numpy()
        assert ours.shape == ref.shape
        assert ours.shape[1:] == (D.conv_output_size(h, kh, s, p, d), D.conv_output_size(w_, kw, s, p, d))
        assert np.allclose(ours, ref, rtol=1e-10, atol=1e-10)


def test_conv2d_against_naive_and_dilated_kernel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 11, 13))
    w = rng.standard_normal((3, 2, 3, 3))
    for s, p, d in [(1, 0, 1), (1, 2, 2), (2, 1, 3), (3, 3, 2)]:
        ours = D.conv2d(x, w, s, p, d)
        assert np.allclose(ours, conv2d_naive(x, w, s, p, d))
        # a dilated kernel == an ordinary convolution with zeros inserted
        assert np.allclose(ours, D.conv2d(x, D.dilate_kernel(w, d), s, p, 1))


def test_output_size_against_torch_exhaustively():
    for n in range(1, 16):
        for k in range(1, 5):
            for d in range(1, 4):
                for s in range(1, 4):
                    for p in range(0, 3):
                        expected = D.conv_output_size(n, k, s, p, d)
                        if expected < 1:
                            continue
                        x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
                        out = F.conv1d(x, w, stride=s, padding=p, dilation=d)
                        assert out.shape[-1] == expected, (n, k, s, p, d)


def test_dependency_pattern_against_pytorch_gradient():
    """The path counts are the input gradient of the centre output through all-ones dilated convolutions."""
    for dilations in ([2, 2, 2], [1, 2, 5], [1, 2, 4, 8]):
        dep = D.dependency_1d(dilations)
        r = len(dep)
        x = torch.zeros(1, 1, r, r, dtype=torch.float64, requires_grad=True)
        h = x
        for d in dilations:
            h = F.conv2d(h, torch.ones(1, 1, 3, 3, dtype=torch.float64), dilation=d)
        assert h.shape[-1] == 1
        h.sum().backward()
        assert np.array_equal(x.grad[0, 0].numpy(), np.outer(dep, dep))


@pytest.mark.parametrize(("dilations", "holes"), [([1, 1, 1], False), ([2, 2, 2], True), ([1, 2, 3], False),
                                                  ([1, 2, 5], False), ([2, 4, 8], True), ([3, 3, 3], True)])
def test_gridding_and_common_factor(dilations, holes):
    dep = D.dependency_1d(dilations)
    assert (D.gridding_holes(dilations) > 0) == holes
    # with a common factor g > 1 only every g-th position is ever seen
    g = np.gcd.reduce(dilations)
    assert np.all(dep[np.arange(len(dep)) % g != 0] == 0)


def test_sufficient_condition_for_no_holes():
    """d_1 = 1 and d_l <= r_{l-1} for every later layer  =>  no gridding holes (3x3 kernels)."""
    import itertools

    for n in (2, 3, 4):
        for rates in itertools.product(range(1, 12), repeat=n):
            if rates[0] != 1:
                continue
            covered, ok = 1, True
            for d in rates:
                ok &= d <= covered
                covered += 2 * d
            if ok:
                assert D.gridding_holes(list(rates)) == 0, rates
    assert D.gridding_holes([1, 4]) > 0 and D.gridding_holes([1, 4, 1]) == 0


def test_removing_a_stride_with_dilation_gives_the_dense_output():
    """conv, avgpool/2, conv, conv  ==  every 2nd output of  conv, avgpool/1, conv(d=2), conv(d=2)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 24, 24))
    w1, w2 = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((3, 3, 3, 3))
    w3 = rng.standard_normal((1, 3, 3, 3))
    pool = np.eye(3)[:, :, None, None] * np.full((2, 2), 0.25)             # (3, 3, 2, 2) average pooling
    original = D.conv2d(D.conv2d(D.conv2d(D.conv2d(x, w1), pool, stride=2), w2), w3)
    dense = D.conv2d(D.conv2d(D.conv2d(D.conv2d(x, w1), pool, stride=1), w2, dilation=2), w3, dilation=2)
    assert original.shape == (1, 7, 7) and dense.shape == (1, 13, 13)
    assert np.allclose(dense[:, ::2, ::2], original)
    # without the dilation the dense network computes something else
    wrong = D.conv2d(D.conv2d(D.conv2d(D.conv2d(x, w1), pool, stride=1), w2), w3)
    assert not np.allclose(wrong[:, ::2, ::2][:, :7, :7], original)
