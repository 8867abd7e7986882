"""mlnotes.autograd against torch.autograd, finite differences and the numbers in the post."""

import numpy as np
import pytest
import torch
from torch.autograd.gradcheck import GradcheckError

from mlnotes import autograd as ag
from mlnotes.autograd import Tensor

TOL = dict(rtol=1e-10, atol=1e-12)     # both sides in float64


def fd_grad(f, x, h=1e-6):
    """Central finite differences of a scalar function of one array."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_worked_example():
    """L = log(x*y + exp(x)) at x = 0.5, y = 2: x is used twice, its adjoints add up."""
    x, y = Tensor(0.5, requires_grad=True), Tensor(2.0, requires_grad=True)
    u = x * y + ag.exp(x)
    loss = ag.log(u)
    loss.backward()
    assert u.data == pytest.approx(1 + np.exp(0.5))
    u_bar = 1 / u.data
    # every number the post prints, to half a unit in its last printed digit
    half = 0.5e-5                                                 # printed with 5 decimals
    assert np.exp(0.5) == pytest.approx(1.64872, abs=half)       # b = e^x
    assert u.data == pytest.approx(2.64872, abs=half)
    assert loss.data == pytest.approx(0.97408, abs=half)
    assert u_bar == pytest.approx(0.37754, abs=half)
    assert u_bar * np.exp(0.5) == pytest.approx(0.62246, abs=half)  # to x via exp
    assert u_bar * 2.0 == pytest.approx(0.75508, abs=half)          # to x via the product
    assert u_bar * 0.5 == pytest.approx(0.18877, abs=half)          # to y via the product
    assert 2.0 + np.exp(0.5) == pytest.approx(3.64872, abs=half)    # y + e^x
    assert x.grad == pytest.approx(1.37754, abs=half)
    assert x.grad == pytest.approx(1.378, abs=0.5e-3)             # the figure's alt text
    assert y.grad == pytest.approx(0.18877, abs=half)
    nodes, bars = ag.adjoints(loss, 1.0)                          # adjoints of every node
    bar = {n.grad_fn or ("x" if n is x else "y"): float(g) for n, g in zip(nodes, bars, strict=True)}
    assert bar == pytest.approx({"LogBackward": 1.0, "AddBackward": u_bar, "MulBackward": u_bar,
                                 "ExpBackward": u_bar, "x": u_bar * 2.0 + u_bar * np.exp(0.5),
                                 "y": u_bar * 0.5}, rel=1e-12)
    assert bar["x"] == pytest.approx(1.37754, abs=half) and bar["y"] == pytest.approx(0.18877, abs=half)
    xt = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    torch.log(xt * yt + torch.exp(xt)).backward()
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12)
    assert y.grad == pytest.approx(yt.grad.item(), rel=1e-12)


def mlp_loss(lib, W1, b1, W2, X):
    """A two-layer net with every supported op; `lib` is the autograd module or torch."""
    h = lib.tanh(X @ W1 + b1)                                  # (N, H), b1 broadcast from (1, H)
    z = h @ W2                                                 # (N, 1)
    p = lib.exp(z * -1.0) + 1.0                                # 1 + e^{-z} > 0
    return (lib.log(p) * 0.5 - z * 0.1).sum() if lib is torch else ag.tsum(ag.log(p) * 0.5 - z * 0.1)


def test_matches_torch_on_random_network():
    rng = np.random.default_rng(0)
    arrays = dict(W1=rng.normal(size=(3, 4)), b1=rng.normal(size=(1, 4)),
                  W2=rng.normal(size=(4, 1)), X=rng.normal(size=(5, 3)))
    ours = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    loss = mlp_loss(ag, **ours)
    loss_t = mlp_loss(torch, **theirs)
    loss.backward()
    loss_t.backward()
    assert loss.data == pytest.approx(loss_t.item(), rel=1e-12)
    for k in arrays:
        assert np.allclose(ours[k].grad, theirs[k].grad.numpy(), **TOL), k


def test_matches_finite_differences():
    rng = np.random.default_rng(1)
    W1, b1, W2, X = (rng.normal(size=s) for s in [(3, 4), (1, 4), (4, 1), (5, 3)])
    t = Tensor(W1, requires_grad=True)
    mlp_loss(ag, t, Tensor(b1), Tensor(W2), Tensor(X)).backward()
    fd = fd_grad(lambda w: float(mlp_loss(ag, Tensor(w), Tensor(b1), Tensor(W2), Tensor(X)).data), W1)
    assert np.allclose(t.grad, fd, atol=1e-7)


def test_broadcasting_gradients_are_summed():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    ag.tsum(ta * tb + tb).backward()
    assert tb.grad.shape == (3,)
    assert np.allclose(tb.grad, a.sum(axis=0) + 4)
    assert np.allclose(ta.grad, np.broadcast_to(b, (4, 3)))


def test_vector_jacobian_product_matches_torch():
    """y.backward(v) gives v^T J, for a non-scalar y; rows of J come from one-hot v."""
    rng = np.random.default_rng(3)
    W, x, v = rng.normal(size=(3, 4)), rng.normal(size=(4, 1)), rng.normal(size=(3, 1))
    tx = Tensor(x, requires_grad=True)
    ag.tanh(Tensor(W) @ tx).backward(v)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tanh(torch.tensor(W) @ xt)
    (vjp_t,) = torch.autograd.grad(yt, xt, torch.tensor(v))
    assert np.allclose(tx.grad, vjp_t.numpy(), **TOL)
    # the full Jacobian, one reverse pass per output
    J = torch.autograd.functional.jacobian(lambda z: torch.tanh(torch.tensor(W) @ z), xt)
    J = J.reshape(3, 4).numpy()
    rows = []
    for i in range(3):
        tx = Tensor(x, requires_grad=True)
        ag.tanh(Tensor(W) @ tx).backward(np.eye(3)[:, [i]])
        rows.append(tx.grad[:, 0])
    assert np.allclose(np.array(rows), J, **TOL)
    assert np.allclose(J, (1 - np.tanh(W @ x) ** 2) * W)     # closed form diag(1 - y^2) W
    assert np.allclose(v.T @ J, tx_grad_of(W, x, v).T)


def tx_grad_of(W, x, v):
    tx = Tensor(x, requires_grad=True)
    ag.tanh(Tensor(W) @ tx).backward(v)
    return tx.grad


def test_non_scalar_backward_needs_a_vector():
    x = Tensor(np.ones((2, 1)), requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2.0).backward()
    xt = torch.ones(2, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (xt * 2.0).backward()


def test_gradients_accumulate_until_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for step in (1, 2, 3):
        ag.tsum(x * x).backward()
        (xt * xt).sum().backward()
        assert np.allclose(x.grad, step * 2 * np.array([1.0, 2.0]))
        assert np.allclose(x.grad, xt.grad.numpy())
    x.grad = None                                             # optimizer.zero_grad(set_to_none=True)
    xt.grad = None
    ag.tsum(x * x).backward()
    (xt * xt).sum().backward()
    assert np.allclose(x.grad, [2.0, 4.0]) and np.allclose(xt.grad.numpy(), [2.0, 4.0])


def test_leaves_keep_grad_intermediates_do_not():
    a = Tensor(2.0, requires_grad=True)
    c = Tensor(5.0)                                           # a constant: requires_grad=False
    b = a * c
    ag.exp(b * 0.1).backward()
    at = torch.tensor(2.0, requires_grad=True)
    ct = torch.tensor(5.0)
    bt = at * ct
    torch.exp(bt * 0.1).backward()
    assert (a.is_leaf, b.is_leaf, c.is_leaf) == (at.is_leaf, bt.is_leaf, ct.is_leaf) == (True, False, True)
    assert b.grad is None
    with pytest.warns(UserWarning, match="not a leaf"):      # PyTorch even warns about it
        assert bt.grad is None
    assert c.grad is None and ct.grad is None
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-6)
    assert not c.requires_grad and b.requires_grad and bt.requires_grad


def test_no_grad_records_nothing():
    x = Tensor([1.0], requires_grad=True)
    xt = torch.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = ag.exp(x) * 3.0
    with torch.no_grad():
        yt = torch.exp(xt) * 3.0
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    assert (yt.requires_grad, yt.grad_fn, yt.is_leaf) == (False, None, True)
    assert (ag.exp(x) * 3.0).requires_grad                    # switched back on after the block


def test_grad_fn_names_follow_torch():
    a, b = Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.ones((2, 2)), requires_grad=True)
    at, bt = torch.ones(2, 2, requires_grad=True), torch.ones(2, 2, requires_grad=True)
    pairs = [(a + b, at + bt), (a * b, at * bt), (a @ b, at @ bt), (ag.tanh(a), torch.tanh(at)),
             (ag.exp(a), torch.exp(at)), (ag.log(a), torch.log(at)), (ag.tsum(a), at.sum())]
    for ours, theirs in pairs:
        assert type(theirs.grad_fn).__name__ == ours.grad_fn + "0"


def test_topological_order_puts_parents_first():
    x, y = Tensor(0.5, requires_grad=True), Tensor(2.0, requires_grad=True)
    loss = ag.log(x * y + ag.exp(x))
    nodes, edges = ag.trace(loss)
    assert len(nodes) == 6 and len(edges) == 6               # x feeds both Mul and Exp
    assert all(p < c for p, c in edges)
    assert nodes[-1] is loss


def test_second_backward_fails_only_when_freed_saved_tensors_are_needed():
    """PyTorch frees saved tensors after backward; a graph that saved none can be run again."""
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    total = x + y                                        # AddBackward0 saves no tensors
    total.backward()
    total.backward()
    assert x.grad.item() == 2.0
    for make in (lambda: x * y, lambda: torch.exp(x)):   # these save their inputs / output
        out = make()
        out.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.backward()
        kept = make()
        kept.backward(retain_graph=True)
        kept.backward()                                  # retained: the second call works
    ours = ag.exp(Tensor(0.5, requires_grad=True))       # our closures keep their arrays
    ours.backward()
    ours.backward()


# --- custom operations: torch.autograd.Function and our Function -------------------------------

class LogXYExp(torch.autograd.Function):
    """L = log(x*y + exp(x)) as one node; backward uses differentiable ops, so it can be differentiated."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)                  # inputs, not u = x*y + exp(x)
        return torch.log(x * y + torch.exp(x))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        u = x * y + torch.exp(x)                     # recomputed from x, y: recorded under create_graph
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * (y + torch.exp(x)) / u
        if ctx.needs_input_grad[1]:
            grad_y = grad * x / u
        return grad_x, grad_y


class ForgetsExpPath(LogXYExp):
    """A wrong backward: the x adjoint misses the contribution that comes through exp(x)."""

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        u = x * y + torch.exp(x)
        return grad * y / u, grad * x / u


class SavesIntermediate(LogXYExp):
    """Right first derivatives, but u is saved from forward, where nothing is recorded."""

    @staticmethod
    def forward(ctx, x, y):
        u = x * y + torch.exp(x)
        ctx.save_for_backward(x, y, u)
        return torch.log(u)

    @staticmethod
    def backward(ctx, grad):
        x, y, u = ctx.saved_tensors
        return grad * (y + torch.exp(x)) / u, grad * x / u


class OnceDifferentiable(LogXYExp):
    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        return LogXYExp.backward(ctx, grad)


def scalars(x=0.5, y=2.0, dtype=torch.float64):
    return (torch.tensor(x, dtype=dtype, requires_grad=True),
            torch.tensor(y, dtype=dtype, requires_grad=True))


def test_custom_function_gives_the_worked_example_gradients():
    half = 0.5e-5
    x, y = scalars()
    loss = LogXYExp.apply(x, y)
    assert type(loss.grad_fn).__name__ == "LogXYExpBackward"      # one node instead of four
    loss.backward()
    assert loss.item() == pytest.approx(0.97408, abs=half)
    assert x.grad.item() == pytest.approx(1.37754, abs=half)
    assert y.grad.item() == pytest.approx(0.18877, abs=half)
    xb, yb = scalars()
    torch.log(xb * yb + torch.exp(xb)).backward()                # the same, from built-in ops
    assert x.grad.item() == pytest.approx(xb.grad.item(), rel=1e-14)
    assert y.grad.item() == pytest.approx(yb.grad.item(), rel=1e-14)
    xa, ya = Tensor(0.5, requires_grad=True), Tensor(2.0, requires_grad=True)
    ours = ag.LogXYExp.apply(xa, ya)                             # the same Function in our engine
    assert ours.grad_fn == "LogXYExpBackward" and ours.grad_fn == type(loss.grad_fn).__name__
    ours.backward()
    assert xa.grad == pytest.approx(x.grad.item(), rel=1e-14)
    assert ya.grad == pytest.approx(y.grad.item(), rel=1e-14)


def test_needs_input_grad_skips_inputs_without_grad():
    seen = []

    class Spy(LogXYExp):
        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return LogXYExp.backward(ctx, grad)

    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(2.0, dtype=torch.float64)                   # a constant
    Spy.apply(x, y).backward()
    assert seen == [(True, False)] and y.grad is None
    assert x.grad.item() == pytest.approx(1.37754, abs=0.5e-5)
    xa, ya = Tensor(0.5, requires_grad=True), Tensor(2.0)
    calls = []

    class OurSpy(ag.LogXYExp):
        @staticmethod
        def backward(ctx, grad):
            calls.append(ctx.needs_input_grad)
            return ag.LogXYExp.backward(ctx, grad)

    OurSpy.apply(xa, ya).backward()
    assert calls == [(True, False)] and ya.grad is None          # and backward ran once
    assert xa.grad == pytest.approx(x.grad.item(), rel=1e-14)
    xa, ya = Tensor([0.5, 1.0], requires_grad=True), Tensor([2.0, 3.0], requires_grad=True)
    OurSpy.apply(xa, ya).backward(np.ones(2))
    assert calls[1:] == [(True, True)]                           # two inputs, one backward call
    # returning a gradient for an input that needs none is not an error: it is dropped
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(2.0, dtype=torch.float64)
    SavesIntermediate.apply(x, y).backward()                     # its backward always returns both
    assert y.grad is None and x.grad.item() == pytest.approx(1.37754, abs=0.5e-5)


def test_forward_records_nothing_backward_records_only_under_create_graph():
    modes = []

    class Spy(LogXYExp):
        @staticmethod
        def forward(ctx, x, y):
            modes.append(("forward", torch.is_grad_enabled()))
            return LogXYExp.forward(ctx, x, y)

        @staticmethod
        def backward(ctx, grad):
            modes.append(("backward", torch.is_grad_enabled()))
            return LogXYExp.backward(ctx, grad)

    x, y = scalars()
    torch.autograd.grad(Spy.apply(x, y), x)
    (g,) = torch.autograd.grad(Spy.apply(x, y), x, create_graph=True)
    assert modes == [("forward", False), ("backward", False), ("forward", False), ("backward", True)]
    assert g.requires_grad and type(g.grad_fn).__name__ == "DivBackward0"


def test_gradcheck_in_double_precision():
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.uniform(0.1, 1.5, size=6), requires_grad=True)   # float64
    y = torch.tensor(rng.uniform(0.5, 2.0, size=6), requires_grad=True)
    assert torch.autograd.gradcheck(LogXYExp.apply, (x, y))
    assert torch.autograd.gradgradcheck(LogXYExp.apply, (x, y))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(ForgetsExpPath.apply, scalars())
    # the numbers gradcheck reports for the wrong backward at x = 0.5, y = 2
    xs, ys = scalars()
    (wrong,) = torch.autograd.grad(ForgetsExpPath.apply(xs, ys), xs)
    assert wrong.item() == pytest.approx(0.75508, abs=0.5e-5)     # only the path through x*y
    with torch.no_grad():
        fd = (LogXYExp.apply(xs + 1e-6, ys) - LogXYExp.apply(xs - 1e-6, ys)) / 2e-6
    assert fd.item() == pytest.approx(1.37754, abs=0.5e-5)


def test_gradcheck_fails_in_single_precision():
    x, y = scalars(dtype=torch.float32)
    with (pytest.warns(UserWarning, match="not a double precision"),
          pytest.raises(GradcheckError, match=r"numerical:tensor\(\[\[1\.4305\]\]\)")):
        torch.autograd.gradcheck(LogXYExp.apply, (x, y))
    with torch.no_grad():                                        # what gradcheck computes, in float32
        lo, hi = x - 1e-6, x + 1e-6
        fd = (LogXYExp.apply(hi, y) - LogXYExp.apply(lo, y)) / (2 * 1e-6)
    assert (hi - lo).item() == pytest.approx(2.0266e-6, abs=0.5e-10)   # the step itself is rounded
    assert fd.item() == pytest.approx(1.4305, abs=0.5e-4)
    x.grad = None
    LogXYExp.apply(x, y).backward()
    assert x.grad.item() == pytest.approx(1.3775, abs=0.5e-4)          # analytical, float32
    assert np.finfo(np.float64).eps == pytest.approx(2.2e-16, abs=0.5e-17)
    assert abs(fd.item() - 1.37754) > 1e-5 + 1e-3 * 1.37754           # outside atol + rtol*|numerical|
    assert np.finfo(np.float32).eps == pytest.approx(1.19e-7, abs=0.5e-9)
    assert np.finfo(np.float32).eps * 0.97408 / 2e-6 == pytest.approx(0.058, abs=0.5e-3)
    assert np.finfo(np.float64).eps * 0.97408 / 2e-6 == pytest.approx(1.1e-10, abs=0.5e-11)
    tolerance = 1e-5 + 1e-3 * 1.37754
    assert tolerance == pytest.approx(0.0014, abs=0.5e-4)
    assert 40 < np.finfo(np.float32).eps * 0.97408 / 2e-6 / tolerance < 50   # "forty-odd times"
    # truncation error h^2/6 |f'''| of the central difference, f''' from three backward passes
    x, y = scalars()
    (d1,) = torch.autograd.grad(LogXYExp.apply(x, y), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1, x, create_graph=True)
    (d3,) = torch.autograd.grad(d2, x)
    assert d3.item() == pytest.approx(3.28, abs=0.5e-2)
    assert 1e-12 / 6 * d3.item() == pytest.approx(5.5e-13, abs=0.5e-14)


def hessian_vector_product(f, inputs, v):
    """H v for a scalar f: differentiate the dot product of the gradient with v once more."""
    grads = torch.autograd.grad(f(*inputs), inputs, create_graph=True)
    dot = sum((g * vi).sum() for g, vi in zip(grads, v, strict=True))
    return torch.autograd.grad(dot, inputs)


def test_second_derivatives_through_the_custom_function():
    x, y = scalars()
    gx, gy = torch.autograd.grad(LogXYExp.apply(x, y), (x, y), create_graph=True)
    hxx, hxy = torch.autograd.grad(gx, (x, y), retain_graph=True)
    hyx, hyy = torch.autograd.grad(gy, (x, y))
    e, u = np.exp(0.5), 0.5 * 2 + np.exp(0.5)
    closed = np.array([[(e * u - (2 + e) ** 2) / u ** 2, (u - 0.5 * (2 + e)) / u ** 2],
                       [(u - 0.5 * (2 + e)) / u ** 2, -0.25 / u ** 2]])
    H = np.array([[hxx.item(), hxy.item()], [hyx.item(), hyy.item()]])
    assert np.allclose(H, closed, rtol=1e-12, atol=0)
    half = 0.5e-5
    assert H[0, 0] == pytest.approx(-1.27516, abs=half)
    assert H[0, 1] == pytest.approx(0.11750, abs=half) and H[1, 0] == pytest.approx(0.11750, abs=half)
    assert H[1, 1] == pytest.approx(-0.03563, abs=half)
    assert e * u == pytest.approx(4.36700, abs=half) and (2 + e) ** 2 == pytest.approx(13.31317, abs=half)
    assert u ** 2 == pytest.approx(7.01572, abs=half)
    builtin = torch.autograd.functional.hessian(lambda a, b: torch.log(a * b + torch.exp(a)), scalars())
    assert np.allclose(H, [[h.item() for h in row] for row in builtin], rtol=1e-12, atol=0)
    hv = hessian_vector_product(LogXYExp.apply, scalars(), (torch.tensor(1.0, dtype=torch.float64),) * 2)
    assert np.allclose([t.item() for t in hv], H @ [1.0, 1.0], rtol=1e-12, atol=0)
    assert hv[0].item() == pytest.approx(-1.15766, abs=half)
    assert hv[1].item() == pytest.approx(0.08187, abs=half)
    assert torch.autograd.gradgradcheck(LogXYExp.apply, scalars())


def test_backward_without_a_graph_gives_wrong_second_derivatives():
    half = 0.5e-5
    x, y = scalars()
    (gx,) = torch.autograd.grad(SavesIntermediate.apply(x, y), x, create_graph=True)
    assert gx.item() == pytest.approx(1.37754, abs=half)          # first derivative still right
    (hxx,) = torch.autograd.grad(gx, x)
    assert hxx.item() == pytest.approx(0.62246, abs=half)         # u treated as a constant: e^x/u
    assert hxx.item() == pytest.approx(np.exp(0.5) / (1 + np.exp(0.5)), rel=1e-12)
    assert torch.autograd.gradcheck(SavesIntermediate.apply, scalars())   # first derivatives pass
    with pytest.raises(GradcheckError):
        torch.autograd.gradgradcheck(SavesIntermediate.apply, scalars())
    # once_differentiable: an error only if the incoming gradient itself needs a gradient ...
    x, y = scalars()
    (gx,) = torch.autograd.grad(OnceDifferentiable.apply(x, y) ** 2, x, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        gx.backward()
    # ... here it is the constant 1, and the term through the custom node silently disappears
    x, y = scalars()
    (gx,) = torch.autograd.grad(OnceDifferentiable.apply(x, y) + x ** 2, x, create_graph=True)
    (h,) = torch.autograd.grad(gx, x)
    assert h.item() == 2.0
    x, y = scalars()
    (gx,) = torch.autograd.grad(LogXYExp.apply(x, y) + x ** 2, x, create_graph=True)
    (h,) = torch.autograd.grad(gx, x)
    assert h.item() == pytest.approx(0.72484, abs=half)           # -1.27516 + 2


def test_our_engine_is_first_order_only():
    """Our VJPs return plain NumPy arrays: a gradient is not a Tensor with a graph of its own."""
    x = Tensor(0.5, requires_grad=True)
    ag.LogXYExp.apply(x, 2.0).backward()
    assert type(x.grad) is np.ndarray
    nodes, bars = ag.adjoints(ag.log(x * 2.0 + ag.exp(x)), 1.0)
    assert not any(isinstance(b, Tensor) for b in bars)


def test_builtin_derivative_formulas_are_recorded_under_create_graph():
    """log's VJP is grad / x (derivatives.yaml: grad.div(self.conj())): a Div node, recorded on request."""
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.log(x), x, create_graph=True)
    assert type(g.grad_fn).__name__ == "DivBackward0"
    (g,) = torch.autograd.grad(torch.log(x), x)
    assert g.grad_fn is None and not g.requires_grad
