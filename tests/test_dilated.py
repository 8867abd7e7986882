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


def test_numbers_printed_in_the_post():
    """The remaining numbers in the prose, the figure and its alt text."""
    from mlnotes import receptive_field as R

    # the docstring example: 5x5 input x = 5r + c, 2x2 all-ones kernel, d = 3 -> 2x2 output, top-left 36
    out = D.conv2d(np.arange(25.0).reshape(1, 5, 5), np.ones((1, 1, 2, 2)), dilation=3)
    assert out.shape == (1, 2, 2) and out[0, 0, 0] == 0 + 3 + 15 + 18 == 36
    # doubling dilations 1, 2, 4, ...: r_L = 2^(L+1) - 1 for 3x3 kernels
    for n in range(1, 8):
        assert len(D.dependency_1d([2**i for i in range(n)])) == 2 ** (n + 1) - 1
    # WaveNet: each further block of dilations 1, ..., 512 (kernel 2) adds only 1023
    block = [2**i for i in range(10)]
    r = [R.rf_bottom_up([2] * 10 * b, [1] * 10 * b, block * b)[0][-1] for b in (1, 2, 3)]
    assert r == [1024, 1024 + 1023, 1024 + 2 * 1023]
    # DeepLab: conv, pool 2/2, conv, conv has receptive fields 3, 4, 8, 12; so does the dense version
    assert R.rf_bottom_up([3, 2, 3, 3], [1, 2, 1, 1])[0][1:].tolist() == [3, 4, 8, 12]
    assert R.rf_bottom_up([3, 2, 3, 3], [1, 1, 1, 1], [1, 1, 2, 2])[0][1:].tolist() == [3, 4, 8, 12]
    # removing one stride 2 makes the later maps about 2 x 2 = 4 times larger (two strides: 16 times);
    # checked on a 224 input; the 24-pixel example above goes from 7 x 7 = 49 to 13 x 13 = 169

    def final_size(n, layers):
        for k, s, d in layers:
            n = D.conv_output_size(n, k, s, 0, d)
        return n

    one = final_size(224, [(3, 1, 1), (2, 1, 1), (3, 1, 2), (3, 1, 2)]) / final_size(
        224, [(3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1)])
    two = final_size(224, [(3, 1, 1), (2, 1, 1), (3, 1, 2), (2, 1, 2), (3, 1, 4)]) / final_size(
        224, [(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)])
    assert one**2 == pytest.approx(4, abs=0.5) and two**2 == pytest.approx(16, abs=0.5)
    assert (final_size(24, [(3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1)]),
            final_size(24, [(3, 1, 1), (2, 1, 1), (3, 1, 2), (3, 1, 2)])) == (7, 13)
    # gridding: dilations 2, 2, 2 span 1 + 3 * 2 * 2 = 13, only 7 x 7 = 49 seen, 120 holes
    dep = D.dependency_1d([2, 2, 2])
    assert len(dep) == 13 and np.count_nonzero(np.outer(dep, dep)) == 49
    assert D.gridding_holes([2, 2, 2]) == 169 - 49 == 120
    # the figure: 2, 4, 8 spans 29 with only every other row and column covered
    dep = D.dependency_1d([2, 4, 8])
    assert len(dep) == 29 and np.array_equal(np.nonzero(dep)[0], np.arange(0, 29, 2))
    assert D.gridding_holes([2, 4, 8]) == 29**2 - 15**2
    # 1, 2, 5 fills 17 x 17, with 1 to 4 paths per pixel
    grid = np.outer(D.dependency_1d([1, 2, 5]), D.dependency_1d([1, 2, 5]))
    assert grid.shape == (17, 17) and (grid.min(), grid.max()) == (1, 4)
    # 1, 2, 9: the first two layers cover 7, the last layer's gap is 9
    assert len(D.dependency_1d([1, 2])) == 7 and D.gridding_holes([1, 2, 9]) > 0
