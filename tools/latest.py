"""The upgrade canary's environment: the newest release of every dependency.

``make test-latest`` runs this, then the whole suite (``make test``) in the venv it made.
It reads the dependency names from ``pyproject.toml`` (the ``site`` and ``test`` extras),
drops their pins, and installs the newest versions the package index offers into a fresh
venv, so the transitive dependencies are the newest too.  It writes what it installed to
``<out>/freeze.txt`` and prints, for every pinned package, the pin and the newest version,
so that a passing run says which pins can move (README, "Upgrading the dependencies").

One pin is kept: PyTorch.  It is the oracle the reference code is checked against, not
part of the site; the newest torch on PyPI is a CUDA build of several GB, and the CPU build
of the pinned version is what the machines here and CI install (requirements-test.txt).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Kept at the pin, and why (printed with the table).
KEEP_PINNED = {"torch": "the test oracle; newer PyPI wheels are CUDA builds of several GB"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of the ``name==version`` lines of a requirements file (and its ``-r``)."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        elif "==" in line:
            name, version = line.split("==", 1)
            found[canonical(name)] = version.strip()
    return found


def wanted(pyproject: Path, pinned: dict[str, str]) -> list[str]:
    """The requirements for the canary: every direct dependency, unpinned (but KEEP_PINNED)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    names: list[str] = []
    for spec in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        name = canonical(NAME.match(spec).group(0))
        if name not in names:
            names.append(name)
    return [f"{name}=={pinned[name]}" if name in KEEP_PINNED else name for name in names]


def newest_offered(python: Path, names: list[str]) -> dict[str, str]:
    """The newest release of each package the index offers (``pip index versions``)."""
    def ask(name: str) -> tuple[str, str | None]:
        out = subprocess.run([python, "-m", "pip", "index", "versions", name], capture_output=True,
                             text=True).stdout
        match = re.search(r"\((\S+)\)", out)
        return name, match.group(1) if match else None
    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(ask, names))


HOLDERS = """
import json, sys
from importlib.metadata import distributions
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
wanted = json.loads(sys.argv[1])
found = {}
for dist in distributions():
    for text in dist.requires or []:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name in wanted and (req.marker is None or req.marker.evaluate({"extra": ""})) \\
                and not req.specifier.contains(wanted[name], prereleases=True):
            found.setdefault(name, []).append(f"{dist.name} {dist.version} requires {req}")
print(json.dumps({name: "; ".join(sorted(set(why))) for name, why in found.items()}))
"""


def held_back(python: Path, newer: dict[str, str]) -> dict[str, str]:
    """For each package whose newest release was not installed, the requirements that exclude it."""
    out = subprocess.run([python, "-c", HOLDERS, json.dumps(newer)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-latest")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "latest")
    args = parser.parse_args()
    pinned = pins(ROOT / "requirements-test.txt")
    requirements = wanted(ROOT / "pyproject.toml", pinned)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    python = args.venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(args.venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade",
                    "-r", args.out / "requirements.txt"], check=True)
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    (args.out / "freeze.txt").write_text(freeze, encoding="utf-8")
    installed = {canonical(line.split("==")[0]): line.split("==")[1].split("+")[0]
                 for line in freeze.splitlines() if "==" in line}
    offered = newest_offered(python, sorted(installed))
    held = held_back(python, {name: offered[name] for name in installed
                              if offered.get(name) and offered[name] != installed[name]})
    rows = [(name, version, installed.get(name, "(not installed)"))
            for name, version in sorted(pinned.items())]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'package':{width}}  pinned -> installed   (* the pin can move; 'held' names what keeps "
          "the newest release on the index out)")
    for name, version, latest in rows:
        mark = "   *" if version != latest else ""
        if name in KEEP_PINNED:
            note = f"   kept: {KEEP_PINNED[name]}"
        elif name in held:
            note = f"   held: {offered[name]} is out, but {held[name]}"
        else:
            note = ""
        print(f"{name:{width}}  {version} -> {latest}{mark}{note}")
    # The venv now counts as installed for the Makefile (its stamps are newer than the
    # requirements files), so `make test VENV=...` uses it as it is.
    for stamp in (".installed-site", ".installed-test"):
        (args.venv / stamp).touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
