"""mlnotes.activations against PyTorch (values and autograd derivatives), closed forms, the post's numbers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlnotes import activations as A

# float64 everywhere; keep away from the kinks at exactly 0, where conventions differ
X = np.concatenate([np.random.default_rng(0).normal(0, 3, 500), np.linspace(-8, 8, 161) + 0.013])
TOL = dict(rtol=1e-10, atol=1e-12)

PAIRS = [  # (ours, our derivative, torch function)
    (A.sigmoid, A.sigmoid_grad, torch.sigmoid),
    (A.tanh, A.tanh_grad, torch.tanh),
    (A.relu, A.relu_grad, F.relu),
    (lambda x: A.leaky_relu(x, 0.1), lambda x: A.leaky_relu_grad(x, 0.1), lambda t: F.leaky_relu(t, 0.1)),
    (A.elu, A.elu_grad, F.elu),
    (lambda x: A.elu(x, 0.5), lambda x: A.elu_grad(x, 0.5), lambda t: F.elu(t, alpha=0.5)),
    (A.gelu, A.gelu_grad, F.gelu),
    (A.gelu_tanh, A.gelu_tanh_grad, lambda t: F.gelu(t, approximate="tanh")),
    (A.swish, A.swish_grad, F.silu),
    (lambda x: A.swish(x, 1.702), lambda x: A.swish_grad(x, 1.702), lambda t: t * torch.sigmoid(1.702 * t)),
]


def torch_value_and_grad(fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize(("f", "df", "tf"), PAIRS)
def test_against_torch(f, df, tf):
    value, grad = torch_value_and_grad(tf, X)
    assert np.allclose(f(X), value, **TOL)
    assert np.allclose(df(X), grad, **TOL)


def test_prelu_against_torch():
    t = torch.tensor(X, dtype=torch.float64)
    out = F.prelu(t, torch.tensor([0.25], dtype=torch.float64))
    assert np.allclose(A.leaky_relu(X, 0.25), out.numpy(), **TOL)


@pytest.mark.parametrize(("f", "df"), [(p[0], p[1]) for p in PAIRS])
def test_derivatives_against_finite_differences(f, df):
    h = 1e-6
    assert np.allclose(df(X), (f(X + h) - f(X - h)) / (2 * h), atol=1e-6)


def test_glu_against_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 10))
    assert np.allclose(A.glu(x), F.glu(torch.tensor(x), dim=-1).numpy(), **TOL)


def test_swiglu_ffn_against_torch_and_naive():
    rng = np.random.default_rng(2)
    x, w, v, w2 = rng.standard_normal((5, 8)), *rng.standard_normal((2, 8, 12)), rng.standard_normal((12, 8))
    xt, wt, vt, w2t = (torch.tensor(a) for a in (x, w, v, w2))
    ref = (F.silu(xt @ wt) * (xt @ vt)) @ w2t
    assert np.allclose(A.swiglu_ffn(x, w, v, w2), ref.numpy(), **TOL)
    # naive: one token, one hidden unit at a time
    naive = np.zeros_like(x)
    for i in range(5):
        for j in range(12):
            a, b = x[i] @ w[:, j], x[i] @ v[:, j]
            naive[i] += a / (1 + math.exp(-a)) * b * w2[j]
    assert np.allclose(A.swiglu_ffn(x, w, v, w2), naive)
    # SwiGLU with gate and value swapped in the GLU layout: glu([xV, xW]) uses a sigmoid gate, not SiLU
    assert not np.allclose(A.glu(np.concatenate([x @ v, x @ w], -1)), A.swish(x @ w) * (x @ v))


def test_identities():
    assert np.allclose(A.sigmoid_grad(X), A.sigmoid(X) * A.sigmoid(-X))
    assert np.allclose(A.tanh(X), 2 * A.sigmoid(2 * X) - 1)
    assert np.allclose(A.tanh_grad(X), 4 * A.sigmoid_grad(2 * X))
    assert np.allclose(A.elu_grad(X[X < 0]), A.elu(X[X < 0]) + 1)
    assert np.allclose(A.gelu(X) - A.gelu(-X), X)            # x Phi(x) + x (1 - Phi(x)) = x
    assert np.allclose(A.swish(X) - A.swish(-X), X)
    assert np.allclose(A.sigmoid(np.array([-800.0, 800.0])), [0.0, 1.0])   # no overflow


def test_numbers_in_post():
    grid = np.linspace(-10, 10, 200001)
    # sigma' peaks at 1/4, tanh' at 1; ten sigmoid layers shrink a gradient by at least 4^10
    assert A.sigmoid_grad(grid).max() == pytest.approx(0.25)
    assert A.tanh_grad(grid).max() == pytest.approx(1.0)
    assert np.prod(A.sigmoid_grad(np.zeros(10))) == pytest.approx(9.5e-7, abs=5e-8)
    assert A.sigmoid_grad(np.array(2.0)) == pytest.approx(0.105, abs=5e-4)
    assert A.sigmoid_grad(np.array(5.0)) == pytest.approx(0.0066, abs=5e-5)
    # GELU and SiLU minima, at the precision printed ("x≈-0.75 ... 约 -0.17", "x≈-1.28 ... 约 -0.28")
    g, s = A.gelu(grid), A.swish(grid)
    assert (grid[g.argmin()], g.min()) == pytest.approx((-0.75, -0.17), abs=5e-3)
    assert (grid[s.argmin()], s.min()) == pytest.approx((-1.28, -0.28), abs=5e-3)
    assert A.gelu(np.array([-1.0, 1.0, 2.0])) == pytest.approx([-0.1587, 0.8413, 1.9545], abs=5e-5)
    # the hand-worked SwiGLU example: SiLU(1, -1) = (sigma(1), -sigma(-1)) = (0.7311, -0.2689)
    out = A.swiglu_ffn(np.array([[1.0, -1.0]]), np.eye(2), np.eye(2), np.eye(2))
    assert out[0] == pytest.approx([0.7311, 0.2689], abs=5e-5)
    assert A.swish(np.array([1.0, -1.0])) == pytest.approx([0.7311, -0.2689], abs=5e-5)
    # the figure's alt text: on the plotted range the errors of c = 0 and x sigma(1.702 x) sit
    # about two orders of magnitude above the two tanh forms
    x = np.linspace(-4, 4, 801)
    g = A.gelu(x)
    err = lambda y: np.abs(y - g) + 1e-12                          # noqa: E731  (as plotted)
    tanh_forms = [err(A.gelu_tanh(x)), err(A.gelu_tanh(x, A.gelu_tanh_taylor_coefficient()))]
    for coarse in (err(A.gelu_tanh(x, 0.0)), err(A.swish(x, 1.702))):
        for fine in tanh_forms:
            assert round(float(np.median(np.log10(coarse / fine)))) == 2


def test_tanh_approximation_error():
    c_taylor = A.gelu_tanh_taylor_coefficient()
    assert c_taylor == pytest.approx((4 / math.pi - 1) / 6)
    assert c_taylor == pytest.approx(0.04554, abs=5e-6)
    x = np.linspace(-6, 6, 12001)
    err = lambda y: np.abs(y - A.gelu(x)).max()               # noqa: E731
    # the table, at the precision printed
    assert err(A.gelu_tanh(x)) == pytest.approx(4.7e-4, abs=5e-6)
    assert err(A.gelu_tanh(x, c_taylor)) == pytest.approx(7.5e-4, abs=5e-6)
    assert err(A.gelu_tanh(x, 0.0)) == pytest.approx(3.4e-2, abs=5e-4)
    assert err(A.swish(x, 1.702)) == pytest.approx(2.0e-2, abs=5e-4)
    # "最大误差出现在 |x|≈2.5 附近" (the Taylor coefficient's worst point)
    assert abs(x[np.abs(A.gelu_tanh(x, c_taylor) - A.gelu(x)).argmax()]) == pytest.approx(2.5, abs=0.05)
    # "去掉它，误差增大约 71 倍"
    assert err(A.gelu_tanh(x, 0.0)) / err(A.gelu_tanh(x)) == pytest.approx(71, abs=0.5)
    # the c that minimises the maximum error on [-6, 6] is about 0.0444, with error about 3.9e-4
    cs = np.linspace(0.040, 0.050, 201)
    errs = [err(A.gelu_tanh(x, c)) for c in cs]
    best = cs[np.argmin(errs)]
    assert best == pytest.approx(0.0444, abs=5e-5)
    assert min(errs) == pytest.approx(3.9e-4, abs=5e-6)
    # near 0 the Taylor coefficient is the better one: its error is O(x^5), the published one's O(x^4)
    small = np.linspace(-0.3, 0.3, 601)
    e_pub = np.abs(A.gelu_tanh(small) - A.gelu(small)).max()
    e_tay = np.abs(A.gelu_tanh(small, c_taylor) - A.gelu(small)).max()
    assert e_tay < e_pub / 5


def test_he_initialisation_keeps_relu_variance():
    """Var z_l = n v Var z_{l-1} / 2: constant for v = 2/n, halving per layer for v = 1/n."""
    n, depth = 256, 10
    he = A.relu_stack_variances(n, depth, 2 / n)
    assert 0.7 < he[-1] / he[0] < 1.4
    naive = A.relu_stack_variances(n, depth, 1 / n)
    assert naive[-1] / naive[0] == pytest.approx(2.0**-depth, rel=0.25)
    # the post's numbers for this seed: "约 1.09" and "约 0.0011"; 2^-10 ≈ 0.001
    assert he[-1] / he[0] == pytest.approx(1.09, abs=5e-3)
    assert naive[-1] / naive[0] == pytest.approx(0.0011, abs=5e-5)
    assert 2.0**-depth == pytest.approx(0.001, abs=5e-4)
    # E[ReLU(z)^2] = Var(z) / 2 for symmetric z
    z = np.random.default_rng(3).standard_normal(400_000)
    assert np.mean(A.relu(z) ** 2) == pytest.approx(0.5, abs=5e-3)


def test_gelu_and_silu_derivative_extremes():
    """GELU'' = phi(x) (2 - x^2): the slope peaks at sqrt 2 (1.129) and bottoms out at -sqrt 2 (-0.129)."""
    x = np.linspace(-6, 6, 120001)
    h = 1e-5
    second = (A.gelu_grad(x + h) - A.gelu_grad(x - h)) / (2 * h)
    assert np.allclose(second, A.normal_pdf(x) * (2 - x**2), atol=1e-8)
    g = A.gelu_grad(x)
    assert (x[g.argmax()], g.max()) == pytest.approx((math.sqrt(2), 1.1289), abs=1e-4)
    assert (x[g.argmin()], g.min()) == pytest.approx((-math.sqrt(2), -0.1289), abs=1e-4)
    # as printed: Phi(sqrt 2) + sqrt 2 phi(sqrt 2) ≈ 0.9214 + 0.2076 = 1.129, minimum ≈ -0.129
    r2 = np.array(math.sqrt(2))
    assert A.normal_cdf(r2) == pytest.approx(0.9214, abs=5e-5)
    assert math.sqrt(2) * A.normal_pdf(r2) == pytest.approx(0.2076, abs=5e-5)
    assert (g.max(), g.min()) == pytest.approx((1.129, -0.129), abs=5e-4)
    s = A.swish_grad(x)
    assert x[s.argmax()] == pytest.approx(2.40, abs=5e-3)
    assert x[s.argmin()] == pytest.approx(-2.40, abs=5e-3)
    assert (s.max(), s.min()) == pytest.approx((1.100, -0.100), abs=5e-4)


def test_swiglu_parameter_count_in_post():
    d, h = 768, 3072
    rng = np.random.default_rng(4)
    h2 = 2 * h // 3
    assert (h, h2) == (4 * d, 8 * d // 3) == (3072, 2048)      # Shazeer (2020), section 3.1: 3072 -> 2048
    assert 3 * d * h2 == 2 * d * h          # same parameter count, hence the same multiply-adds per token
    w, v, w2 = rng.standard_normal((d, h2)), rng.standard_normal((d, h2)), rng.standard_normal((h2, d))
    assert w.size + v.size + w2.size == 2 * d * h == 4_718_592
    assert A.swiglu_ffn(rng.standard_normal((2, d)), w, v, w2).shape == (2, d)

