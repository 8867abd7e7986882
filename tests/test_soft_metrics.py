"""mlnotes.soft_metrics against finite differences, PyTorch autograd, the hard metrics and the numbers
quoted in posts/differentiable-metrics.md."""

import itertools

import numpy as np
import pytest

from mlnotes import soft_metrics as M

P_EX = np.array([0.9, 0.4, 0.2, 0.1])     # worked example of the post
Y_EX = np.array([1, 1, 0, 0])


def fd_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("seed", range(4))
def test_gradients_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    n = 12
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    p = rng.uniform(0.05, 0.95, n)
    z = rng.normal(0, 2, n)
    assert np.allclose(M.soft_iou_grad(p, y), fd_grad(lambda q: M.soft_iou(q, y), p), atol=1e-7)
    for squared in (False, True):
        assert np.allclose(M.soft_dice_grad(p, y, squared),
                           fd_grad(lambda q, s=squared: M.soft_dice(q, y, s), p), atol=1e-7)
    for tau in (1.0, 0.3):
        assert np.allclose(M.soft_accuracy_grad(z, y, tau),
                           fd_grad(lambda v, t=tau: M.soft_accuracy(v, y, t), z), atol=1e-7)


def test_iou_gradient_against_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 30)
    z = rng.normal(size=30)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64)
    pt = torch.sigmoid(zt)
    inter = (pt * yt).sum()
    (inter / (pt.sum() + yt.sum() - inter)).backward()
    p = M.sigmoid(z)
    assert np.allclose(M.soft_iou_grad(p, y) * p * (1 - p), zt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_worked_example_numbers():
    assert M.soft_iou(P_EX, Y_EX) == pytest.approx(1.3 / 2.3)
    assert M.soft_dice(P_EX, Y_EX) == pytest.approx(2.6 / 3.6)
    assert M.hard_iou(np.log(P_EX / (1 - P_EX)), Y_EX) == pytest.approx(0.5)
    # the digits printed in the post, each to half a unit in its last place
    assert M.soft_iou(P_EX, Y_EX) == pytest.approx(0.5652, abs=5e-5)
    assert M.soft_dice(P_EX, Y_EX) == pytest.approx(0.7222, abs=5e-5)
    g = M.soft_iou_grad(P_EX, Y_EX)
    assert g == pytest.approx([1 / 2.3, 1 / 2.3, -1.3 / 2.3**2, -1.3 / 2.3**2])
    assert g[0] == pytest.approx(0.4348, abs=5e-5) and g[2] == pytest.approx(-0.2457, abs=5e-5)
    U = 1 / g[0]                                                     # dJ/dp = 1/U on the foreground
    inter = -g[2] * U**2                                             # and -I/U^2 on the background
    assert (U, inter) == pytest.approx((2.3, 1.3), abs=5e-2)
    assert U - 2 + inter == pytest.approx(1.6, abs=5e-2)             # sum p = U - sum y + I
    dice_den = 2 * inter / M.soft_dice(P_EX, Y_EX)                   # D = 2I/S
    assert dice_den == pytest.approx(3.6, abs=5e-2)
    assert 2 * dice_den == pytest.approx(7.2, abs=5e-3)
    assert dice_den**2 == pytest.approx(12.96, abs=5e-3)
    d = M.soft_dice_grad(P_EX, Y_EX)
    assert d[0] == pytest.approx(0.3549, abs=5e-5) and d[2] == pytest.approx(-0.2006, abs=5e-5)
    # pushing the second pixel over 0.5 takes the hard IoU from 0.5 to 1
    flipped = np.array([0.9, 0.6, 0.2, 0.1])
    assert M.hard_iou(np.log(flipped / (1 - flipped)), Y_EX) == pytest.approx(1.0)


def test_soft_equals_hard_on_binary_probabilities():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 50)
    pred = rng.integers(0, 2, 50)
    z = np.where(pred == 1, 1.0, -1.0)
    assert M.soft_iou(pred.astype(float), y) == pytest.approx(M.hard_iou(z, y))
    assert M.soft_accuracy(z, y, tau=1e-4) == pytest.approx(M.hard_accuracy(z, y))


def test_soft_accuracy_tends_to_hard_as_tau_shrinks():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    z = rng.normal(size=200)
    taus = (1.0, 0.1, 0.01, 1e-4)
    # per-pixel distance of the soft prediction from the hard one shrinks monotonically ...
    dev = [np.mean(np.abs(M.sigmoid(z / t) - (z > 0))) for t in taus]
    assert dev == sorted(dev, reverse=True) and dev[-1] < 1e-3
    # ... and so does the gap between the metrics (up to cancellation)
    assert abs(M.soft_accuracy(z, y, taus[-1]) - M.hard_accuracy(z, y)) < 1e-3
    assert abs(M.soft_accuracy(z, y, taus[0]) - M.hard_accuracy(z, y)) > 1e-2


def test_hard_accuracy_is_piecewise_constant():
    """Moving the bias by less than the gap to the nearest logit changes nothing: zero gradient."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 40)
    z = rng.normal(size=40)
    h = 0.5 * np.min(np.abs(z))
    assert M.hard_accuracy(z + h, y) == M.hard_accuracy(z - h, y) == M.hard_accuracy(z, y)


def test_lovasz_extension_agrees_with_set_function_on_vertices():
    y = np.array([1, 1, 0, 0, 1])
    for bits in itertools.product([0, 1], repeat=5):
        m = np.array(bits, dtype=float)
        assert M.lovasz_jaccard(m, y) == pytest.approx(M.jaccard_set_loss(m, y))


def test_jaccard_set_loss_is_one_minus_iou():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 30)
    pred = rng.integers(0, 2, 30)
    mistakes = (pred != y).astype(int)
    z = np.where(pred == 1, 1.0, -1.0)
    assert M.jaccard_set_loss(mistakes, y) == pytest.approx(1 - M.hard_iou(z, y))
    assert M.lovasz_jaccard(mistakes.astype(float), y) == pytest.approx(1 - M.hard_iou(z, y))


def test_lovasz_extension_is_convex():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 15)
    for _ in range(200):
        a, b = rng.random(15), rng.random(15)
        lam = rng.random()
        mid = M.lovasz_jaccard(lam * a + (1 - lam) * b, y)
        assert mid <= lam * M.lovasz_jaccard(a, y) + (1 - lam) * M.lovasz_jaccard(b, y) + 1e-12


def test_toy_experiment_of_the_post():
    """On the 5%-positive toy, soft accuracy drifts to 'all background'; soft IoU keeps the object."""
    X, y = M.make_toy_data(np.random.default_rng(0))
    acc_run = M.fit_logistic(X, y, "accuracy")
    iou_run = M.fit_logistic(X, y, "iou")
    assert acc_run["accuracy"][-1] == pytest.approx(0.95) and acc_run["iou"][-1] == 0.0
    assert iou_run["iou"][-1] == pytest.approx(0.25) and iou_run["accuracy"][-1] == pytest.approx(0.94)
    sharp = M.fit_logistic(X, y, "accuracy", tau=0.3)
    assert sharp["accuracy"][-1] > acc_run["accuracy"][-1]
    assert sharp["accuracy"][-1] == pytest.approx(0.96, abs=5e-3)     # "0.96 左右"
    # the log-likelihood run lies between the two soft-accuracy runs in accuracy and between
    # soft accuracy and soft IoU in hard IoU
    loglik = M.fit_logistic(X, y, "loglik")
    assert acc_run["accuracy"][-1] < loglik["accuracy"][-1] < sharp["accuracy"][-1]
    assert acc_run["iou"][-1] < loglik["iou"][-1] < iou_run["iou"][-1]


def test_lovasz_worked_example():
    m = M.lovasz_errors(P_EX, Y_EX)
    assert m == pytest.approx([0.1, 0.6, 0.2, 0.1])
    assert M.lovasz_jaccard(m, Y_EX) == pytest.approx(0.6 * 0.5 + 0.2 / 6 + 0.1 / 3)
    assert M.lovasz_jaccard(m, Y_EX) == pytest.approx(0.3667, abs=5e-5)
    assert 1 - M.soft_iou(P_EX, Y_EX) == pytest.approx(0.4348, abs=5e-5)
    # adding pixels 2, 3, 1, 4 (largest error first): Delta(S_k) = 1/2, 2/3, 1, 1
    order = [1, 2, 0, 3]
    delta = [M.jaccard_set_loss(np.isin(np.arange(4), order[:k]).astype(int), Y_EX) for k in range(5)]
    assert delta[1:] == pytest.approx([1 / 2, 2 / 3, 1, 1])
    assert np.diff(delta) == pytest.approx([0.5, 1 / 6, 1 / 3, 0])
    unions = [np.sum((Y_EX == 1) | np.isin(np.arange(4), order[:k])) for k in range(1, 5)]
    assert unions == [2, 3, 3, 4]
