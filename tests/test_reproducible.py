"""Two clean builds of the same sources are byte for byte the same.

Both builds get the same ``SOURCE_DATE_EPOCH`` (the build date: which posts are
published, matplotlib's PNG metadata) but different ``PYTHONHASHSEED``s, so that
anything written in set or hash order would show up as a difference.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import sphinx_build

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _epoch() -> str:
    run = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT,
                         capture_output=True, text=True)
    return run.stdout.strip() if run.returncode == 0 and run.stdout.strip() else "1767225600"


def _build(out: Path, seed: str, epoch: str) -> dict[str, bytes]:
    sphinx_build(ROOT, out, env={"SOURCE_DATE_EPOCH": epoch, "PYTHONHASHSEED": seed},
                 unset=("MLNOTES_DRAFTS",), check=True, stdout=subprocess.DEVNULL)
    # the pickled environment is a cache, not output
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".doctrees" not in p.relative_to(out).parts}


def test_two_clean_builds_are_identical(tmp_path):
    epoch = _epoch()
    first = _build(tmp_path / "one", "1", epoch)
    second = _build(tmp_path / "two", "2", epoch)
    assert sorted(first) == sorted(second)
    assert len(first) > 100
    assert [name for name in first if first[name] != second[name]] == []
