"""mlnotes.bias: the perceptron with and without bias, the post's worked example, BatchNorm vs PyTorch."""

import numpy as np
import pytest
import torch

from mlnotes import bias as B

X1 = np.array([[1.0], [2.0], [3.0], [4.0]])
Y1 = np.array([-1, -1, 1, 1])


def test_worked_example_in_post():
    # without bias the boundary is x = 0: all four points land on one side, two are wrong
    w, b, errors, passes = B.train_perceptron(X1, Y1, use_bias=False)
    assert passes == 100 and w == pytest.approx([2.0])
    assert b == 0.0 and errors == 2
    # with bias the perceptron converges to w = 3, b = -7: threshold T = 7/3
    w, b, errors, passes = B.train_perceptron(X1, Y1, use_bias=True)
    assert passes == 10
    assert errors == 0
    assert w == pytest.approx([3.0]) and b == pytest.approx(-7.0)
    assert B.boundary_distance(w, b) == pytest.approx(7 / 3)
    assert B.threshold_to_bias(7 / 3) == pytest.approx(b / w[0])


def test_no_line_through_the_origin_separates_the_1d_example():
    # any w != 0 gives one label to every positive x, so the best is 2 errors out of 4
    for w in np.linspace(-5, 5, 101):
        assert np.sum(B.perceptron_predict(X1, np.array([w]), 0.0) != Y1) >= 2


def test_shifted_blobs_need_a_bias():
    x, y = B.shifted_blobs(50, shift=3.0, seed=0)
    assert np.all(x > 0)
    _, _, err_without, _ = B.train_perceptron(x, y, use_bias=False, epochs=1000)
    w, b, err_with, _ = B.train_perceptron(x, y, use_bias=True, epochs=1000)
    assert err_with == 0
    assert err_without >= 0.3 * len(y)
    # the learned boundary sits far from the origin, between the two blob centres
    d = B.boundary_distance(w, b)
    assert 1.0 < d < 6.0
    # the same data centred at the origin can be fitted without a bias
    _, _, err_centred, _ = B.train_perceptron(x - 3.0, y, use_bias=False, epochs=1000)
    assert err_centred == 0


def test_bias_equals_weight_on_constant_input():
    """Training with a bias == training without one on inputs augmented by a constant 1."""
    x, y = B.shifted_blobs(30, seed=3)
    w, b, _, _ = B.train_perceptron(x, y, use_bias=True, epochs=500)
    xa = np.hstack([x, np.ones((len(x), 1))])
    wa, ba, _, _ = B.train_perceptron(xa, y, use_bias=False, epochs=500)
    assert ba == 0.0
    assert np.allclose(wa, np.append(w, b))


def test_predict_against_naive_loop():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((20, 3)), rng.standard_normal(3), 0.7
    naive = [1 if sum(wi * xi for wi, xi in zip(w, row, strict=True)) + b > 0 else -1 for row in x]
    assert np.array_equal(B.perceptron_predict(x, w, b), naive)


def test_batch_norm_removes_any_bias():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((16, 5))
    shift = rng.standard_normal(5) * 10
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    assert np.allclose(B.batch_norm(z, gamma, beta), B.batch_norm(z + shift, gamma, beta), atol=1e-10)
    out = B.batch_norm(z)
    assert np.allclose(out.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(out.std(axis=0), 1, atol=1e-4)


def test_batch_norm_against_torch_and_zero_bias_gradient():
    torch.manual_seed(0)
    x = torch.randn(32, 6, dtype=torch.float64)
    lin = torch.nn.Linear(6, 4, bias=True).double()
    bn = torch.nn.BatchNorm1d(4).double().train()
    with torch.no_grad():
        bn.weight.copy_(torch.randn(4))
        bn.bias.copy_(torch.randn(4))
    out = bn(lin(x))
    ours = B.batch_norm(lin(x).detach().numpy(), bn.weight.detach().numpy(), bn.bias.detach().numpy(),
                        eps=bn.eps)
    assert np.allclose(out.detach().numpy(), ours, atol=1e-10)
    # the same layer without its bias gives the same output ...
    no_bias = x @ lin.weight.T
    assert torch.allclose(bn(no_bias), out, atol=1e-10)
    # ... and the loss gradient reaching the linear layer's bias is zero
    loss = (out * torch.randn_like(out)).sum()
    loss.backward()
    assert lin.bias.grad.abs().max().item() < 1e-10
    assert lin.weight.grad.abs().max().item() > 1e-3


def test_far_from_origin_means_slow_bias():
    """The farther the data sits from the origin, the more passes the perceptron needs (see the post)."""
    x, y = B.shifted_blobs(50, shift=3.0, seed=0)
    passes = []
    for shift in (0.0, 3.0, 6.0):
        w, b, errors, p = B.train_perceptron(x - 3.0 + shift, y, epochs=1000)
        assert errors == 0
        passes.append(p)
    assert passes == [1, 22, 161]


def test_numbers_printed_in_the_post():
    """The remaining numbers in the prose and the figure, at the precision printed."""
    # w = (3, 4), b = -10: ||w|| = 5, the boundary is 2 from the origin
    assert B.boundary_distance(np.array([3.0, 4.0]), -10.0) == pytest.approx(2.0)
    # the 1-d example with bias: boundary x = 7/3 ≈ 2.33
    w, b, _, _ = B.train_perceptron(X1, Y1, use_bias=True)
    assert B.boundary_distance(w, b) == pytest.approx(2.33, abs=5e-3)
    # without bias the weight cycles 2 -> 1 -> -1 -> 2, three updates in every pass after the first
    # (the rule of eq. neural-network-bias-update, replayed to see inside a pass)
    wt, trace = 0.0, []
    for _ in range(100):
        updates = []
        for xi, yi in zip(X1[:, 0], Y1, strict=True):
            if yi * xi * wt <= 0:
                wt += yi * xi
                updates.append(wt)
        trace.append(updates)
    assert trace[0] == [-1.0, 2.0]
    assert all(u == [1.0, -1.0, 2.0] for u in trace[1:])
    assert B.train_perceptron(X1, Y1, use_bias=False)[0] == pytest.approx([wt])
    # the 2-d figure: without a bias (1000 passes) exactly half the points are wrong, with one none
    x, y = B.shifted_blobs(50, shift=3.0, seed=0)
    assert B.train_perceptron(x, y, use_bias=False, epochs=1000)[2] == len(y) / 2 == 50
    assert B.train_perceptron(x, y, use_bias=True, epochs=1000)[2] == 0
    # the separating line x1 + x2 = 6 sits 3 sqrt 2 ≈ 4.2 from the origin
    assert B.boundary_distance(np.array([1.0, 1.0]), -6.0) == pytest.approx(4.2, abs=0.05)
