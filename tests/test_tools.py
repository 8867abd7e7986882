"""``make new-post`` writes a post that the front-matter validator accepts."""

import os
import runpy
from pathlib import Path

import new_post
import pytest
from conftest import sphinx_build
from mlnotes_postfile import parse_post

ROOT = Path(__file__).resolve().parents[1]
CONF = runpy.run_path(str(ROOT / "conf.py"))


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    (tmp_path / "posts").mkdir()
    (tmp_path / "conf.py").write_text((ROOT / "conf.py").read_text(encoding="utf-8"))
    monkeypatch.setattr(new_post, "ROOT", tmp_path)
    return tmp_path


def test_new_post_is_valid(tmp_root):
    assert new_post.main(["--title", "Flash Attention", "--category", "Deep Learning",
                          "--date", "2026-02-01"]) == 0
    text = (tmp_root / "posts" / "flash-attention.md").read_text(encoding="utf-8")
    meta, errors = parse_post(text, categories=CONF["blog_categories"],
                              authors=CONF["blog_authors"])
    assert errors == []
    assert meta["category"] == "Deep Learning" and meta["draft"] is True
    assert "# Flash Attention" in text


def test_unknown_category_is_refused(tmp_root, capsys):
    with pytest.raises(SystemExit):
        new_post.main(["--title", "x", "--category", "Physics"])
    assert "unknown category 'Physics'" in capsys.readouterr().err


def test_chinese_title_needs_a_slug(tmp_root, capsys):
    with pytest.raises(SystemExit):
        new_post.main(["--title", "注意力机制", "--category", "Deep Learning"])
    assert "--slug" in capsys.readouterr().err
    assert new_post.main(["--title", "注意力机制", "--category", "Deep Learning",
                          "--slug", "attention"]) == 0


@pytest.mark.slow
def test_site_tests_pass_after_make_new_post(tmp_path):
    """A writer runs ``make new-post`` and then ``make test``: the site's tests must not
    expect the new post (a draft) on the site, nor break on it.  On a copy of the project
    (its tracked files), the post is written as ``make new-post`` writes it, the site built
    strictly as ``make test`` builds it, and the test modules that walk the site's posts
    run against that build."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "project"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")   # MathJax (npm ci)
    subprocess.run([sys.executable, "tools/new_post.py", "--title", "A New Post", "--category",
                    "Deep Learning"], cwd=copy, check=True)
    assert (copy / "posts" / "a-new-post.md").is_file()
    html = copy / "_build" / "html"
    built = sphinx_build(copy, html, "-d", str(copy / "_build" / "doctrees"))
    assert built.returncode == 0, built.stderr[-3000:]
    assert not (html / "posts" / "a-new-post.html").exists()   # a draft
    modules = ["tests/test_site.py", "tests/test_knowledge_web_site.py", "tests/test_typography.py",
               "tests/test_cssbundle.py", "tests/test_jsbundle.py", "tests/test_images.py"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *modules],
                         cwd=copy, env={**os.environ, "MLNOTES_BUILT_HTML": str(html)},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_the_canary_unpins_every_dependency_but_torch(tmp_path):
    """``make test-latest`` asks for every dependency of ``pyproject.toml`` unpinned (the
    ``site`` and ``test`` extras and the package's own), except PyTorch."""
    import latest

    (tmp_path / "base.txt").write_text("Sphinx==9.0.4\n# a comment\n", encoding="utf-8")
    (tmp_path / "req.txt").write_text("-r base.txt\ntorch==2.13.0  # the oracle\n", encoding="utf-8")
    pinned = latest.pins(tmp_path / "req.txt")
    assert pinned == {"sphinx": "9.0.4", "torch": "2.13.0"}
    wanted = latest.wanted(Path(__file__).resolve().parents[1] / "pyproject.toml", pinned)
    assert "torch==2.13.0" in wanted
    assert {"sphinx", "myst-parser", "ablog", "pytest", "numpy"} <= set(wanted)
    assert [w for w in wanted if "==" in w] == ["torch==2.13.0"]
