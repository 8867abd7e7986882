"""Offline intersphinx: links to Python, NumPy and PyTorch resolve from _intersphinx/.

The inventories are files in the repository; these tests build with every
socket blocked, so a build that tried to fetch one would fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zlib

import inventories
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, build, copy_root, sphinx_build
from sphinx.util.inventory import InventoryFile

INV = ROOT / "_intersphinx"
PYTHON = "https://docs.python.org/3/"
NUMPY = "https://numpy.org/doc/stable/"
TORCH = "https://docs.pytorch.org/docs/stable/"

EXPECTED = {  # (role, name): URL, the official pages' layout
    ("py:function", "functools.partial"): PYTHON + "library/functools.html#functools.partial",
    ("py:class", "concurrent.futures.ThreadPoolExecutor"):
        PYTHON + "library/concurrent.futures.html#concurrent.futures.ThreadPoolExecutor",
    ("py:class", "collections.abc.Callable"):
        PYTHON + "library/collections.abc.html#collections.abc.Callable",
    ("py:class", "numpy.ndarray"): NUMPY + "reference/generated/numpy.ndarray.html#numpy.ndarray",
    ("py:class", "numpy.random.Generator"): NUMPY + "reference/random/generator.html#numpy.random.Generator",
    ("py:class", "numpy.random._generator.Generator"):
        NUMPY + "reference/random/generator.html#numpy.random.Generator",
    ("py:function", "numpy.random.default_rng"):
        NUMPY + "reference/random/generator.html#numpy.random.default_rng",
    ("py:function", "numpy.linalg.norm"):
        NUMPY + "reference/generated/numpy.linalg.norm.html#numpy.linalg.norm",
    ("py:function", "torch.nn.functional.conv2d"):
        TORCH + "generated/torch.nn.functional.conv2d.html#torch.nn.functional.conv2d",
    ("py:class", "torch.Tensor"): TORCH + "tensors.html#torch.Tensor",
    ("py:function", "torch.distributed.init_process_group"):
        TORCH + "distributed.html#torch.distributed.init_process_group",
    ("py:class", "torch.optim.AdamW"): TORCH + "generated/torch.optim.AdamW.html#torch.optim.AdamW",
    ("py:class", "torch.utils.data.DataLoader"): TORCH + "data.html#torch.utils.data.DataLoader",
}
BASES = {"python": PYTHON, "numpy": NUMPY, "torch": TORCH}


def load(path, base):
    return InventoryFile.loads(path.read_bytes(), uri=base).data


def project_of(url):
    return next(name for name, base in BASES.items() if url.startswith(base))


# -- the inventories and their generator --------------------------------------------

@pytest.mark.parametrize(("role", "name"), sorted(EXPECTED))
def test_committed_inventories_have_the_official_urls(role, name):
    project = project_of(EXPECTED[role, name])
    inventory = load(INV / f"{project}.inv", BASES[project])
    assert inventory[role][name].uri == EXPECTED[role, name]


def test_committed_inventories_are_small():
    for name in BASES:
        assert (INV / f"{name}.inv").stat().st_size < 1_000_000


def test_generator_writes_inventories_sphinx_can_read(tmp_path):
    assert inventories.main(["--out-dir", str(tmp_path)]) == 0
    for project in ("numpy", "torch"):
        header = (tmp_path / f"{project}.inv").read_bytes().split(b"\n", 4)
        assert header[0] == b"# Sphinx inventory version 2"
        inventory = load(tmp_path / f"{project}.inv", BASES[project])
        for (role, name), url in EXPECTED.items():
            if url.startswith(BASES[project]):
                assert inventory[role][name].uri == url
    torch_inv = load(tmp_path / "torch.inv", TORCH)
    assert torch_inv["py:method"]["torch.Tensor.backward"].uri == (
        TORCH + "generated/torch.Tensor.backward.html#torch.Tensor.backward")
    assert torch_inv["py:class"]["torch.nn.Conv2d"].uri == (
        TORCH + "generated/torch.nn.Conv2d.html#torch.nn.Conv2d")
    assert torch_inv["py:module"]["torch.nn.functional"].uri == (
        TORCH + "nn.functional.html#module-torch.nn.functional")


def test_generator_is_deterministic(tmp_path):
    inventories.main(["--only", "numpy", "--out-dir", str(tmp_path / "a")])
    inventories.main(["--only", "numpy", "--out-dir", str(tmp_path / "b")])
    assert (tmp_path / "a/numpy.inv").read_bytes() == (tmp_path / "b/numpy.inv").read_bytes()


def test_official_inventory_gets_only_the_missing_aliases(tmp_path):
    official = tmp_path / "official.inv"
    body = "numpy.ndarray py:class 1 reference/generated/numpy.ndarray.html#$ -\n"
    official.write_bytes(b"# Sphinx inventory version 2\n# Project: NumPy\n# Version: 2.4\n"
                         b"# The remainder of this file is compressed using zlib.\n"
                         + zlib.compress(body.encode()))
    out = tmp_path / "out"
    inventories.main(["--only", "numpy", "--official", str(official), "--out-dir", str(out)])
    merged = load(out / "numpy.inv", NUMPY)
    assert merged["py:class"]["numpy.ndarray"].uri == EXPECTED["py:class", "numpy.ndarray"]
    assert merged["py:class"]["numpy.random._generator.Generator"].uri == (
        EXPECTED["py:class", "numpy.random._generator.Generator"])
    assert "numpy.exp" not in merged.get("py:function", {})  # nothing else is added
    again, added = inventories.add_aliases((out / "numpy.inv").read_bytes(), [
        inventories.Entry("numpy.random._generator.Generator", "py:class", "x.html", -1)])
    assert added == 0 and again == (out / "numpy.inv").read_bytes()


# -- builds with the network blocked ----------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    """Refuse every Internet connection and name lookup (local Unix sockets still work:
    sphinx-sitemap's multiprocessing manager talks over one)."""
    connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"network access in a test that must build offline: {address}")
        return connect(sock, address)

    def refuse(*args, **kwargs):
        raise OSError("network access in a test that must build offline")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def links(html_path):
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    return {a["href"] for a in soup.select("a.reference.external[href]")}


def test_fixture_links_resolve_offline(tmp_path, no_network):
    srcdir = copy_root("intersphinx", tmp_path)
    _, _, warnings = build(srcdir, freshenv=True)
    assert warnings == ""
    found = links(srcdir / "_build/html/index.html")
    missing = {url for url in EXPECTED.values() if url not in found}
    assert missing == set()


BLOCK_SOCKETS = '''\
import socket

_connect = socket.socket.connect

def _guarded_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network access during an offline build: %r" % (address,))
    return _connect(sock, address)

def _refuse(*args, **kwargs):
    raise OSError("network access during an offline build")

socket.socket.connect = _guarded_connect
socket.getaddrinfo = _refuse
'''


@pytest.mark.slow
def test_site_builds_strictly_offline_with_external_links(tmp_path):
    """The real site, `sphinx-build -W --keep-going -n`, in a process without sockets."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_SOCKETS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker),
                                                                      os.environ.get("PYTHONPATH")]))}
    check = subprocess.run([sys.executable, "-c", "import socket; socket.getaddrinfo('numpy.org', 443)"],
                           env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "offline build" in check.stderr  # the blocker works
    out = tmp_path / "html"
    result = sphinx_build(ROOT, out, "-d", str(tmp_path / "doctrees"), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr
    diffusion = links(out / "api/diffusion.html")
    assert EXPECTED["py:class", "numpy.ndarray"] in diffusion  # type hints
    assert EXPECTED["py:class", "numpy.random.Generator"] in diffusion
    assert EXPECTED["py:class", "collections.abc.Callable"] in diffusion
    index = links(out / "api/index.html")
    assert EXPECTED["py:function", "torch.nn.functional.conv2d"] in index
    assert EXPECTED["py:function", "numpy.random.default_rng"] in index
