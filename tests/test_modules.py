"""mlnotes.modules against PyTorch's nn modules and functionals, and the numbers in the post."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes import modules as m

torch.manual_seed(0)


def test_linear_module_functional_and_numpy_agree():
    """nn.Linear owns W and b; F.linear takes them as arguments; same numbers."""
    layer = nn.Linear(5, 3)
    x = torch.randn(4, 5)
    out_module = layer(x)
    out_functional = F.linear(x, layer.weight, layer.bias)
    out_numpy = m.linear(x.numpy(), layer.weight.detach().numpy(), layer.bias.detach().numpy())
    assert torch.equal(out_module, out_functional)
    assert np.allclose(out_numpy, out_module.detach().numpy(), atol=1e-6)
    assert layer.weight.shape == (3, 5)                     # (out, in): y = x W^T + b
    assert set(layer.state_dict()) == {"weight", "bias"}


def test_worked_example_batch_norm():
    x = np.array([[1.0], [2.0], [3.0], [6.0]])
    y, rm, rv = m.batch_norm_train(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1))
    assert x.mean() == 3.0 and x.var() == 3.5 and x.var(ddof=1) == pytest.approx(14 / 3)
    assert ((x - x.mean()) ** 2).ravel().tolist() == [4.0, 1.0, 0.0, 9.0]     # sum 14
    assert x.var(ddof=1) == pytest.approx(4.667, abs=5e-4)                     # as printed
    assert rm == pytest.approx([0.3])
    assert rv == pytest.approx([0.9 + 0.1 * 14 / 3])
    assert y[3, 0] == pytest.approx(3 / np.sqrt(3.5 + 1e-5))
    assert y[3, 0] == pytest.approx(1.6036, abs=5e-5)
    assert rv == pytest.approx([1.36667], abs=5e-6)
    # the same numbers from PyTorch
    bn = nn.BatchNorm1d(1)
    out = bn(torch.tensor(x, dtype=torch.float32))
    assert np.allclose(out.detach().numpy(), y, atol=1e-5)
    assert bn.running_mean.item() == pytest.approx(0.3, abs=1e-6)
    assert bn.running_var.item() == pytest.approx(1.36667, abs=1e-5)


def test_batch_norm_matches_torch_step_by_step():
    """Five training steps, then evaluation: outputs and running buffers agree at every step."""
    rng = np.random.default_rng(0)
    C = 3
    bn = nn.BatchNorm1d(C, momentum=0.1).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.normal(size=C)))
        bn.bias.copy_(torch.tensor(rng.normal(size=C)))
    gamma, beta = bn.weight.detach().numpy().copy(), bn.bias.detach().numpy().copy()
    rm, rv = np.zeros(C), np.ones(C)
    bn.train()
    for step in range(5):
        x = rng.normal(loc=2.0, scale=3.0, size=(8, C))
        y, rm, rv = m.batch_norm_train(x, gamma, beta, rm, rv, momentum=0.1, eps=bn.eps)
        out = bn(torch.tensor(x))
        assert np.allclose(out.detach().numpy(), y, atol=1e-10)
        assert np.allclose(bn.running_mean.numpy(), rm, atol=1e-12)
        assert np.allclose(bn.running_var.numpy(), rv, atol=1e-12)
        assert bn.num_batches_tracked.item() == step + 1
    bn.eval()
    x = rng.normal(size=(4, C))
    y = m.batch_norm_eval(x, gamma, beta, rm, rv, eps=bn.eps)
    assert np.allclose(bn(torch.tensor(x)).detach().numpy(), y, atol=1e-10)
    assert bn.num_batches_tracked.item() == 5                # eval does not touch the buffers
    assert np.allclose(bn.running_mean.numpy(), rm)


def test_running_var_uses_unbiased_variance():
    """With the biased variance the running buffer would differ from PyTorch's."""
    x = np.array([[1.0], [2.0], [3.0], [6.0]])
    bn = nn.BatchNorm1d(1, momentum=1.0)                     # running = last batch statistic
    bn(torch.tensor(x, dtype=torch.float32))
    assert bn.running_var.item() == pytest.approx(x.var(ddof=1), rel=1e-6)
    assert bn.running_var.item() != pytest.approx(x.var(ddof=0), rel=1e-3)


def test_momentum_none_is_cumulative_average():
    """momentum=None in PyTorch is the EMA with momentum 1/t."""
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(2, momentum=None).double()
    rm, rv = np.zeros(2), np.ones(2)
    means = []
    for t in range(1, 7):
        x = rng.normal(size=(5, 2)) + t
        means.append(x.mean(axis=0))
        bn(torch.tensor(x))
        _, rm, rv = m.batch_norm_train(x, np.ones(2), np.zeros(2), rm, rv, momentum=1.0 / t)
    assert np.allclose(bn.running_mean.numpy(), rm)
    assert np.allclose(bn.running_var.numpy(), rv)
    assert np.allclose(rm, np.mean(means, axis=0))


def test_ema_closed_form_and_half_life():
    r = np.array([0.0])
    for t in range(1, 31):
        r = m.ema_update(r, np.array([3.0]), 0.1)
        assert r[0] == pytest.approx(m.ema_closed_form(0.0, 3.0, 0.1, t))
    # after ln 2 / -ln(0.9) ~ 6.58 steps half the gap is gone
    half = np.log(2) / -np.log(0.9)
    assert half == pytest.approx(6.58, abs=5e-3)
    assert m.ema_closed_form(0.0, 1.0, 0.1, half) == pytest.approx(0.5)
    # momentum 0.01: about 69 steps
    half = np.log(2) / -np.log(0.99)
    assert half == pytest.approx(69, abs=0.5)
    assert m.ema_closed_form(0.0, 1.0, 0.01, half) == pytest.approx(0.5)
    # the figure: with momentum 0.01 the running mean is still well below 3 after 100 steps
    assert m.ema_closed_form(0.0, 3.0, 0.01, 100) < 2.0


def test_batch_norm_train_output_depends_on_the_batch_eval_does_not():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 2))
    other = rng.normal(size=(6, 2)) * 5
    args = (np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    y1 = m.batch_norm_train(x, *args)[0][0]
    y2 = m.batch_norm_train(np.vstack([x[:1], other[1:]]), *args)[0][0]
    assert not np.allclose(y1, y2)
    e1 = m.batch_norm_eval(x, *args)[0]
    e2 = m.batch_norm_eval(np.vstack([x[:1], other[1:]]), *args)[0]
    assert np.allclose(e1, e2)


def test_inverted_dropout_keeps_the_expectation():
    rng = np.random.default_rng(3)
    x = np.full(200_000, 2.0)
    for p in (0.1, 0.5, 0.8):
        y = m.dropout(x, p, True, rng)
        assert set(np.unique(y)) == {0.0, 2.0 / (1 - p)}
        assert np.mean(y == 0) == pytest.approx(p, abs=0.005)
        assert y.mean() == pytest.approx(2.0, rel=0.02)
    assert m.dropout(x, 0.5, False, rng) is x


def test_dropout_pattern_agrees_with_torch():
    """Same structure as F.dropout: zeros, or x / (1 - p)."""
    x = torch.randn(1000, dtype=torch.float64)
    y = F.dropout(x, p=0.3, training=True)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.7)
    assert 0.25 < 1 - kept.double().mean().item() < 0.35


class BuggyNet(nn.Module):
    """Calls F.dropout without passing self.training: drops even after .eval()."""

    def forward(self, x):
        return F.dropout(x, p=0.5)


class FixedNet(nn.Module):
    def forward(self, x):
        return F.dropout(x, p=0.5, training=self.training)


def test_functional_dropout_ignores_eval_unless_told():
    x = torch.ones(10_000)
    buggy, fixed, module = BuggyNet().eval(), FixedNet().eval(), nn.Dropout(0.5).eval()
    assert not buggy.training
    assert (buggy(x) == 0).any()                             # the classic bug
    assert torch.equal(fixed(x), x)
    assert torch.equal(module(x), x)
    assert torch.equal(F.dropout(x, p=0.5, training=False), x)
    assert set(torch.unique(buggy(x)).tolist()) == {0.0, 2.0}


def test_state_dict_holds_parameters_and_buffers_not_flags():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.2))
    keys = set(model.state_dict())
    assert keys == {"0.weight", "0.bias", "1.weight", "1.bias",
                    "1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert {n for n, _ in model.named_parameters()} == {"0.weight", "0.bias", "1.weight", "1.bias"}
    # train/eval is a Python attribute, not saved
    model.eval()
    assert not any(mod.training for mod in model.modules())
    copy = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.2))
    copy.load_state_dict(model.state_dict())
    assert copy.training


def test_functional_batch_norm_defaults_to_eval_mode():
    """The opposite default of F.dropout: F.batch_norm has training=False and uses the buffers."""
    x = torch.tensor([[1.0], [2.0], [3.0], [6.0]], dtype=torch.float64)
    rm, rv = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    out = F.batch_norm(x, rm, rv)                            # normalised with mean 0, var 1
    assert torch.allclose(out, x / np.sqrt(1 + 1e-5))
    assert rm.item() == 0.0 and rv.item() == 1.0             # buffers untouched
    out = F.batch_norm(x, rm, rv, training=True)             # now updates them in place
    assert rm.item() == pytest.approx(0.3) and rv.item() == pytest.approx(0.9 + 0.1 * 14 / 3)
    assert np.allclose(out.numpy()[:, 0], [-1.069, -0.5345, 0.0, 1.6036], atol=1e-4)


def test_without_running_stats_eval_uses_the_batch():
    bn = nn.BatchNorm1d(1, track_running_stats=False).eval()
    x = torch.tensor([[1.0], [2.0], [3.0], [6.0]])
    assert bn.running_mean is None
    assert bn(x)[3, 0].item() == pytest.approx(1.6036, abs=1e-4)
