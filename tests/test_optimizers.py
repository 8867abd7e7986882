"""mlnotes.optimizers against torch.optim.Adam / AdamW step by step, closed forms and the post's numbers."""

import numpy as np
import pytest
import torch

from mlnotes import optimizers as o

HYPER = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)


def quadratic_grad(A, b):
    """Gradient of 0.5 theta^T A theta - b^T theta, plus a little deterministic noise."""
    rng = np.random.default_rng(42)
    noise = rng.normal(scale=0.1, size=(500, len(b)))
    return lambda theta, t: A @ theta - b + noise[t - 1]


def torch_path(opt_cls, theta0, grad_fn, steps, **kw):
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = opt_cls([p], **kw)
    path = [p.detach().numpy().copy()]
    for t in range(1, steps + 1):
        opt.zero_grad()
        p.grad = torch.tensor(grad_fn(p.detach().numpy(), t))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(6, 6))
    A = Q @ Q.T / 6 + np.diag(np.logspace(-2, 1, 6))
    return rng.normal(size=6), quadratic_grad(A, rng.normal(size=6))


@pytest.mark.parametrize("wd", [0.0, 0.1, 1.0])
def test_adam_with_weight_decay_matches_torch(problem, wd):
    theta0, grad = problem
    ours = o.run(o.adam_step, theta0, grad, 300, weight_decay=wd, **HYPER)
    theirs = torch_path(torch.optim.Adam, theta0, grad, 300, lr=HYPER["lr"], betas=(0.9, 0.999),
                        eps=1e-8, weight_decay=wd)
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("wd", [0.0, 0.1, 1.0])
def test_adamw_matches_torch(problem, wd):
    theta0, grad = problem
    ours = o.run(o.adamw_step, theta0, grad, 300, weight_decay=wd, **HYPER)
    theirs = torch_path(torch.optim.AdamW, theta0, grad, 300, lr=HYPER["lr"], betas=(0.9, 0.999),
                        eps=1e-8, weight_decay=wd)
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-11)


def test_l2_and_decoupled_agree_only_without_decay(problem):
    theta0, grad = problem
    adam = o.run(o.adam_step, theta0, grad, 100, weight_decay=0.0, **HYPER)
    adamw = o.run(o.adamw_step, theta0, grad, 100, weight_decay=0.0, **HYPER)
    assert np.allclose(adam, adamw)
    adam = o.run(o.adam_step, theta0, grad, 100, weight_decay=0.1, **HYPER)
    adamw = o.run(o.adamw_step, theta0, grad, 100, weight_decay=0.1, **HYPER)
    assert np.abs(adam - adamw).max() > 1e-3


def test_worked_example_first_step():
    z = np.zeros(1)
    kw = dict(lr=0.1, weight_decay=0.1)
    # Adam + L2: g' = 0.6, m = 0.06, v = 0.00036, m_hat = 0.6, v_hat = 0.36 -> step 0.1
    th, m, v = o.adam_step(np.ones(1), np.array([0.5]), z, z, 1, **kw)
    assert m == pytest.approx([0.06]) and v == pytest.approx([0.00036])
    assert th == pytest.approx([0.9], abs=1e-7)
    # the decay made no difference at all on this step
    assert o.adam_step(np.ones(1), np.array([0.5]), z, z, 1, lr=0.1)[0] == pytest.approx(th, abs=1e-7)
    # AdamW: shrink by 1 - 0.1 * 0.1 = 0.99 first, then the same Adam step
    assert o.adamw_step(np.ones(1), np.array([0.5]), z, z, 1, **kw)[0] == pytest.approx([0.89], abs=1e-7)
    # and PyTorch agrees
    for cls, want in ((torch.optim.Adam, 0.9), (torch.optim.AdamW, 0.89)):
        p = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
        opt = cls([p], lr=0.1, weight_decay=0.1)
        p.grad = torch.tensor([0.5], dtype=torch.float64)
        opt.step()
        assert p.item() == pytest.approx(want, abs=1e-7)


def test_bias_correction_constant_gradient():
    """E[m_t] = (1 - beta1^t) E[g]: exact for a constant gradient, so m_hat = g at every t."""
    m = v = np.zeros(3)
    g = np.array([0.5, -2.0, 3.0])
    for t in range(1, 30):
        m, v, m_hat, v_hat = o.adam_moments(m, v, g, t)
        assert m == pytest.approx((1 - 0.9 ** t) * g)
        assert m_hat == pytest.approx(g) and v_hat == pytest.approx(g ** 2)
    assert m[0] / g[0] == pytest.approx(1 - 0.9 ** 29)


def test_bias_correction_in_expectation_monte_carlo():
    rng = np.random.default_rng(1)
    g = 1.0 + rng.normal(size=(10, 200_000))                 # stationary, E[g] = 1, E[g^2] = 2
    m = v = np.zeros(200_000)
    for t in range(1, 11):
        m, v, m_hat, v_hat = o.adam_moments(m, v, g[t - 1], t)
    assert m.mean() == pytest.approx(1 - 0.9 ** 10, abs=0.01)
    assert m_hat.mean() == pytest.approx(1.0, abs=0.01)
    assert v_hat.mean() == pytest.approx(2.0, abs=0.02)
    assert v.mean() == pytest.approx(2.0 * (1 - 0.999 ** 10), abs=0.001)


def test_effective_decay_rate_under_gradient_noise():
    """Adam + L2 decays noisy parameters much more weakly; AdamW decays all at lr * wd."""
    rng = np.random.default_rng(2)
    lr, wd, T, P = 1e-3, 0.1, 300, 4000
    for sigma in (0.01, 1.0, 10.0):
        for step, decoupled in ((o.adam_step, False), (o.adamw_step, True)):
            path = o.run(step, np.ones(P), lambda th, t, s=sigma: s * rng.standard_normal(P), T,
                         lr=lr, weight_decay=wd)
            measured = -np.log(path[-1].mean()) / T
            predicted = o.effective_decay_rate(np.array(sigma), lr, wd, decoupled=decoupled)
            assert measured == pytest.approx(predicted, rel=0.15), (sigma, step.__name__)
    ratio = o.effective_decay_rate(np.array(0.01), lr, wd) / o.effective_decay_rate(np.array(10.0), lr, wd)
    assert ratio > 90                                        # 0.01 vs 10: about 100 times


def test_adam_is_nearly_invariant_to_gradient_scale(problem):
    """Scaling every gradient by S changes Adam only through eps (cf. loss scaling)."""
    theta0, grad = problem
    base = o.run(o.adam_step, theta0, grad, 100, **HYPER)
    scaled = o.run(o.adam_step, theta0, lambda th, t: 2.0 ** 16 * grad(th, t), 100, **HYPER)
    assert np.allclose(base, scaled, atol=1e-6)
    # with tiny gradients eps dominates and the invariance breaks
    tiny = o.run(o.adam_step, theta0, lambda th, t: 1e-9 * grad(th, t), 100, **HYPER)
    tiny_scaled = o.run(o.adam_step, theta0, lambda th, t: 1e-9 * 2.0 ** 16 * grad(th, t), 100, **HYPER)
    assert np.abs(tiny - tiny_scaled).max() > 1e-2


def test_forgetting_to_unscale_weakens_l2_not_adamw(problem):
    """With S-scaled gradients, Adam + L2 acts like decay wd / S; AdamW's decay is untouched."""
    theta0, grad = problem
    S, wd = 2.0 ** 10, 0.5
    kw = dict(HYPER, weight_decay=wd)
    scaled = o.run(o.adam_step, theta0, lambda th, t: S * grad(th, t), 200, **kw)
    weak = o.run(o.adam_step, theta0, grad, 200, **dict(HYPER, weight_decay=wd / S))
    right = o.run(o.adam_step, theta0, grad, 200, **kw)
    assert np.allclose(scaled, weak, atol=1e-6)
    assert np.abs(scaled - right).max() > 1e-2
    w_scaled = o.run(o.adamw_step, theta0, lambda th, t: S * grad(th, t), 200, **kw)
    w_right = o.run(o.adamw_step, theta0, grad, 200, **kw)
    assert np.allclose(w_scaled, w_right, atol=1e-6)


def test_decay_time_constant():
    """Without loss gradients AdamW shrinks by (1 - lr * wd)^N ~ exp(-lr * wd * N)."""
    lr, wd = 3e-4, 0.1
    tau = 1 / (lr * wd)
    assert tau == pytest.approx(33_333, rel=1e-4)
    path = o.run(o.adamw_step, np.ones(1), lambda th, t: 0 * th, 1000, lr=lr, weight_decay=wd)
    assert path[-1, 0] == pytest.approx((1 - lr * wd) ** 1000)
    assert (1 - lr * wd) ** round(tau) == pytest.approx(np.exp(-1), rel=1e-4)
    # a cosine schedule from lr to 0 over N steps decays by exp(-wd * sum(lr_t)) ~ exp(-wd * lr * N / 2)
    N = 20_000
    lrs = lr * 0.5 * (1 + np.cos(np.pi * np.arange(N) / N))
    assert np.prod(1 - lrs * wd) == pytest.approx(np.exp(-wd * lr * N / 2), rel=1e-3)
    assert np.exp(-wd * lr * N / 2) == pytest.approx(0.741, abs=1e-3)
