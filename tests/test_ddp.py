"""mlnotes.ddp and examples/ddp_quickstart.py: gradient averaging, buckets, and a real 2-process DDP run.

The last tests launch the example script as two CPU processes with the Gloo backend
(``python -m torch.distributed.run``) and compare the result with plain single-process
training on the global batch.
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
    one = ddp.backward_timeline(np.full(4, 0.01), np.full(4, 10e6), 1e12, 4, 0.0, 1e-9)
    assert one["total"] == pytest.approx(0.10)           # one bucket: nothing overlaps


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


# --- PyTorch: run the example as 2 processes ---------------------------------------------------

torch = pytest.importorskip("torch")


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
           "--epochs", "3", "--global-batch", "16", "--lr", "0.05", "--seed", "0"]
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
