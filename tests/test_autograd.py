"""mlnotes.autograd against torch.autograd, finite differences and the numbers in the post."""

import numpy as np
import pytest
import torch

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
