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
    _, _, m_hat, v_hat = o.adam_moments(z, z, np.array([0.5 + 0.1 * 1.0]), 1)
    assert m_hat == pytest.approx([0.6]) and v_hat == pytest.approx([0.36])
    # without L2: m_hat = 0.5, sqrt(v_hat) = 0.5
    _, _, m_hat, v_hat = o.adam_moments(z, z, np.array([0.5]), 1)
    assert m_hat == pytest.approx([0.5]) and np.sqrt(v_hat) == pytest.approx([0.5])
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
    assert ratio == pytest.approx(100, abs=0.5)              # as printed: "相差约 100 倍"


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
    assert tau == pytest.approx(33_333, abs=0.5)             # as printed: "τ≈33,333 步"
    path = o.run(o.adamw_step, np.ones(1), lambda th, t: 0 * th, 1000, lr=lr, weight_decay=wd)
    assert path[-1, 0] == pytest.approx((1 - lr * wd) ** 1000)
    assert (1 - lr * wd) ** round(tau) == pytest.approx(np.exp(-1), rel=1e-4)
    # a cosine schedule from lr to 0 over N steps decays by exp(-wd * sum(lr_t)) ~ exp(-wd * lr * N / 2)
    N = 20_000
    lrs = lr * 0.5 * (1 + np.cos(np.pi * np.arange(N) / N))
    assert np.prod(1 - lrs * wd) == pytest.approx(np.exp(-wd * lr * N / 2), rel=1e-3)
    assert np.exp(-wd * lr * N / 2) == pytest.approx(0.741, abs=5e-4)


def _quadratic(seed=5, n=4):
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(n, n))
    A, b = Q @ Q.T / n + np.eye(n), rng.normal(size=n)
    return rng.normal(size=n), lambda th: A @ th - b


def test_proposition2_scalar_preconditioner_has_a_matching_l2():
    """M = kI: L2 with lambda' = lambda / k gives the decoupled iterates exactly, step after step."""
    lr, wd, k = 0.1, 0.1, 2.0
    lam = o.matching_l2(np.full(4, k), wd)
    assert lam == pytest.approx([0.05] * 4)
    th = np.ones(2)
    assert o.preconditioned_step(th, np.zeros(2), k, lr, weight_decay=wd) == pytest.approx([0.99, 0.99])
    assert o.preconditioned_step(th, np.zeros(2), k, lr, l2=0.05) == pytest.approx([0.99, 0.99])
    theta0, grad = _quadratic()
    a = b = theta0
    for _ in range(50):
        a = o.preconditioned_step(a, grad(a), k, lr, weight_decay=wd)
        b = o.preconditioned_step(b, grad(b), k, lr, l2=lam[0])
        assert np.allclose(a, b, rtol=0, atol=1e-12)
    # SGD is M = I, where lambda' = lambda
    assert o.matching_l2(np.ones(3), wd) == pytest.approx([wd] * 3)


def test_proposition2_diagonal_preconditioner_has_none():
    """M = diag(1, 4): each coordinate needs its own lambda'; no single value matches decoupled decay."""
    lr, wd = 0.1, 0.1
    m, th, z = np.array([1.0, 4.0]), np.ones(2), np.zeros(2)
    decayed = o.preconditioned_step(th, z, m, lr, weight_decay=wd)
    assert decayed == pytest.approx([0.99, 0.99])
    assert o.matching_l2(m, wd) == pytest.approx([0.1, 0.025])
    assert o.preconditioned_step(th, z, m, lr, l2=0.1) == pytest.approx([0.99, 0.96])
    assert o.preconditioned_step(th, z, m, lr, l2=0.025) == pytest.approx([0.9975, 0.99])
    # the single lambda' closest to decoupled decay (minimax over both coordinates) is 0.04, still 0.006 off
    grid = np.linspace(0.0, 0.2, 20_001)
    err = np.array([np.abs(o.preconditioned_step(th, z, m, lr, l2=lam) - decayed).max() for lam in grid])
    i = int(err.argmin())
    assert grid[i] == pytest.approx(0.04, abs=1e-5)
    assert err[i] == pytest.approx(0.006, abs=1e-6)
    assert err.min() > 0.005
    # with a per-coordinate coefficient (the scale-adjusted L2) the iterates coincide again, over many steps
    theta0, grad = _quadratic(n=2)
    a = b = theta0
    for _ in range(50):
        a = o.preconditioned_step(a, grad(a), m, lr, weight_decay=wd)
        b = o.preconditioned_step(b, grad(b), m, lr, l2=o.matching_l2(m, wd))
        assert np.allclose(a, b, rtol=0, atol=1e-12)
    # ... but not with any one scalar, e.g. the mean of the two
    c = theta0
    for _ in range(50):
        c = o.preconditioned_step(c, grad(c), m, lr, l2=float(o.matching_l2(m, wd).mean()))
    assert np.abs(c - a).max() > 1e-3


def test_no_single_l2_coefficient_reproduces_adamw(problem):
    """Real Adam is not literally Proposition 2's optimizer, but numerically the conclusion holds here."""
    theta0, grad = problem
    adamw = o.run(o.adamw_step, theta0, grad, 300, weight_decay=0.1, **HYPER)
    assert round(float(np.abs(adamw[-1] - adamw[0]).max()), 1) == 2.6
    gaps = [np.abs(o.run(o.adam_step, theta0, grad, 300, weight_decay=lam, **HYPER) - adamw).max()
            for lam in np.logspace(-4, 2, 241)]
    assert round(float(min(gaps)), 3) == 0.085


def test_numbers_printed_in_the_post():
    """Numbers in the prose and the figure's alt text not covered above, at the precision printed."""
    # bias correction: "约 20 步后 beta1^t 就降到约 0.12" (a constant gradient makes m_t / g = 1 - beta1^t)
    m = v = np.zeros(1)
    for t in range(1, 21):
        m, v, _, _ = o.adam_moments(m, v, np.ones(1), t)
    assert 1 - m[0] == pytest.approx(0.12, abs=5e-3)
    m1 = o.adam_moments(np.zeros(1), np.zeros(1), np.ones(1), 1)[0]
    assert m1[0] == pytest.approx(0.1)                       # the factor 1 - beta1 at t = 1
    # Proposition 2 with M = diag(1, 4): lambda' = 0.1 decays coordinate 2 four times as much,
    # lambda' = 0.025 decays coordinate 1 a quarter as much, as decoupled decay
    th, z, mm = np.ones(2), np.zeros(2), np.array([1.0, 4.0])
    shrink = lambda **kw: 1 - o.preconditioned_step(th, z, mm, 0.1, **kw)   # noqa: E731
    base = shrink(weight_decay=0.1)
    assert shrink(l2=0.1)[1] / base[1] == pytest.approx(4)
    assert shrink(l2=0.025)[0] / base[0] == pytest.approx(0.25)
    # the figure (eta = 1e-3, lambda = 0.1): AdamW at 1e-4;
    # Adam + L2 about 1e-3 at sigma = 1e-3 and about 1e-5 at sigma = 10
    lr, wd = 1e-3, 0.1
    sig = np.array([1e-3, 10.0])
    assert o.effective_decay_rate(sig, lr, wd, decoupled=True) == pytest.approx([1e-4, 1e-4], abs=5e-5)
    l2 = o.effective_decay_rate(sig, lr, wd)
    assert l2[0] == pytest.approx(1e-3, abs=5e-4)
    assert l2[1] == pytest.approx(1e-5, abs=5e-6)
