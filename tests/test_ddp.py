"""mlnotes.ddp and examples/ddp_quickstart.py: gradient averaging, buckets, and real 2-process DDP runs.

Two launches of two CPU processes each, Gloo backend (``python -m torch.distributed.run``):
the example script, compared with plain single-process training on the global batch; and
this file itself (``behaviours_worker``), which records what DDP does with buffers, unused
parameters and uneven inputs.
"""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlnotes import ddp

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "ddp_quickstart.py"


# --- NumPy model -------------------------------------------------------------------------------

def test_average_of_local_gradients_is_the_global_gradient():
    rng = np.random.default_rng(0)
    x, y, w = rng.standard_normal((24, 5)), rng.standard_normal(24), rng.standard_normal(5)
    for n in (1, 2, 3, 4, 6, 8):
        np.testing.assert_allclose(ddp.data_parallel_grad(w, x, y, n), ddp.mse_grad(w, x, y), atol=1e-12)


def test_unequal_shards_break_the_identity():
    """5 rows on 2 ranks: shards of 3 and 2, the plain average is no longer the full-batch gradient."""
    rng = np.random.default_rng(1)
    x, y, w = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal(3)
    assert not np.allclose(ddp.data_parallel_grad(w, x, y, 2), ddp.mse_grad(w, x, y))


def test_mse_grad_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, y, w = rng.standard_normal((7, 4)), rng.standard_normal(7), rng.standard_normal(4)
    loss = lambda w: np.mean((x @ w - y) ** 2)  # noqa: E731
    h = 1e-6
    fd = [(loss(w + h * e) - loss(w - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(ddp.mse_grad(w, x, y), fd, rtol=1e-6, atol=1e-8)


def test_assign_buckets():
    assert ddp.assign_buckets(np.array([10, 10, 10, 10]), 20) == [[3, 2], [1, 0]]
    assert ddp.assign_buckets(np.array([10, 10, 10, 10]), 25) == [[3, 2, 1], [0]]
    assert ddp.assign_buckets(np.array([1, 2, 3]), 0) == [[2], [1], [0]]
    assert ddp.assign_buckets(np.array([1, 2, 3]), 1e9) == [[2, 1, 0]]
    assert ddp.assign_buckets(np.array([5, 100, 5]), 10) == [[2, 1], [0]]
    # every parameter exactly once, in reverse order
    sizes = np.random.default_rng(3).integers(1, 50, size=30)
    flat = [i for b in ddp.assign_buckets(sizes, 60) for i in b]
    assert flat == list(range(29, -1, -1))


def test_worked_timeline_in_post():
    """4 layers x 10 MB, 10 ms backward each, 20 MB buckets, 4 ranks, 1 GB/s, alpha = 0."""
    t = ddp.backward_timeline(np.full(4, 0.01), np.full(4, 10e6), 20e6, 4, 0.0, 1e-9)
    assert t["buckets"] == [[3, 2], [1, 0]]
    np.testing.assert_allclose(t["ready"], [0.02, 0.04])
    np.testing.assert_allclose(t["start"], [0.02, 0.05])
    np.testing.assert_allclose(t["end"], [0.05, 0.08])
    assert t["total"] == pytest.approx(0.08)
    assert t["serial"] == pytest.approx(0.10)
    np.testing.assert_allclose(t["end"] - t["start"], [0.03, 0.03])       # 2 * 3/4 * 20 MB * 1 ns/B
    one = ddp.backward_timeline(np.full(4, 0.01), np.full(4, 10e6), 1e12, 4, 0.0, 1e-9)
    assert one["total"] == pytest.approx(0.10)           # one bucket: nothing overlaps
    assert one["start"][0] == pytest.approx(0.04) and one["end"][0] - one["start"][0] == pytest.approx(0.06)


def test_timeline_bounds():
    rng = np.random.default_rng(4)
    for _ in range(20):
        p = rng.integers(1, 40)
        compute, sizes = rng.uniform(1e-4, 1e-2, p), rng.uniform(1e5, 1e7, p)
        cap, alpha = rng.uniform(0, 5e7), rng.uniform(0, 1e-3)
        t = ddp.backward_timeline(compute, sizes, cap, 8, alpha, 1e-9)
        assert t["total"] <= t["serial"] + 1e-12
        assert t["total"] >= compute.sum() - 1e-12
        assert np.all(t["start"] >= t["ready"]) and np.all(t["start"][1:] >= t["end"][:-1] - 1e-15)


def test_accumulated_gradient_is_the_full_batch_gradient():
    rng = np.random.default_rng(5)
    x, y, w = rng.standard_normal((24, 5)), rng.standard_normal(24), rng.standard_normal(5)
    full = ddp.mse_grad(w, x, y)
    for k in (1, 2, 3, 4, 6, 8, 12):
        np.testing.assert_allclose(ddp.accumulated_grad(w, x, y, k), full, atol=1e-12)
        micro = zip(np.array_split(x, k), np.array_split(y, k), strict=True)
        summed = sum(ddp.mse_grad(w, xs, ys) for xs, ys in micro)
        np.testing.assert_allclose(summed, k * full, atol=1e-11)      # without 1/K: K times too large
    # 5 rows in 2 micro-batches (3 and 2): 1/K no longer weights every sample equally
    assert not np.allclose(ddp.accumulated_grad(w, x[:5], y[:5], 2), ddp.mse_grad(w, x[:5], y[:5]))


def test_accumulation_worked_example_in_post():
    """w = 1, x = (1, 2, 3, 4), y = 0: micro-batch gradients 5 and 25, full batch 15."""
    w, x, y = np.array([1.0]), np.array([[1.0], [2.0], [3.0], [4.0]]), np.zeros(4)
    assert ddp.mse_grad(w, x[:2], y[:2])[0] == 5.0 and ddp.mse_grad(w, x[2:], y[2:])[0] == 25.0
    assert ddp.accumulated_grad(w, x, y, 2)[0] == 15.0 == ddp.mse_grad(w, x, y)[0]
    assert 5.0 + 25.0 == 30.0                                          # without dividing by K = 2


def test_combine_batch_stats_is_the_union():
    rng = np.random.default_rng(6)
    shards = [rng.normal(loc=r, size=(n, 3)) for r, n in enumerate((4, 7, 5))]
    mean, var = ddp.combine_batch_stats([s.mean(0) for s in shards], [s.var(0) for s in shards],
                                        [len(s) for s in shards])
    union = np.concatenate(shards)
    np.testing.assert_allclose(mean, union.mean(0), atol=1e-12)
    np.testing.assert_allclose(var, union.var(0), atol=1e-12)
    # the average of the per-rank variances misses the spread between the rank means
    assert np.all(np.mean([s.var(0) for s in shards], axis=0) < var)


def test_bn_running_means_worked_example_in_post():
    """Two ranks whose batches always have means 1 and 3; momentum 0.1, 10 steps."""
    mu = np.array([[1.0, 3.0]] * 10)
    half = 0.5e-5
    b = ddp.bn_running_means(mu, 0.1, "broadcast")[-1]
    loc = ddp.bn_running_means(mu, 0.1, "local")[-1]
    syn = ddp.bn_running_means(mu, 0.1, "sync")[-1]
    assert b == pytest.approx([0.65132, 0.85132], abs=half)
    assert loc == pytest.approx([0.65132, 1.95396], abs=half)
    assert syn == pytest.approx([1.30264, 1.30264], abs=half)
    assert b == pytest.approx([1 - 0.9 ** 10, 1.2 - 0.9 ** 10], rel=1e-12)
    long = np.array([[1.0, 3.0]] * 400)                                # the limits
    assert ddp.bn_running_means(long, 0.1, "broadcast")[-1] == pytest.approx([1.0, 1.2])
    assert ddp.bn_running_means(long, 0.1, "sync")[-1] == pytest.approx([2.0, 2.0])


# --- PyTorch, one process -----------------------------------------------------------------------

torch = pytest.importorskip("torch")


def test_accumulating_micro_batches_with_loss_over_k_in_torch():
    """.grad after K backward calls of loss_j / K equals the gradient of the full-batch mean loss."""
    ex = load_example()
    x, y = (t.double() for t in ex.make_dataset(seed=1).tensors)
    x, y = x[:24], y[:24]
    model = ex.make_model(seed=1).double()
    loss_fn = torch.nn.MSELoss()
    loss_fn(model(x), y).backward()
    full = [p.grad.clone() for p in model.parameters()]
    for k in (2, 3, 4, 8):
        for divide in (True, False):
            model.zero_grad()
            for xk, yk in zip(x.chunk(k), y.chunk(k), strict=True):
                loss = loss_fn(model(xk), yk)
                (loss / k if divide else loss).backward()
            for p, g in zip(model.parameters(), full, strict=True):
                torch.testing.assert_close(p.grad, g if divide else k * g, rtol=1e-12, atol=1e-14)


def test_accumulation_is_not_exact_with_batchnorm():
    """BatchNorm normalises each micro-batch with its own statistics: not the full batch's."""
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    torch.nn.functional.mse_loss(model(x), y).backward()
    full = model[0].weight.grad.clone()
    model.zero_grad()
    for xk, yk in zip(x.chunk(4), y.chunk(4), strict=True):
        (torch.nn.functional.mse_loss(model(xk), yk) / 4).backward()
    assert not torch.allclose(model[0].weight.grad, full, rtol=1e-3)


def test_combine_batch_stats_is_what_batchnorm_sees_on_the_global_batch():
    """SyncBatchNorm (training) normalises every shard with the statistics of their union."""
    rng = np.random.default_rng(7)
    shards = [rng.normal(loc=2.0 * r + 1, size=(8, 3)) for r in range(2)]
    mean, var = ddp.combine_batch_stats([s.mean(0) for s in shards], [s.var(0) for s in shards], [8, 8])
    bn = torch.nn.BatchNorm1d(3, affine=False).double()
    out = bn(torch.tensor(np.concatenate(shards))).detach().numpy()
    ours = np.concatenate([(s - mean) / np.sqrt(var + bn.eps) for s in shards])
    np.testing.assert_allclose(ours, out, atol=1e-12)
    mu = np.array([[s.mean(0) for s in shards]])                          # one step, (1, N, C)
    synced = ddp.bn_running_means(mu, 0.1, "sync")[0]
    np.testing.assert_allclose(synced[0], bn.running_mean.numpy(), atol=1e-12)


# --- PyTorch: run the example as 2 processes ---------------------------------------------------

def load_example():
    spec = importlib.util.spec_from_file_location("ddp_quickstart", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_process_reference(epochs, global_batch, lr, seed, batch=None):
    """Plain training, no torch.distributed: the same shuffles, one batch of global_batch samples per step."""
    ex = load_example()
    dataset = ex.make_dataset(seed=seed)
    x, y = dataset.tensors
    model = ex.make_model(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    batch = batch or global_batch
    steps = len(x) // global_batch
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + epoch))
        for k in range(steps):
            idx = perm[k * global_batch:k * global_batch + batch]
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.state_dict()


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(free_port()), str(SCRIPT), "--out", str(out),
           "--epochs", "3", "--global-batch", "16", "--lr", "0.05", "--seed", "0", "--accum", "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_both_ranks_end_identical(ddp_run):
    s0 = torch.load(ddp_run / "rank0.pt")
    s1 = torch.load(ddp_run / "rank1.pt")
    assert s0.keys() == s1.keys()
    for k in s0:
        assert torch.equal(s0[k], s1[k]), k
    ckpt = torch.load(ddp_run / "checkpoint.pt")
    assert ckpt["epoch"] == 3
    for k in s0:
        assert torch.equal(ckpt["model"][k], s0[k]), k


def test_ddp_equals_single_process_on_the_global_batch(ddp_run):
    """The run accumulates 2 micro-batches of 4 per rank (no_sync on the first), loss / 2."""
    ref = single_process_reference(epochs=3, global_batch=16, lr=0.05, seed=0)
    init = load_example().make_model(seed=0).state_dict()
    s0 = torch.load(ddp_run / "rank0.pt")
    for k in ref:
        assert not torch.allclose(s0[k], init[k], atol=1e-3), f"{k} did not train"
        torch.testing.assert_close(s0[k], ref[k], rtol=1e-5, atol=1e-6)
    # the test can fail: training on only one rank's share (8 samples per step) ends elsewhere
    local = single_process_reference(epochs=3, global_batch=16, lr=0.05, seed=0, batch=8)
    assert any(not torch.allclose(s0[k], local[k], rtol=1e-3, atol=1e-4) for k in ref)


def test_bucket_size_tradeoff_numbers_in_post():
    """60 tensors x 4 MB, 1 ms backward each, 8 ranks, alpha = 100 us, 10 GB/s."""
    sizes, compute = np.full(60, 4e6), np.full(60, 1e-3)
    total = {cap: ddp.backward_timeline(compute, sizes, cap, 8, 100e-6, 1e-10)["total"]
             for cap in (0, 25e6, 1e12)}
    assert total[0] == pytest.approx(0.127)
    assert total[25e6] == pytest.approx(0.0665)
    assert total[1e12] == pytest.approx(0.1034)
    assert total[25e6] < min(total[0], total[1e12])


# --- PyTorch: DDP behaviours, this file run as 2 processes ---------------------------------------

class TwoHeads(torch.nn.Module):
    """a is always used; b only when asked, so its parameters may get no gradient."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


def behaviours_worker(out: Path) -> None:
    """Each rank records what it sees and saves it to ``out/behaviour<rank>.pt``."""
    import contextlib
    import warnings

    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    rec = {}

    # buffers: BatchNorm's running mean, rank 0's broadcast at every forward (default) or not
    for sync in (True, False):
        torch.manual_seed(0)
        model = DDP(nn.BatchNorm1d(2), forward_sync_buffers=sync)
        g = torch.Generator().manual_seed(10 + rank)
        means, running = [], []
        for _ in range(4):
            x = torch.randn(8, 2, generator=g) + 2.0 * rank + 1.0     # rank 0 near 1, rank 1 near 3
            means.append(x.mean(0))
            model(x).sum().backward()
            running.append(model.module.running_mean.clone())
        rec[f"bn_sync={sync}"] = (torch.stack(means), torch.stack(running))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DDP(nn.BatchNorm1d(2), broadcast_buffers=True)
    rec["broadcast_buffers_warnings"] = [str(w.message) for w in caught if w.category is FutureWarning]

    # buffers under no_sync: the running mean each forward starts from, 2 cycles of 3 micro-batches
    model = DDP(nn.BatchNorm1d(1))
    seen = []
    model.module.register_forward_pre_hook(lambda m, args: seen.append(m.running_mean.item()))
    for _ in range(2):
        for k in range(3):
            with contextlib.nullcontext() if k == 2 else model.no_sync():
                model(torch.tensor([[0.0], [1.0]]) + 2.0 * rank).sum().backward()
    rec["no_sync_seen"] = seen

    x = torch.full((3, 2), rank + 1.0)                  # rank 0: ones, rank 1: twos
    # find_unused_parameters: b used on rank 1 only
    torch.manual_seed(0)
    model = DDP(TwoHeads(), find_unused_parameters=True)
    model(x, use_b=rank == 1).sum().backward()
    rec["unused_on_rank0"] = (model.module.a.weight.grad.clone(), model.module.b.weight.grad.clone())
    # b unused on every rank: its gradient stays None
    torch.manual_seed(0)
    model = DDP(TwoHeads(), find_unused_parameters=True)
    model(x, use_b=False).sum().backward()
    rec["unused_everywhere_b_grad_is_none"] = model.module.b.weight.grad is None
    # static_graph: the same parameter unused in every iteration, no search needed
    torch.manual_seed(0)
    model = DDP(TwoHeads(), static_graph=True)
    grads = []
    for _ in range(3):
        model.zero_grad()
        model(x, use_b=False).sum().backward()
        grads.append(model.module.a.weight.grad.clone())
    rec["static_graph"] = (torch.stack(grads), model.module.b.weight.grad is None)

    # join: rank 0 has 3 batches, rank 1 has 4
    torch.manual_seed(0)
    model = DDP(nn.Linear(2, 1, bias=False))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    grads = []
    with model.join():
        for step in range(3 + rank):
            opt.zero_grad()
            model(torch.full((1, 2), 1.0 + step + 10.0 * rank)).sum().backward()
            grads.append(model.module.weight.grad.clone())
            opt.step()
    rec["join"] = (torch.stack(grads), model.module.weight.detach().clone())

    # SyncBatchNorm needs a GPU: on CPU the DDP constructor refuses it
    try:
        DDP(nn.SyncBatchNorm(2))
        rec["sync_bn_error"] = ""
    except ValueError as e:
        rec["sync_bn_error"] = str(e)

    # last, as it leaves this model broken: b unused, find_unused_parameters=False
    torch.manual_seed(0)
    model = DDP(TwoHeads())
    model(x, use_b=False).sum().backward()              # returns, but nothing was all-reduced
    rec["no_flag_first_grad"] = model.module.a.weight.grad.clone()
    try:
        model(x, use_b=False)
        rec["no_flag_error"] = ""
    except RuntimeError as e:
        rec["no_flag_error"] = str(e)

    torch.save(rec, out / f"behaviour{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def behaviours(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_behaviours")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(free_port()), __file__, str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [torch.load(out / f"behaviour{r}.pt") for r in (0, 1)]


def test_buffers_are_broadcast_from_rank0_at_every_forward(behaviours):
    means = np.stack([behaviours[r]["bn_sync=True"][0].numpy() for r in (0, 1)], axis=1)   # (T, N, C)
    running = np.stack([behaviours[r]["bn_sync=True"][1].numpy() for r in (0, 1)], axis=1)
    np.testing.assert_allclose(running, ddp.bn_running_means(means, 0.1, "broadcast"), atol=1e-6)
    assert not np.allclose(running, ddp.bn_running_means(means, 0.1, "local"), atol=1e-3)
    means = np.stack([behaviours[r]["bn_sync=False"][0].numpy() for r in (0, 1)], axis=1)
    running = np.stack([behaviours[r]["bn_sync=False"][1].numpy() for r in (0, 1)], axis=1)
    np.testing.assert_allclose(running, ddp.bn_running_means(means, 0.1, "local"), atol=1e-6)
    for r in (0, 1):
        (msg,) = behaviours[r]["broadcast_buffers_warnings"]
        assert "`broadcast_buffers` is deprecated. Use `forward_sync_buffers`" in msg


def test_under_no_sync_buffers_are_broadcast_once_per_cycle(behaviours):
    """After a no_sync forward the next forward skips the broadcast: only micro-batch 0 of a cycle syncs."""
    seen0, seen1 = behaviours[0]["no_sync_seen"], behaviours[1]["no_sync_seen"]
    assert len(seen0) == len(seen1) == 6
    for i in range(6):
        assert (seen0[i] == seen1[i]) == (i % 3 == 0), i


def test_find_unused_parameters(behaviours):
    """Rank 0 does not use b: its zero counts in the average; a used everywhere averages 3 and 6."""
    for r in (0, 1):
        a_grad, b_grad = behaviours[r]["unused_on_rank0"]
        assert torch.equal(a_grad, torch.full((1, 2), 4.5))     # (3 * 1 + 3 * 2) / 2
        assert torch.equal(b_grad, torch.full((1, 2), 3.0))     # (0 + 3 * 2) / 2
        assert behaviours[r]["unused_everywhere_b_grad_is_none"]
        grads, b_none = behaviours[r]["static_graph"]
        assert b_none and torch.equal(grads, torch.full((3, 1, 2), 4.5))


def test_without_find_unused_parameters(behaviours):
    """The first backward returns local, unaveraged gradients; the next forward raises."""
    assert torch.equal(behaviours[0]["no_flag_first_grad"], torch.full((1, 2), 3.0))
    assert torch.equal(behaviours[1]["no_flag_first_grad"], torch.full((1, 2), 6.0))
    for r in (0, 1):
        assert behaviours[r]["no_flag_error"].startswith(
            "Expected to have finished reduction in the prior iteration before starting a new one")


def test_join_shadows_the_missing_rank(behaviours):
    """Rank 1's extra step: rank 0 has joined and contributes zero, the sum is still divided by 2."""
    g0, w0 = behaviours[0]["join"]
    g1, w1 = behaviours[1]["join"]
    assert g0.shape[0] == 3 and g1.shape[0] == 4
    for step in range(3):                                       # inputs 1 + step and 11 + step
        assert torch.equal(g0[step], torch.full((1, 2), 6.0 + step)) and torch.equal(g1[step], g0[step])
    assert torch.equal(g1[3], torch.full((1, 2), 14.0 / 2))     # input 14 on rank 1 alone, / 2
    assert torch.equal(w0, w1)                                  # the same model at the end


def test_sync_batchnorm_is_refused_on_cpu(behaviours):
    for r in (0, 1):
        assert behaviours[r]["sync_bn_error"] == "SyncBatchNorm layers only work with GPU modules"


if __name__ == "__main__":                                      # launched by the `behaviours` fixture
    behaviours_worker(Path(sys.argv[1]))
