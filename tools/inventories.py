"""Write Sphinx inventories (``objects.inv``, version 2) for NumPy and PyTorch.

``make inventories`` runs this when the official inventories cannot be
downloaded: it walks the public API of the installed packages and names every
object with the URI it has on the official site, following each site's layout
(autosummary pages under ``generated/``, and the pages where objects are
documented in place, e.g. ``tensors.html#torch.Tensor`` or
``distributed.html#torch.distributed.init_process_group``).  The layout rules
were read from the projects' documentation sources; see the README section
"Offline intersphinx".

    python tools/inventories.py                 # writes _intersphinx/numpy.inv and torch.inv
    python tools/inventories.py --only numpy --out-dir /tmp/inv
    python tools/inventories.py --only numpy --official objects.inv   # see below

``--official FILE`` takes a downloaded official inventory instead and adds to
it only the alias entries (priority -1) that the site's type hints need, such
as ``numpy.random._generator.Generator``: autodoc names a class by the module
that defines it.

Only the parts of the API this site links to are walked: NumPy's top level,
``numpy.linalg``, ``numpy.fft`` and ``numpy.random``; PyTorch's top level,
``torch.Tensor``, ``torch.nn`` (modules, ``functional``, ``init``,
``parallel``), ``torch.optim``, ``torch.autograd``, ``torch.distributed``,
``torch.utils.data`` and ``torch.amp``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "_intersphinx"


class Entry(NamedTuple):
    """One inventory line: ``name domain:role priority uri dispname``."""

    name: str
    role: str  # "py:function", "py:class", "py:method", "py:attribute", "py:module", "py:data"
    uri: str  # relative to the project's base URL; a trailing "$" stands for the name
    priority: int = 1  # -1: an alias that search should not show


def public(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith("_"))


def members(cls: type, *, inherited: bool = False) -> Iterator[tuple[str, str]]:
    """``(name, role)`` for the public methods and attributes of *cls*.

    Only those defined on *cls* itself, unless *inherited* (then all but
    ``object``'s): ``torch.Tensor`` gets most of its methods from a C base class.
    """
    names = set(dir(cls)) - set(dir(object)) if inherited else vars(cls)
    for name in public(names):
        value = inspect.getattr_static(cls, name)
        if isinstance(value, (staticmethod, classmethod)) or callable(value):
            yield name, "py:method"
        else:
            yield name, "py:attribute"


def write_inventory(path: Path, project: str, version: str, entries: Iterable[Entry]) -> int:
    """Write *entries* to *path* in the zlib-compressed version 2 format; return their number."""
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        seen.setdefault((entry.role, entry.name), entry)  # first rule wins
    lines = [f"{e.name} {e.role} {e.priority} {e.uri} -\n"
             for e in sorted(seen.values(), key=lambda e: (e.role, e.name))]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + zlib.compress("".join(lines).encode(), 9))
    return len(lines)


def add_aliases(official: bytes, aliases: Iterable[Entry]) -> tuple[bytes, int]:
    """*official* (an inventory file's bytes) with the *aliases* it lacks appended.

    The official lines are kept byte for byte; returns the new file and the
    number of entries added.
    """
    lines = official.split(b"\n", 4)
    if len(lines) < 5 or lines[0].strip() != b"# Sphinx inventory version 2":
        raise ValueError("not a Sphinx inventory (version 2)")
    header, body = b"\n".join(lines[:4]) + b"\n", zlib.decompress(lines[4]).decode()
    present = {tuple(line.split(None, 2)[:2]) for line in body.splitlines() if line.strip()}
    missing = [e for e in aliases if (e.name, e.role) not in present]
    if body and not body.endswith("\n"):
        body += "\n"
    body += "".join(f"{e.name} {e.role} {e.priority} {e.uri} -\n" for e in missing)
    return header + zlib.compress(body.encode(), 9), len(missing)


# -- NumPy --------------------------------------------------------------------
# https://numpy.org/doc/stable/ : reference/generated/numpy.<name>.html for the
# autosummary pages; numpy.random documents Generator and default_rng on one
# page, reference/random/generator.html.

GEN = "reference/generated/"


def numpy_entries() -> list[Entry]:
    import numpy as np

    out = [
        Entry("numpy", "py:module", "reference/index.html#module-numpy"),
        Entry("numpy.linalg", "py:module", "reference/routines.linalg.html#module-numpy.linalg"),
        Entry("numpy.fft", "py:module", "reference/routines.fft.html#module-numpy.fft"),
        Entry("numpy.random", "py:module", "reference/random/index.html#module-numpy.random"),
    ]
    # numpy.random: the Generator API first (these rules win over the walk below)
    gen_page = "reference/random/generator.html#$"
    out += [
        Entry("numpy.random.Generator", "py:class", gen_page),
        Entry("numpy.random.default_rng", "py:function", gen_page),
        # Type hints name Generator by the module that defines it; an alias
        # entry makes ``numpy.random._generator.Generator`` resolve too.
        Entry("numpy.random._generator.Generator", "py:class",
              "reference/random/generator.html#numpy.random.Generator", -1),
        Entry("numpy.random.RandomState", "py:class", "reference/random/legacy.html#$"),
        Entry("numpy.random.BitGenerator", "py:class",
              "reference/random/bit_generators/generated/numpy.random.BitGenerator.html#$"),
        Entry("numpy.random.SeedSequence", "py:class",
              "reference/random/bit_generators/generated/numpy.random.SeedSequence.html#$"),
    ]
    for bitgen in ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"):
        out.append(Entry(f"numpy.random.{bitgen}", "py:class",
                         f"reference/random/bit_generators/{bitgen.lower()}.html#$"))
    for name, role in members(np.random.Generator):
        out.append(Entry(f"numpy.random.Generator.{name}", role,
                         f"reference/random/generated/numpy.random.Generator.{name}.html#$"))
    for name in public(dir(np.random)):
        value = getattr(np.random, name)
        if callable(value) and not inspect.isclass(value):  # the legacy functions
            out.append(Entry(f"numpy.random.{name}", "py:function",
                             f"reference/random/generated/numpy.random.{name}.html#$"))

    # numpy.ndarray and its methods
    out.append(Entry("numpy.ndarray", "py:class", GEN + "numpy.ndarray.html#$"))
    for name, role in members(np.ndarray):
        out.append(Entry(f"numpy.ndarray.{name}", role, GEN + f"numpy.ndarray.{name}.html#$"))

    for module in ("numpy.linalg", "numpy.fft"):
        mod = importlib.import_module(module)
        for name in public(getattr(mod, "__all__", dir(mod))):
            value = getattr(mod, name)
            if inspect.ismodule(value):
                continue
            role = "py:class" if inspect.isclass(value) else "py:function"
            out.append(Entry(f"{module}.{name}", role, GEN + f"{module}.{name}.html#$"))

    # the top level: functions and ufuncs, classes, scalar types, constants
    for name in public(np.__all__):
        value = getattr(np, name, None)
        if value is None or inspect.ismodule(value):
            continue
        full = f"numpy.{name}"
        if inspect.isclass(value) and issubclass(value, np.generic):
            out.append(Entry(full, "py:class", "reference/arrays.scalars.html#$"))
        elif inspect.isclass(value):
            out.append(Entry(full, "py:class", GEN + f"{full}.html#$"))
        elif callable(value):
            # ufuncs are objects, but they are called like functions: name them
            # so that {py:func}`numpy.exp` finds them
            out.append(Entry(full, "py:function", GEN + f"{full}.html#$"))
        elif isinstance(value, (int, float)):
            out.append(Entry(full, "py:data", "reference/constants.html#$"))
    return out


# -- PyTorch ------------------------------------------------------------------
# https://docs.pytorch.org/docs/stable/ : generated/<full.name>.html for the
# autosummary pages (torch.*, torch.nn.*, torch.nn.functional.*, torch.optim.*,
# torch.autograd.grad/backward, torch.Tensor.<method>); objects documented in
# place on their package's page: tensors.html#torch.Tensor, amp.html#torch.autocast,
# autograd.html#torch.autograd.Function, distributed.html#torch.distributed.*,
# data.html#torch.utils.data.*, optim.html#torch.optim.Optimizer, nn.init.html.


def torch_entries() -> list[Entry]:
    import torch
    import torch.nn.functional as F

    out = [
        Entry("torch", "py:module", "torch.html#module-torch"),
        Entry("torch.nn", "py:module", "nn.html#module-torch.nn"),
        Entry("torch.nn.functional", "py:module", "nn.functional.html#module-torch.nn.functional"),
        Entry("torch.nn.init", "py:module", "nn.init.html#module-torch.nn.init"),
        Entry("torch.nn.parallel", "py:module", "nn.html#module-torch.nn.parallel"),
        Entry("torch.optim", "py:module", "optim.html#module-torch.optim"),
        Entry("torch.autograd", "py:module", "autograd.html#module-torch.autograd"),
        Entry("torch.distributed", "py:module", "distributed.html#module-torch.distributed"),
        Entry("torch.utils.data", "py:module", "data.html#module-torch.utils.data"),
        Entry("torch.amp", "py:module", "amp.html#module-torch.amp"),
        Entry("torch.cuda.amp", "py:module", "amp.html#module-torch.cuda.amp"),
        Entry("torch.cpu.amp", "py:module", "amp.html#module-torch.cpu.amp"),
    ]

    # torch.Tensor: the class on tensors.html, each method on its own page
    out.append(Entry("torch.Tensor", "py:class", "tensors.html#$"))
    for name, role in members(torch.Tensor, inherited=True):
        out.append(Entry(f"torch.Tensor.{name}", role, f"generated/torch.Tensor.{name}.html#$"))

    # torch.amp: autocast and the gradient scalers, documented in place on amp.html
    out += [
        Entry("torch.autocast", "py:class", "amp.html#$"),
        Entry("torch.amp.autocast", "py:class", "amp.html#torch.autocast", -1),
        Entry("torch.amp.autocast_mode.autocast", "py:class", "amp.html#torch.autocast", -1),
        Entry("torch.amp.autocast_mode.is_autocast_available", "py:function", "amp.html#$"),
        Entry("torch.amp.custom_fwd", "py:function", "amp.html#$"),
        Entry("torch.amp.custom_bwd", "py:function", "amp.html#$"),
        Entry("torch.cuda.amp.autocast", "py:class", "amp.html#$"),
        Entry("torch.cpu.amp.autocast", "py:class", "amp.html#$"),
        Entry("torch.cuda.amp.GradScaler", "py:class", "amp.html#$"),
        Entry("torch.cpu.amp.GradScaler", "py:class", "amp.html#$"),
        # torch.amp.GradScaler (the recommended name) has no entry of its own on
        # amp.html: link to the "Gradient Scaling" section that describes it
        Entry("torch.amp.GradScaler", "py:class", "amp.html#gradient-scaling"),
        Entry("torch.amp.grad_scaler.GradScaler", "py:class", "amp.html#gradient-scaling", -1),
        Entry("torch.GradScaler", "py:class", "amp.html#gradient-scaling", -1),
    ]
    for scaler in ("torch.cuda.amp.GradScaler", "torch.cpu.amp.GradScaler"):
        for name, role in members(torch.amp.GradScaler):
            out.append(Entry(f"{scaler}.{name}", role, "amp.html#$"))

    # torch.autograd
    out += [
        Entry("torch.autograd.Function", "py:class", "autograd.html#$"),
        Entry("torch.autograd.function.Function", "py:class", "autograd.html#torch.autograd.Function", -1),
    ]
    for name in ("forward", "backward", "jvp", "vmap", "setup_context", "apply"):
        out.append(Entry(f"torch.autograd.Function.{name}", "py:method",
                         f"generated/torch.autograd.Function.{name}.html#$"))
    for name in ("backward", "grad"):
        out.append(Entry(f"torch.autograd.{name}", "py:function", f"generated/torch.autograd.{name}.html#$"))
    for name in ("jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"):
        out.append(Entry(f"torch.autograd.functional.{name}", "py:function",
                         f"generated/torch.autograd.functional.{name}.html#$"))

    # torch.optim: Optimizer in place, its methods and the algorithms generated
    out.append(Entry("torch.optim.Optimizer", "py:class", "optim.html#$"))
    for name, role in members(torch.optim.Optimizer):
        out.append(Entry(f"torch.optim.Optimizer.{name}", role,
                         f"generated/torch.optim.Optimizer.{name}.html#$"))
    for name in public(dir(torch.optim)):
        value = getattr(torch.optim, name)
        if inspect.isclass(value) and issubclass(value, torch.optim.Optimizer):
            page = f"generated/torch.optim.{name}.html"
            out.append(Entry(f"torch.optim.{name}", "py:class", page + "#$"))
            for member, role in members(value):
                out.append(Entry(f"torch.optim.{name}.{member}", role, page + "#$"))
    sched = torch.optim.lr_scheduler
    out.append(Entry("torch.optim.lr_scheduler", "py:module", "optim.html#module-torch.optim.lr_scheduler"))
    for name in public(dir(sched)):
        value = getattr(sched, name)
        if inspect.isclass(value) and value.__module__ == sched.__name__:
            out.append(Entry(f"torch.optim.lr_scheduler.{name}", "py:class",
                             f"generated/torch.optim.lr_scheduler.{name}.html#$"))

    # torch.distributed: the process-group API is documented in place
    import torch.distributed as dist
    if dist.is_available():
        for name in public(dir(dist)):
            value = getattr(dist, name)
            if getattr(value, "__module__", "") != "torch.distributed.distributed_c10d":
                continue
            if inspect.isfunction(value):
                out.append(Entry(f"torch.distributed.{name}", "py:function", "distributed.html#$"))
            elif inspect.isclass(value):
                out.append(Entry(f"torch.distributed.{name}", "py:class", "distributed.html#$"))
        out.append(Entry("torch.distributed.ReduceOp", "py:class", "distributed.html#$"))

    # torch.utils.data, documented in place on data.html
    import torch.utils.data as data
    out.append(Entry("torch.utils.data.DistributedSampler", "py:class",
                     "data.html#torch.utils.data.distributed.DistributedSampler"))
    out.append(Entry("torch.utils.data.distributed.DistributedSampler", "py:class", "data.html#$"))
    for name in ("DataLoader", "Dataset", "IterableDataset", "TensorDataset", "StackDataset",
                 "ConcatDataset", "ChainDataset", "Subset", "Sampler", "SequentialSampler",
                 "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler"):
        out.append(Entry(f"torch.utils.data.{name}", "py:class", "data.html#$"))
    for name in ("default_collate", "default_convert", "get_worker_info", "random_split"):
        out.append(Entry(f"torch.utils.data.{name}", "py:function", "data.html#$"))
    assert all(hasattr(data, e.name.rsplit(".", 1)[1]) for e in out if e.name.startswith("torch.utils.data."))

    # torch.nn: parameters, containers and layers each on a generated page,
    # their methods on the same page
    nn = torch.nn
    for name, canonical in (("Parameter", "torch.nn.parameter.Parameter"),
                            ("Buffer", "torch.nn.parameter.Buffer"),
                            ("UninitializedParameter", "torch.nn.parameter.UninitializedParameter"),
                            ("UninitializedBuffer", "torch.nn.parameter.UninitializedBuffer")):
        page = f"generated/{canonical}.html#{canonical}"
        out.append(Entry(canonical, "py:class", page))
        out.append(Entry(f"torch.nn.{name}", "py:class", page))
    ddp = "torch.nn.parallel.DistributedDataParallel"
    out.append(Entry(ddp, "py:class", f"generated/{ddp}.html#$"))
    out.append(Entry("torch.nn.parallel.distributed.DistributedDataParallel", "py:class",
                     f"generated/{ddp}.html#{ddp}", -1))
    for member, role in members(nn.parallel.DistributedDataParallel):
        out.append(Entry(f"{ddp}.{member}", role, f"generated/{ddp}.html#$"))
    for name in public(dir(nn)):
        value = getattr(nn, name)
        if inspect.isclass(value) and issubclass(value, nn.Module):
            page = f"generated/torch.nn.{name}.html"
            out.append(Entry(f"torch.nn.{name}", "py:class", page + "#$"))
            for member, role in members(value):
                out.append(Entry(f"torch.nn.{name}.{member}", role, page + "#$"))
    for name in public(dir(F)):
        value = getattr(F, name)
        if callable(value) and not inspect.isclass(value) and getattr(value, "__doc__", None):
            out.append(Entry(f"torch.nn.functional.{name}", "py:function",
                             f"generated/torch.nn.functional.{name}.html#$"))
    for name in public(dir(nn.init)):
        value = getattr(nn.init, name)
        if inspect.isfunction(value) and value.__module__ == "torch.nn.init":
            out.append(Entry(f"torch.nn.init.{name}", "py:function", "nn.init.html#$"))
    for name in ("clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"):
        out.append(Entry(f"torch.nn.utils.{name}", "py:function", f"generated/torch.nn.utils.{name}.html#$"))

    # the top level, last: functions and the remaining classes on generated pages
    for name, page in (("dtype", "tensor_attributes.html"), ("device", "tensor_attributes.html"),
                       ("layout", "tensor_attributes.html"), ("memory_format", "tensor_attributes.html"),
                       ("Size", "size.html")):
        out.append(Entry(f"torch.{name}", "py:class", f"{page}#$"))
    # a C class whose docstring is only attached for the docs build
    out.append(Entry("torch.Generator", "py:class", "generated/torch.Generator.html#$"))
    for name in public(dir(torch)):
        value = getattr(torch, name)
        if inspect.ismodule(value) or not getattr(value, "__doc__", None):
            continue
        module = getattr(value, "__module__", None) or ""
        if inspect.isclass(value):
            if module.startswith("torch") and not name.endswith(("Tensor", "Storage")):
                out.append(Entry(f"torch.{name}", "py:class", f"generated/torch.{name}.html#$"))
        elif callable(value) and (module.startswith("torch") or inspect.isbuiltin(value)):
            out.append(Entry(f"torch.{name}", "py:function", f"generated/torch.{name}.html#$"))
    return out


PROJECTS = {
    "numpy": ("NumPy", lambda: importlib.import_module("numpy").__version__, numpy_entries),
    "torch": ("PyTorch", lambda: importlib.import_module("torch").__version__.split("+")[0], torch_entries),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--only", choices=sorted(PROJECTS), action="append",
                        help="write only this inventory (repeatable); default: all")
    parser.add_argument("--official", type=Path, metavar="FILE",
                        help="with one --only: use this downloaded official inventory, plus aliases")
    args = parser.parse_args(argv)
    keys = args.only or sorted(PROJECTS)
    if args.official and len(keys) != 1:
        parser.error("--official needs exactly one --only")
    for key in keys:
        project, version, entries = PROJECTS[key]
        path = args.out_dir / f"{key}.inv"
        with warnings.catch_warnings():  # deprecated aliases warn when looked at
            warnings.simplefilter("ignore")
            objects = entries()
        if args.official:
            data, n = add_aliases(args.official.read_bytes(), [e for e in objects if e.priority == -1])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"{path}: the official {project} inventory ({args.official}) plus {n} aliases")
            continue
        n = write_inventory(path, project, version(), objects)
        print(f"{path}: {n} objects ({project} {version()}, generated from the installed package)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
